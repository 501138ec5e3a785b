//! View structs shared by the public pages: what every template's layout sees
//! (site, head, navigation) and the pieces listings and the article page share.

use chrono::{DateTime, Utc};
use gazette_core::Language;
use serde::Serialize;

// ---------------------------------------------------------------------------
// View structs: what templates see. Dates are `DateTime<Utc>` (RFC 3339 once
// serialised), for the `date` and `rfc3339` filters.
// ---------------------------------------------------------------------------

/// The instance as every page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Site {
    pub(crate) name: String,
    pub(crate) description: String,
    /// Public origin, without trailing slash.
    pub(crate) url: String,
    /// `/media/{id}` of the organisation's logo.
    pub(crate) logo: Option<String>,
    pub(crate) website: Option<String>,
    /// `@username@host` of the organisation's actor.
    pub(crate) handle: Option<String>,
    /// The organisation's username (its actor), if it has a profile.
    pub(crate) username: Option<String>,
    /// `host[:port]` of the instance, as in handles.
    pub(crate) host: String,
    pub(crate) primary_color: String,
    pub(crate) accent_color: String,
    pub(crate) footer: String,
    pub(crate) languages: Vec<Language>,
    pub(crate) updated_at: Option<DateTime<Utc>>,
    /// This instance is a network coordinator (its nav links the shared feed).
    pub(crate) coordinator: bool,
    /// …whose home page is the shared feed (`network.home`).
    pub(crate) network_home: bool,
    /// Networks the organisation is a member of (filled on listing pages).
    pub(crate) networks: Vec<NetworkLink>,
    /// Mail is configured: the footer offers the newsletter.
    pub(crate) newsletter: bool,
}

/// A network the organisation belongs to: its name and page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NetworkLink {
    pub(crate) name: String,
    pub(crate) href: String,
}

#[derive(Debug, Serialize)]
pub(super) struct Head {
    pub(super) title: String,
    pub(super) description: String,
    pub(super) canonical: String,
    pub(super) feeds: Vec<FeedLink>,
    /// `<link rel="alternate" hreflang>` to the page in other languages.
    pub(super) alternates: Vec<Alternate>,
    pub(super) meta: Vec<Meta>,
    /// Already escaped for a `<script>` element.
    pub(super) jsonld: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct FeedLink {
    pub(super) href: String,
    pub(super) title: String,
    pub(super) hreflang: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Alternate {
    pub(super) hreflang: String,
    pub(super) href: String,
}

/// One `<meta>`: `attr` is `property` (OpenGraph) or `name`.
#[derive(Debug, Serialize)]
pub(super) struct Meta {
    pub(super) attr: &'static str,
    pub(super) key: &'static str,
    pub(super) content: String,
}

impl Meta {
    pub(super) fn property(key: &'static str, content: impl Into<String>) -> Meta {
        Meta {
            attr: "property",
            key,
            content: content.into(),
        }
    }
    pub(super) fn name(key: &'static str, content: impl Into<String>) -> Meta {
        Meta {
            attr: "name",
            key,
            content: content.into(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct LangLink {
    pub(super) lang: Language,
    pub(super) name: String,
    pub(super) href: String,
    pub(super) current: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct Nav {
    /// `home`, `article`, `author` or `tag`: which nav entry is this page.
    pub(super) current: &'static str,
    /// Reading-language choices on listing pages (empty with one language).
    pub(super) languages: Vec<LangLink>,
}

/// Everything a page template gets: the layout fields and the page's own.
#[derive(Debug, Serialize)]
pub(super) struct PageCtx<'a, T: Serialize> {
    pub(super) lang: &'a Language,
    pub(super) dir: &'static str,
    pub(super) site: &'a Site,
    pub(super) head: Head,
    pub(super) nav: Nav,
    #[serde(flatten)]
    pub(super) page: T,
}

#[derive(Debug, Serialize)]
pub(super) struct Image {
    pub(super) src: String,
    pub(super) alt: String,
    pub(super) width: Option<u32>,
    pub(super) height: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(super) struct TagLink {
    pub(super) name: String,
    pub(super) href: String,
    pub(super) count: Option<i64>,
}

#[derive(Debug, Serialize)]
pub(super) struct AuthorLink {
    pub(super) name: String,
    pub(super) href: String,
}

/// An article in a listing.
#[derive(Debug, Serialize)]
pub(super) struct Card {
    pub(super) href: String,
    pub(super) kind: &'static str,
    pub(super) lang: Language,
    pub(super) title: String,
    pub(super) summary: String,
    pub(super) cover: Option<Image>,
    pub(super) author: Option<AuthorLink>,
    pub(super) published: Option<DateTime<Utc>>,
    pub(super) tags: Vec<TagLink>,
}

#[derive(Debug, Serialize)]
pub(super) struct Pagination {
    pub(super) page: i64,
    pub(super) pages: i64,
    pub(super) total: i64,
    pub(super) prev: Option<String>,
    pub(super) next: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Person {
    pub(super) name: String,
    pub(super) username: String,
    pub(super) href: String,
    pub(super) bio: String,
    pub(super) avatar: Option<Image>,
    pub(super) handle: Option<String>,
    pub(super) handle_url: Option<String>,
}
