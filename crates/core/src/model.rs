//! The content model: organisation, authors, articles, translations, media.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::language::{Country, Language};

/// Legal form of a social and solidarity economy organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegalForm {
    Cooperative,
    Mutual,
    Association,
    Foundation,
    SocialEnterprise,
    Other,
}

impl LegalForm {
    pub const ALL: [LegalForm; 6] = [
        LegalForm::Cooperative,
        LegalForm::Mutual,
        LegalForm::Association,
        LegalForm::Foundation,
        LegalForm::SocialEnterprise,
        LegalForm::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegalForm::Cooperative => "cooperative",
            LegalForm::Mutual => "mutual",
            LegalForm::Association => "association",
            LegalForm::Foundation => "foundation",
            LegalForm::SocialEnterprise => "social_enterprise",
            LegalForm::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        LegalForm::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The member organisation that runs this instance (one per instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    /// Local username of the organisation's actor, e.g. `demo` in `@demo@host`.
    pub username: String,
    pub name: String,
    pub description: String,
    /// Media id of the logo.
    pub logo: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub website: Option<String>,
    pub country: Country,
    pub legal_form: LegalForm,
    pub sectors: Vec<String>,
    pub languages: Vec<Language>,
    pub updated_at: DateTime<Utc>,
}

/// A person who writes articles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    pub id: String,
    /// Local username (URL segment and future actor name), unique.
    pub username: String,
    pub name: String,
    pub bio: String,
    /// Media id of the avatar.
    pub avatar: Option<String>,
    /// `@user@host` on the fediverse, if the author has one.
    pub fediverse_handle: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an author looks like before it is stored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorInput {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_]{1,64}$"))]
    pub username: String,
    pub name: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub fediverse_handle: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArticleKind {
    News,
    Interview,
}

impl ArticleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleKind::News => "news",
            ArticleKind::Interview => "interview",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "news" => Some(ArticleKind::News),
            "interview" => Some(ArticleKind::Interview),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    Scheduled,
    Published,
    Deleted,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Scheduled => "scheduled",
            ArticleStatus::Published => "published",
            ArticleStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(ArticleStatus::Draft),
            "scheduled" => Some(ArticleStatus::Scheduled),
            "published" => Some(ArticleStatus::Published),
            "deleted" => Some(ArticleStatus::Deleted),
            _ => None,
        }
    }
}

/// What a change of an article means for its followers: going public is a
/// `Create`, an edit while public an `Update`, leaving public a `Delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleEvent {
    Published,
    Updated,
    Deleted,
}

impl ArticleEvent {
    /// The event a change from `was_public` to `is_public` makes, if any.
    pub fn of_change(was_public: bool, is_public: bool) -> Option<Self> {
        match (was_public, is_public) {
            (false, true) => Some(ArticleEvent::Published),
            (true, true) => Some(ArticleEvent::Updated),
            (true, false) => Some(ArticleEvent::Deleted),
            (false, false) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ArticleEvent::Published => "published",
            ArticleEvent::Updated => "updated",
            ArticleEvent::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "published" => Some(ArticleEvent::Published),
            "updated" => Some(ArticleEvent::Updated),
            "deleted" => Some(ArticleEvent::Deleted),
            _ => None,
        }
    }
}

/// Title, standfirst and body of an article in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Translation {
    pub language: Language,
    pub title: String,
    /// The standfirst: what Mastodon shows under the title.
    pub summary: String,
    pub body_markdown: String,
    /// Sanitised HTML rendered from `body_markdown`.
    pub body_html: String,
}

/// The person an interview is with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interviewee {
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub bio: String,
    /// Media id of the photo.
    #[serde(default)]
    pub photo: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(examples("@name@example.org")))]
    pub fediverse_handle: Option<String>,
    /// `role` and `bio` in the article's other languages (those above are
    /// in its default language).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<IntervieweeText>,
}

