//! Optional outgoing mail: one-time password links and the newsletter,
//! sent over SMTP by the `lettre` crate with STARTTLS or TLS from the first
//! byte (rustls with ring and the platform's roots, as for deliveries) and
//! AUTH PLAIN when a username is set. Without a `[mail]` section nothing is
//! sent: links are only shown and the newsletter form is hidden.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransport, PoolConfig};
use lettre::{AsyncTransport, Tokio1Executor};

/// How the connection to the SMTP server is secured (written as in the
/// config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain connection upgraded with STARTTLS (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

impl MailTls {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "starttls" => Some(MailTls::StartTls),
            "tls" => Some(MailTls::Tls),
            "none" => Some(MailTls::None),
            _ => None,
        }
    }
}

/// Where and as whom mail is sent (the `[mail]` config section).
#[derive(Debug, Clone, PartialEq)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    /// With a password, signs in with AUTH PLAIN.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender address, e.g. `Gazette <news@coop.example>` or a bare address.
    pub from: String,
    /// For the whole exchange of one message.
    pub timeout: Duration,
    /// The name given in EHLO: the instance's host.
    pub hello_name: String,
    /// Newsletter mails sent per second at most.
    pub newsletter_per_second: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("TLS with the mail server {host} cannot be set up: {message}")]
    Tls { host: String, message: String },
    #[error("the mail server {host}:{port} refused the message: {message}")]
    Refused { host: String, port: u16, message: String },
    #[error("sending through the mail server {host}:{port} failed: {message}")]
    Failed { host: String, port: u16, message: String },
    #[error("the mail server did not finish within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Address(String),
    #[error("the message cannot be built: {0}")]
    Build(String),
}

impl MailError {
    /// Whether sending the same message again may work (a full mailbox or a
    /// server that is down may recover; a refused address will not).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MailError::Refused { .. } | MailError::Address(_) | MailError::Build(_)
        )
    }
}

/// A message to send: plain text in UTF-8.
pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// A message that owns its text.
pub struct OwnedMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl OwnedMessage {
    pub fn as_message(&self) -> Message<'_> {
        Message {
            to: &self.to,
            subject: &self.subject,
            body: &self.body,
        }
    }
}

/// The mail carrying a one-time password link, in English and French (the
/// interface's languages), since who reads it has not chosen one yet.
pub fn reset_message(
    site: &str,
    username: &str,
    link: &str,
    until: chrono::DateTime<chrono::Utc>,
    to: &str,
) -> OwnedMessage {
    let until = until.format("%Y-%m-%d %H:%M UTC");
    OwnedMessage {
        to: to.to_owned(),
        subject: format!("{site}: set your password / choisir votre mot de passe"),
        body: format!(
            "Hello,\n\nThis link sets the password of the account `{username}` on {site}. \
             It works once, until {until}:\n\n{link}\n\nIf you did not expect this mail, ignore it.\n\n\
             ---\n\nBonjour,\n\nCe lien choisit le mot de passe du compte `{username}` sur {site}. \
             Il ne sert qu’une fois, jusqu’au {until} :\n\n{link}\n\nSi vous n’attendiez pas ce message, ignorez-le.\n"
        ),
    }
}

/// A connection (pool) to the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish()
    }
}

impl Mailer {
    /// A mailer keeping up to `connections` connections open between
    /// messages (1: one connection, reused while messages follow each other).
    /// Must be made inside the Tokio runtime (the pool has a task of its own).
    pub fn new(settings: &MailSettings, connections: u32) -> Result<Mailer, MailError> {
        let from = mailbox("sender", &settings.from)?;
        let tls = match settings.tls {
            MailTls::None => Tls::None,
            MailTls::StartTls => Tls::Required(tls_parameters(settings)?),
            MailTls::Tls => Tls::Wrapper(tls_parameters(settings)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .tls(tls)
            .hello_name(ClientId::Domain(settings.hello_name.clone()))
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(connections.max(1)).min_idle(0));
        if let (Some(user), Some(pass)) = (&settings.username, &settings.password) {
            builder = builder
                .credentials(Credentials::new(user.clone(), pass.clone()))
                .authentication(vec![Mechanism::Plain]);
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            host: settings.host.clone(),
            port: settings.port,
            timeout: settings.timeout,
        })
    }

