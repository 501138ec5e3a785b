//! The newsletter's mails: the confirmation (plain text, in the language
//! the reader chose) and an article (plain text and HTML: title,
//! standfirst, cover with its alt text, link), in the reader's language
//! when the article has it, else the instance's. Article mails carry
//! `List-Unsubscribe` with a signed link and `List-Unsubscribe-Post` for
//! one-click unsubscribing (RFC 8058).

use chrono::{Duration, Utc};
use gazette_core::{Article, Language, Translation};
use gazette_store::{NewsletterMail, StoreError};
use lettre::message::header::{HeaderName, HeaderValue};
use serde_json::json;

use super::links::{self, Purpose};
use crate::AppState;
use crate::mail::{MailError, Mailer, alternative, mailbox, text_part};

/// A confirm link works this long.
pub const CONFIRM_VALID: Duration = Duration::days(7);
/// An unsubscribe link works this long (every mail carries a fresh one).
pub const UNSUBSCRIBE_VALID: Duration = Duration::days(400);

/// Stands for the reader's unsubscribe link in a rendered article mail.
const UNSUBSCRIBE_SLOT: &str = "gazette-unsubscribe-link-slot";

/// An article mail rendered once per article version and language, the
/// reader's link put in per mail.
struct Rendered {
    subject: String,
    plain: String,
    html: String,
}

/// Builds the newsletter's mails for one instance.
pub struct Composer {
    state: AppState,
    /// Rendered article mails by `id|version|language` (a few at a time: one per issue being sent).
    rendered: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Rendered>>>,
    key: String,
    /// The name pages show (the organisation's, else the instance's).
    site_name: String,
    /// The instance's language: an article's when it lacks the reader's.
    default_language: Language,
}

impl Composer {
    /// Reads the link key (made on first use) and the site's name.
    pub async fn new(state: AppState) -> Result<Composer, StoreError> {
        let key = state.store().newsletter_key().await?;
        let default_language = state.config().default_language.clone();
        let mut composer = Composer {
            state,
            rendered: std::sync::Mutex::new(std::collections::HashMap::new()),
            key,
            site_name: String::new(),
            default_language,
        };
        composer.refresh().await?;
        Ok(composer)
    }

    /// Reads again what an administrator may have changed meanwhile.
    pub async fn refresh(&mut self) -> Result<(), StoreError> {
        let settings = self.state.settings().await?;
        let org = self.state.store().find_organisation().await?;
        self.site_name = crate::pages::site_with(&self.state, org.as_ref(), &settings).name;
        self.default_language = settings.default_language.clone();
        Ok(())
    }

    /// The language the mail's own words are in: the reader's when the
    /// interface has it (the strings fall back to English otherwise).
    fn text(&self, lang: &str, key: &str) -> String {
        self.state.templates().text(lang, key)
    }

    fn site_name(&self) -> String {
        self.site_name.clone()
    }

    /// The double opt-in mail.
    pub fn confirm(&self, mailer: &Mailer, to: &NewsletterMail) -> Result<lettre::Message, MailError> {
        let token = links::sign(
            &self.key,
            Purpose::Confirm,
            &to.subscriber_id,
            Utc::now() + CONFIRM_VALID,
        );
        let link = self.state.url(&format!("/newsletter/confirm/{token}"));
        let site = self.site_name();
        let lang = to.language.as_str();
        let subject = self.text(lang, "newsletter_confirm_subject").replace("{site}", &site);
        let body = format!(
            "{}\n\n{link}\n\n{}\n",
            self.text(lang, "newsletter_confirm_body").replace("{site}", &site),
            self.text(lang, "newsletter_confirm_ignore"),
        );
        lettre::Message::builder()
            .from(mailer.from().clone())
            .to(mailbox("recipient", &to.email)?)
            .subject(subject)
            .message_id(None)
            .singlepart(text_part(lettre::message::header::ContentType::TEXT_PLAIN, &body))
            .map_err(|e| MailError::Build(e.to_string()))
    }

