//! Optional outgoing mail, for one-time password links: one plain-text
//! message per connection over SMTP (RFC 5321), with STARTTLS (RFC 3207)
//! or TLS from the first byte, and AUTH PLAIN (RFC 4954) when a username is
//! set. TLS is rustls with ring and the system's roots, as for deliveries.
//! Without a `[mail]` section nothing is sent and links are only shown.
//!
//! A client this small (a dozen commands, no pooling, no attachments) costs
//! no new crate: every piece below was already in the build.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot reach the mail server {host}:{port}: {message}")]
    Connect { host: String, port: u16, message: String },
    #[error("TLS with the mail server failed: {0}")]
    Tls(String),
    #[error("the mail server refused {stage}: {reply}")]
    Refused { stage: &'static str, reply: String },
    #[error("the connection to the mail server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the mail server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Address(String),
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

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Sends `message`; the whole exchange is bounded by `settings.timeout`.
pub async fn send(settings: &MailSettings, message: &Message<'_>) -> Result<(), MailError> {
    check_header_value("recipient", message.to)?;
    check_header_value("sender", &settings.from)?;
    match tokio::time::timeout(settings.timeout, exchange(settings, message)).await {
        Ok(r) => r,
        Err(_) => Err(MailError::Timeout(settings.timeout)),
    }
}

fn check_header_value(what: &str, v: &str) -> Result<(), MailError> {
    if v.contains(['\r', '\n']) || !v.contains('@') {
        return Err(MailError::Address(format!(
            "the {what} `{}` is not a mail address",
            v.escape_debug()
        )));
    }
    Ok(())
}

/// The bare address of `Name <addr>` or `addr`, for the envelope.
fn envelope_address(v: &str) -> &str {
    match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => v[a + 1..b].trim(),
        _ => v.trim(),
    }
}

async fn exchange(settings: &MailSettings, message: &Message<'_>) -> Result<(), MailError> {
    let tcp = TcpStream::connect((settings.host.as_str(), settings.port))
        .await
        .map_err(|e| MailError::Connect {
            host: settings.host.clone(),
            port: settings.port,
            message: e.to_string(),
        })?;
    let ehlo = format!("EHLO {}", settings.hello_name);
    let mut conn: BufReader<Box<dyn Stream>> = match settings.tls {
        MailTls::Tls => {
            let mut conn = BufReader::new(Box::new(tls(settings, tcp).await?) as Box<dyn Stream>);
            expect(&mut conn, "the connection", 220).await?;
            command(&mut conn, &ehlo, "EHLO", 250).await?;
            conn
        }
        MailTls::None => {
            let mut conn = BufReader::new(Box::new(tcp) as Box<dyn Stream>);
            expect(&mut conn, "the connection", 220).await?;
            command(&mut conn, &ehlo, "EHLO", 250).await?;
            conn
        }
        MailTls::StartTls => {
            let mut plain = BufReader::new(tcp);
            expect(&mut plain, "the connection", 220).await?;
            command(&mut plain, &ehlo, "EHLO", 250).await?;
            command(&mut plain, "STARTTLS", "STARTTLS", 220).await?;
            // Anything sent before the handshake would be read as if it
            // came over TLS: refuse it (RFC 3207, section 6).
            if !plain.buffer().is_empty() {
                return Err(MailError::Tls("the server sent data before the TLS handshake".into()));
            }
            let mut conn = BufReader::new(Box::new(tls(settings, plain.into_inner()).await?) as Box<dyn Stream>);
            command(&mut conn, &ehlo, "EHLO", 250).await?;
            conn
        }
    };
    if let (Some(user), Some(pass)) = (&settings.username, &settings.password) {
        let token = BASE64.encode(format!("\0{user}\0{pass}"));
        command(
            &mut conn,
            &format!("AUTH PLAIN {token}"),
            "the username or password",
            235,
        )
        .await?;
    }
    let from = envelope_address(&settings.from);
    let to = envelope_address(message.to);
    command(&mut conn, &format!("MAIL FROM:<{from}>"), "the sender", 250).await?;
    command(&mut conn, &format!("RCPT TO:<{to}>"), "the recipient", 250).await?;
    command(&mut conn, "DATA", "DATA", 354).await?;
    let text = format_message(settings, message);
    conn.get_mut().write_all(text.as_bytes()).await?;
    conn.get_mut().write_all(b".\r\n").await?;
    conn.get_mut().flush().await?;
    expect(&mut conn, "the message", 250).await?;
    // The message is accepted: a failed goodbye changes nothing.
    let _ = command(&mut conn, "QUIT", "QUIT", 221).await;
    Ok(())
}