    /// The sender every message carries.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// A plain-text message (UTF-8 in base64) from the configured sender.
    pub fn plain(&self, message: &Message<'_>) -> Result<lettre::Message, MailError> {
        lettre::Message::builder()
            .from(self.from.clone())
            .to(mailbox("recipient", message.to)?)
            .subject(message.subject)
            .message_id(None)
            .singlepart(text_part(ContentType::TEXT_PLAIN, message.body))
            .map_err(|e| MailError::Build(e.to_string()))
    }

    /// Sends `message`, bounded by the configured timeout.
    pub async fn send(&self, message: lettre::Message) -> Result<(), MailError> {
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(MailError::Refused {
                host: self.host.clone(),
                port: self.port,
                message: e.to_string(),
            }),
            Ok(Err(e)) => Err(MailError::Failed {
                host: self.host.clone(),
                port: self.port,
                message: e.to_string(),
            }),
            Err(_) => Err(MailError::Timeout(self.timeout)),
        }
    }
}

/// A text part in base64 (any UTF-8, short lines, nothing to dot-stuff).
pub fn text_part(content_type: ContentType, text: &str) -> SinglePart {
    let body =
        Body::new_with_encoding(text.replace("\r\n", "\n"), ContentTransferEncoding::Base64).unwrap_or_else(Body::new);
    SinglePart::builder().header(content_type).body(body)
}

/// The plain-text and HTML versions of one message, plain text first (the
/// last part is the preferred one, RFC 2046 section 5.1.4).
pub fn alternative(plain: &str, html: &str) -> MultiPart {
    MultiPart::alternative()
        .singlepart(text_part(ContentType::TEXT_PLAIN, plain))
        .singlepart(text_part(ContentType::TEXT_HTML, html))
}

/// Sends one plain-text message over a connection of its own.
pub async fn send(settings: &MailSettings, message: &Message<'_>) -> Result<(), MailError> {
    let mailer = Mailer::new(settings, 1)?;
    let built = mailer.plain(message)?;
    mailer.send(built).await
}

/// `Name <addr>` or `addr`, refusing anything that is not one address.
pub fn mailbox(what: &str, v: &str) -> Result<Mailbox, MailError> {
    if v.contains(['\r', '\n']) {
        return Err(MailError::Address(format!(
            "the {what} `{}` is not a mail address",
            v.escape_debug()
        )));
    }
    v.trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Address(format!("the {what} `{v}` is not a mail address: {e}")))
}

fn tls_parameters(settings: &MailSettings) -> Result<TlsParameters, MailError> {
    TlsParameters::new_rustls(settings.host.clone()).map_err(|e| MailError::Tls {
        host: settings.host.clone(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            mailbox("sender", "Gazette <news@coop.example>")
                .map(|m| m.email.to_string())
                .ok(),
            Some("news@coop.example".to_owned())
        );
        assert!(mailbox("recipient", " a@b.example ").is_ok());
        assert!(mailbox("recipient", "a@b.example\r\nBcc: c@d.example").is_err());
        assert!(mailbox("recipient", "nobody").is_err());
        assert_eq!(MailTls::parse("starttls"), Some(MailTls::StartTls));
        assert_eq!(MailTls::parse("ssl"), None);
    }

    #[tokio::test]
    async fn messages_are_base64_in_short_lines() {
        let settings = MailSettings {
            host: "localhost".into(),
            port: 25,
            tls: MailTls::None,
            username: None,
            password: None,
            from: "Gazette <news@coop.example>".into(),
            timeout: Duration::from_secs(1),
            hello_name: "coop.example".into(),
            newsletter_per_second: 10,
        };
        let mailer = Mailer::new(&settings, 1).expect("a mailer");
        let body = "é".repeat(200);
        let message = mailer
            .plain(&Message {
                to: "ana@coop.example",
                subject: "Réinitialiser",
                body: &body,
            })
            .expect("a message");
        let text = String::from_utf8(message.formatted()).expect("ASCII");
        assert!(
            text.contains("Subject: =?utf-8?b?") || text.contains("Subject: =?UTF-8?B?"),
            "{text}"
        );
        assert!(text.contains("Content-Transfer-Encoding: base64"));
        let (_, body_text) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(body_text.lines().all(|l| l.len() <= 76 && !l.starts_with('.')));
    }
}