/// The interviewee's role and bio in one more language of the article.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntervieweeText {
    /// A BCP 47 tag: one of the article's languages.
    #[cfg_attr(feature = "openapi", schema(examples("en")))]
    pub language: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub bio: String,
}

impl Interviewee {
    /// The role shown in `lang`: its translation, else the default language's.
    pub fn role_in(&self, lang: &Language) -> &str {
        self.text_in(lang, |t| &t.role).unwrap_or(&self.role)
    }

    /// The bio shown in `lang`: its translation, else the default language's.
    pub fn bio_in(&self, lang: &Language) -> &str {
        self.text_in(lang, |t| &t.bio).unwrap_or(&self.bio)
    }

    fn text_in<'a>(&'a self, lang: &Language, part: impl Fn(&'a IntervieweeText) -> &'a String) -> Option<&'a str> {
        self.translations
            .iter()
            .filter(|t| t.language == lang.as_str())
            .map(part)
            .find(|s| !s.trim().is_empty())
            .map(String::as_str)
    }
}

/// A cover image: a stored media item and the alt text that describes it here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cover {
    pub media_id: String,
    pub alt: String,
}

/// A stored article with all its translations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Article {
    pub id: String,
    pub slug: String,
    pub kind: ArticleKind,
    pub status: ArticleStatus,
    pub default_language: Language,
    /// The default language comes first.
    pub translations: Vec<Translation>,
    pub tags: Vec<String>,
    pub author_id: String,
    pub cover: Option<Cover>,
    pub interviewee: Option<Interviewee>,
    /// When the article went (or goes, if scheduled) public.
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented on every write; used to refuse lost updates.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: i64,
}

impl Article {
    /// The translation in `lang`, falling back to the default language.
    pub fn translation(&self, lang: Option<&Language>) -> &Translation {
        lang.and_then(|l| self.translations.iter().find(|t| &t.language == l))
            .or_else(|| self.translations.iter().find(|t| t.language == self.default_language))
            .unwrap_or(&self.translations[0])
    }

    pub fn languages(&self) -> impl Iterator<Item = &Language> {
        self.translations.iter().map(|t| &t.language)
    }

    pub fn is_public(&self) -> bool {
        self.status == ArticleStatus::Published
    }
}

/// Article text in one language as submitted (Markdown, not yet rendered).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranslationInput {
    #[cfg_attr(feature = "openapi", schema(examples("fr")))]
    pub language: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 300))]
    pub title: String,
    /// The standfirst.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub summary: String,
    /// Markdown; `<script>`, `javascript:` links and images without alt text are refused.
    #[serde(default)]
    pub body: String,
    /// An interview's interviewee's role and bio in this language (for the
    /// default language, `interviewee.role` and `interviewee.bio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interviewee_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interviewee_bio: Option<String>,
}

/// An article as submitted by the API, the CLI or the editor, before validation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleInput {
    /// Made from the title when absent.
    #[serde(default)]
    pub slug: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = ArticleKind))]
    pub kind: String,
    /// `draft`, `scheduled` or `published`; a new article is a draft when absent.
    #[serde(default)]
    pub status: Option<String>,
    /// The default language; its translation must be present.
    pub language: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub translations: Vec<TranslationInput>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 30))]
    pub tags: Vec<String>,
    /// Author id or username.
    pub author: String,
    #[serde(default)]
    pub cover: Option<CoverInput>,
    /// Required for interviews only.
    #[serde(default)]
    pub interviewee: Option<Interviewee>,
    /// When a scheduled article goes public (RFC 3339); for published ones, the date shown.
    #[serde(default)]
    pub publish_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverInput {
    pub media_id: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub alt: String,
}

/// A validated article ready to store: every field checked, Markdown rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct NewArticle {
    pub slug: String,
    pub kind: ArticleKind,
    pub status: ArticleStatus,
    pub default_language: Language,
    pub translations: Vec<Translation>,
    pub tags: Vec<String>,
    /// Author id or username, resolved by the store.
    pub author: String,
    pub cover: Option<Cover>,
    pub interviewee: Option<Interviewee>,
    /// The explicit publication date, if one was given; the store keeps an
    /// existing date or uses the current time when publishing without one.
    pub published_at: Option<DateTime<Utc>>,
}