async fn tls(settings: &MailSettings, tcp: TcpStream) -> Result<tokio_rustls::client::TlsStream<TcpStream>, MailError> {
    let config = gazette_http::tls_config().map_err(MailError::Tls)?;
    let name = rustls::pki_types::ServerName::try_from(settings.host.clone())
        .map_err(|e| MailError::Tls(format!("`{}` is not a host name: {e}", settings.host)))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| MailError::Tls(e.to_string()))
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    line: &str,
    stage: &'static str,
    code: u16,
) -> Result<String, MailError> {
    conn.get_mut().write_all(format!("{line}\r\n").as_bytes()).await?;
    conn.get_mut().flush().await?;
    expect(conn, stage, code).await
}

/// Reads one reply (all its lines) and checks its code.
async fn expect<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    stage: &'static str,
    code: u16,
) -> Result<String, MailError> {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await? == 0 {
            return Err(MailError::Refused {
                stage,
                reply: format!("connection closed{}", if reply.is_empty() { "" } else { " after " }) + reply.trim(),
            });
        }
        reply.push_str(&line);
        // `250-…` continues, `250 …` (or a bare `250`) ends the reply.
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            break;
        }
        if reply.len() > 64 * 1024 {
            return Err(MailError::Refused {
                stage,
                reply: "a reply longer than 64 KiB".into(),
            });
        }
    }
    let got: Option<u16> = reply.get(..3).and_then(|c| c.parse().ok());
    if got == Some(code) || (code == 250 && got == Some(251)) {
        Ok(reply)
    } else {
        Err(MailError::Refused {
            stage,
            reply: reply.trim().replace("\r\n", " / "),
        })
    }
}

/// The message as sent after DATA: headers, then the body in base64 (UTF-8
/// whatever the server supports), lines ending in CRLF.
fn format_message(settings: &MailSettings, message: &Message<'_>) -> String {
    let subject = if message.subject.is_ascii() {
        message.subject.replace(['\r', '\n'], " ")
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            BASE64.encode(message.subject.replace(['\r', '\n'], " "))
        )
    };
    let id = {
        use rand::RngCore;
        let mut b = [0u8; 12];
        rand::rng().fill_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    };
    let mut out = String::new();
    out.push_str(&format!("From: {}\r\n", settings.from));
    out.push_str(&format!("To: {}\r\n", message.to));
    out.push_str(&format!("Subject: {subject}\r\n"));
    out.push_str(&format!("Date: {}\r\n", chrono::Utc::now().to_rfc2822()));
    out.push_str(&format!("Message-ID: <{id}@{}>\r\n", settings.hello_name));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    let body = BASE64.encode(message.body.replace("\r\n", "\n").replace('\n', "\r\n"));
    // Base64 lines never start with a dot, so no dot-stuffing is needed.
    for chunk in body.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_and_header_checks() {
        assert_eq!(envelope_address("Gazette <news@coop.example>"), "news@coop.example");
        assert_eq!(envelope_address(" a@b.example "), "a@b.example");
        assert!(check_header_value("recipient", "a@b.example\r\nBcc: c@d.example").is_err());
        assert!(check_header_value("recipient", "nobody").is_err());
        assert_eq!(MailTls::parse("starttls"), Some(MailTls::StartTls));
        assert_eq!(MailTls::parse("ssl"), None);
    }

    #[test]
    fn messages_are_base64_in_short_lines() {
        let settings = MailSettings {
            host: "localhost".into(),
            port: 25,
            tls: MailTls::None,
            username: None,
            password: None,
            from: "Gazette <news@coop.example>".into(),
            timeout: Duration::from_secs(1),
            hello_name: "coop.example".into(),
        };
        let text = format_message(
            &settings,
            &Message {
                to: "ana@coop.example",
                subject: "Réinitialiser",
                body: &"é".repeat(200),
            },
        );
        assert!(text.contains("Subject: =?UTF-8?B?"));
        let (_, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(body.lines().all(|l| l.len() <= 76 && !l.starts_with('.')));
        let joined: String = body.lines().collect();
        assert_eq!(BASE64.decode(joined).unwrap_or_default(), "é".repeat(200).as_bytes());
    }
}