    /// An article for one confirmed subscriber.
    pub fn article(
        &self,
        mailer: &Mailer,
        to: &NewsletterMail,
        article: &Article,
    ) -> Result<lettre::Message, MailError> {
        let rendered = self.rendered(article, &to.language)?;
        let token = links::sign(
            &self.key,
            Purpose::Unsubscribe,
            &to.subscriber_id,
            Utc::now() + UNSUBSCRIBE_VALID,
        );
        let unsubscribe = self.state.url(&format!("/newsletter/unsubscribe/{token}"));
        lettre::Message::builder()
            .from(mailer.from().clone())
            .to(mailbox("recipient", &to.email)?)
            .subject(rendered.subject.clone())
            .message_id(None)
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{unsubscribe}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .multipart(alternative(
                &rendered.plain.replace(UNSUBSCRIBE_SLOT, &unsubscribe),
                &rendered.html.replace(UNSUBSCRIBE_SLOT, &unsubscribe),
            ))
            .map_err(|e| MailError::Build(e.to_string()))
    }

    /// The mail of `article` for readers of `reader_language`, rendered once.
    fn rendered(&self, article: &Article, reader_language: &str) -> Result<std::sync::Arc<Rendered>, MailError> {
        let t = pick_translation(article, reader_language, &self.default_language);
        let lang = t.language.as_str();
        let key = format!("{}|{}|{lang}", article.id, article.version);
        if let Some(r) = self.rendered.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(r);
        }
        let url = self.state.url(&format!("/articles/{}/{lang}", article.slug));
        let site = self.site_name();
        let cover = article.cover.as_ref().map(|c| {
            json!({
                "src": self.state.url(&format!("/media/{}", c.media_id)),
                "alt": c.alt,
            })
        });
        let html = self
            .state
            .templates()
            .render(
                "mail/article.html",
                json!({
                    "lang": lang,
                    "site_name": site,
                    "title": t.title,
                    "summary": t.summary,
                    "url": url,
                    "cover": cover,
                    "unsubscribe": self.state.url(&format!("/newsletter/unsubscribe/{UNSUBSCRIBE_SLOT}")),
                }),
            )
            .map_err(|e| MailError::Build(format!("the newsletter template: {e:#}")))?
            .replace(
                &self.state.url(&format!("/newsletter/unsubscribe/{UNSUBSCRIBE_SLOT}")),
                UNSUBSCRIBE_SLOT,
            );
        let mut plain = format!("{}\n\n", t.title);
        if !t.summary.is_empty() {
            plain.push_str(&format!("{}\n\n", t.summary));
        }
        if let Some(c) = &article.cover {
            plain.push_str(&format!("[{}: {}]\n\n", self.text(lang, "newsletter_image"), c.alt));
        }
        plain.push_str(&format!(
            "{}: {url}\n\n-- \n{}\n{}: {UNSUBSCRIBE_SLOT}\n",
            self.text(lang, "newsletter_read"),
            self.text(lang, "newsletter_why").replace("{site}", &site),
            self.text(lang, "newsletter_unsubscribe"),
        ));
        let rendered = std::sync::Arc::new(Rendered {
            subject: format!("{site}: {}", t.title),
            plain,
            html,
        });
        if let Ok(mut m) = self.rendered.lock() {
            if m.len() >= 64 {
                m.clear();
            }
            m.insert(key, rendered.clone());
        }
        Ok(rendered)
    }
}

/// The translation in the reader's language, else the instance's, else the
/// article's own default.
fn pick_translation<'a>(article: &'a Article, reader: &str, instance: &Language) -> &'a Translation {
    article
        .translations
        .iter()
        .find(|t| t.language.as_str() == reader)
        .or_else(|| article.translations.iter().find(|t| &t.language == instance))
        .unwrap_or_else(|| article.translation(None))
}