/// Stored image metadata (bytes are fetched separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Media {
    pub id: String,
    /// `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// Bytes.
    pub size: u64,
    pub alt: String,
    /// Hex SHA-256 of the bytes, used as ETag.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// An API token as listed (the secret itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// Username of the user it belongs to (refused once they are
    /// disabled); `None` for tokens made by the CLI without an owner.
    pub owner: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Refused from then on; `None`: until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An actor on another server, as last fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteActor {
    /// The actor's ActivityPub id (a URL).
    pub id: String,
    /// `Person`, `Service`, `Group`, `Organization`, `Application`.
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    /// Host (and port) of the id, e.g. `mastodon.social`.
    pub host: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    /// Profile page.
    pub url: Option<String>,
    pub icon: Option<String>,
    pub public_key_id: String,
    pub public_key_pem: String,
    /// Set when the actor announced a `Move` to a new account.
    pub moved_to: Option<String>,
    pub refreshed_at: DateTime<Utc>,
}

impl RemoteActor {
    /// Where deliveries to this actor go: its server's shared inbox if it has one.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }

    /// `@name@host`.
    pub fn handle(&self) -> String {
        format!("@{}@{}", self.preferred_username, self.host)
    }
}

/// Whether a follower has been let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FollowStatus {
    Accepted,
    Pending,
}

impl FollowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowStatus::Accepted => "accepted",
            FollowStatus::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "accepted" => Some(FollowStatus::Accepted),
            "pending" => Some(FollowStatus::Pending),
            _ => None,
        }
    }
}

/// A reply to a local article from the fediverse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// The Note's ActivityPub id.
    pub id: String,
    pub article_id: String,
    pub actor: String,
    pub url: Option<String>,
    /// Sanitised HTML.
    pub content_html: String,
    pub language: Option<String>,
    /// `visible`, `pending` (held for moderation) or `hidden`.
    pub status: String,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An article or note received from an actor this instance follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteArticle {
    /// The object's ActivityPub id.
    pub id: String,
    /// The actor it is attributed to.
    pub actor: String,
    /// `Article`, `Note`, `Page`…
    pub kind: String,
    /// Its HTML page, if it has one.
    pub url: Option<String>,
    pub name: String,
    /// Sanitised HTML.
    pub summary_html: String,
    /// Sanitised HTML.
    pub content_html: String,
    pub language: Option<String>,
    pub image_url: Option<String>,
    pub image_alt: Option<String>,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a local actor does to a remote object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Like,
    /// A boost (`Announce`).
    Announce,
    /// A `Note` in reply.
    Reply,
}

impl InteractionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Like => "like",
            InteractionKind::Announce => "announce",
            InteractionKind::Reply => "reply",
        }
    }

    /// Also accepts `boost` for `announce`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "like" => Some(InteractionKind::Like),
            "announce" | "boost" => Some(InteractionKind::Announce),
            "reply" => Some(InteractionKind::Reply),
            _ => None,
        }
    }
}

/// A like, boost or reply a local actor sent to a remote object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboundInteraction {
    pub id: String,
    /// The local actor (its URL).
    pub actor_id: String,
    pub kind: InteractionKind,
    /// The remote object liked, boosted or replied to.
    pub object_id: String,
    /// The remote actor the object is attributed to.
    pub object_actor: String,
    /// A reply's Markdown.
    pub source: Option<String>,
    /// A reply's sanitised HTML.
    pub content_html: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When a reply was deleted (its id then answers 410).
    pub deleted_at: Option<DateTime<Utc>>,
    /// The thread of the object replied to, as it said (its `context`,
    /// FEP-7888), carried on the reply.
    #[serde(default)]
    pub context: Option<String>,
}
