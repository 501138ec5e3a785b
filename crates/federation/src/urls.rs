//! The URL scheme of local actors and objects, in one place.
//!
//! Actors live at `/users/{username}` (the organisation and every author share
//! that namespace), the instance actor at `/actor`, articles at
//! `/objects/{article id}` (stable across slug changes; `url` points at the
//! HTML page `/articles/{slug}`).

use gazette_core::Article;

/// Builds absolute URLs from the instance origin (no trailing slash).
#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
}

impl Urls {
    pub fn new(public_url: &str) -> Self {
        Urls {
            base: public_url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `host[:port]` of the instance, as used in `@user@host` handles.
    pub fn host(&self) -> &str {
        let rest = self.base.split_once("://").map(|(_, r)| r).unwrap_or(&self.base);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The instance actor's `preferredUsername`: the host name without its
    /// port, in the characters every server accepts in a username (letters,
    /// digits, `_`, `.`, `-`; anything else becomes `-`). GoToSocial reads
    /// `localhost:18080` as a URL and refuses the actor.
    pub fn instance_username(&self) -> String {
        let host = self.host();
        let name = match host.rsplit_once(':') {
            // `[::1]:8080` → `[::1]`; a bare IPv6 literal keeps its colons here.
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => name,
            _ => host,
        };
        let name: String = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if name.is_empty() { "instance".to_owned() } else { name }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn actor(&self, username: &str) -> String {
        format!("{}/users/{username}", self.base)
    }

    pub fn inbox(&self, username: &str) -> String {
        format!("{}/users/{username}/inbox", self.base)
    }

    pub fn outbox(&self, username: &str) -> String {
        format!("{}/users/{username}/outbox", self.base)
    }

    pub fn followers(&self, username: &str) -> String {
        format!("{}/users/{username}/followers", self.base)
    }

    pub fn following(&self, username: &str) -> String {
        format!("{}/users/{username}/following", self.base)
    }

    /// The actor's `featured` collection (its latest articles).
    pub fn featured(&self, username: &str) -> String {
        format!("{}/users/{username}/featured", self.base)
    }

    /// The id of an actor's first key (`#main-key`, until a rotation).
    pub fn key_id(&self, actor_id: &str) -> String {
        self.key_id_with(actor_id, "main-key")
    }

    /// The id of the actor's key whose fragment is `fragment` (`main-key`,
    /// `key-2`…; see `keys::rotate`).
    pub fn key_id_with(&self, actor_id: &str, fragment: &str) -> String {
        format!("{actor_id}#{fragment}")
    }

    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    pub fn article(&self, article: &Article) -> String {
        format!("{}/objects/{}", self.base, article.id)
    }

    pub fn article_page(&self, article: &Article) -> String {
        format!("{}/articles/{}", self.base, article.slug)
    }

    pub fn replies(&self, article: &Article) -> String {
        self.replies_of(&article.id)
    }

    /// The replies collection of the article whose id is `article_id`: its
    /// thread's `context` (FEP-7888).
    pub fn replies_of(&self, article_id: &str) -> String {
        format!("{}/objects/{}/replies", self.base, article_id)
    }

    pub fn likes(&self, article: &Article) -> String {
        format!("{}/objects/{}/likes", self.base, article.id)
    }

    pub fn shares(&self, article: &Article) -> String {
        format!("{}/objects/{}/shares", self.base, article.id)
    }

    pub fn tag(&self, tag: &str) -> String {
        format!("{}/tags/{tag}", self.base)
    }

    pub fn media(&self, id: &str) -> String {
        format!("{}/media/{id}", self.base)
    }

    /// A reply written here (a `Note`).
    pub fn note(&self, id: &str) -> String {
        format!("{}/notes/{id}", self.base)
    }

    /// A fresh activity id under the actor: `{actor}/activities/{kind}/{unique}`.
    pub fn activity(&self, actor_id: &str, kind: &str, unique: &str) -> String {
        format!("{actor_id}#{kind}/{unique}")
    }

    /// The username in a local actor id, if `id` is one.
    pub fn local_username<'a>(&self, id: &'a str) -> Option<&'a str> {
        let rest = id.strip_prefix(&self.base)?.strip_prefix("/users/")?;
        (!rest.is_empty() && !rest.contains('/') && !rest.contains('#')).then_some(rest)
    }

    /// The article id in a local object id, if `id` is one.
    pub fn local_article_id<'a>(&self, id: &'a str) -> Option<&'a str> {
        let rest = id.strip_prefix(&self.base)?.strip_prefix("/objects/")?;
        (!rest.is_empty() && !rest.contains('/')).then_some(rest)
    }

    /// The slug in a local article page URL, if `url` is one.
    pub fn local_article_slug<'a>(&self, url: &'a str) -> Option<&'a str> {
        let rest = url.strip_prefix(&self.base)?.strip_prefix("/articles/")?;
        rest.split('/').next().filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::Urls;

    #[test]
    fn builds_and_parses() {
        let u = Urls::new("http://localhost:8081/");
        assert_eq!(u.host(), "localhost:8081");
        assert_eq!(u.actor("demo"), "http://localhost:8081/users/demo");
        assert_eq!(u.local_username("http://localhost:8081/users/demo"), Some("demo"));
        assert_eq!(u.local_username("http://localhost:8081/users/demo/inbox"), None);
        assert_eq!(u.local_username("http://localhost:8082/users/demo"), None);
        assert_eq!(u.local_article_id("http://localhost:8081/objects/abc"), Some("abc"));
        assert_eq!(
            u.local_article_slug("http://localhost:8081/articles/hello/fr"),
            Some("hello")
        );
    }

    /// A plain name whatever the public URL: GoToSocial refuses
    /// `localhost:18080` as a username.
    #[test]
    fn instance_username_is_plain() {
        for (base, name) in [
            ("https://news.example.org", "news.example.org"),
            ("https://news.example.org/", "news.example.org"),
            ("http://localhost:18080", "localhost"),
            ("http://127.0.0.1:8081", "127.0.0.1"),
            ("http://[::1]:8080", "--1"),
        ] {
            let got = Urls::new(base).instance_username();
            assert_eq!(got, name, "{base}");
            assert!(got.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
        }
    }
}
