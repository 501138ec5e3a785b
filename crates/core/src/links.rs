//! Links that other servers give us (an actor's `url` and `icon`, a reply's
//! `url`, an article's `url` and `image`, the objects a `Flag` names): only
//! absolute `http` and `https` URLs are kept, so a `javascript:`, `data:` or
//! any other scheme never reaches an `href` or a `src`.

use url::Url;

/// `raw` when it is an absolute `http(s)` URL with a host, as the URL
/// parser (the WHATWG rules browsers follow) reads it; `None` otherwise.
/// Leading and trailing spaces are dropped; tabs and newlines inside the
/// scheme (`java\tscript:`) cannot make `javascript:` look like `https:`,
/// because the parser removes them just as a browser does before deciding.
pub fn web_url(raw: &str) -> Option<String> {
    let trimmed = raw.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let url = Url::parse(trimmed).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()))
        .then(|| trimmed.to_owned())
}

/// Whether [`web_url`] keeps `raw`.
pub fn is_web_url(raw: &str) -> bool {
    web_url(raw).is_some()
}

/// A link of our own pages: an `http(s)` URL as [`web_url`] accepts it, or
/// a path on this site (`/articles/x`, `#top`, `?page=2`); `None` for
/// anything else, including scheme-relative `//host`, backslashes (which
/// browsers read as `/`) and control characters.
pub fn page_link(raw: &str) -> Option<String> {
    if let Some(url) = web_url(raw) {
        return Some(url);
    }
    let local = raw.starts_with('#') || raw.starts_with('?') || (raw.starts_with('/') && !raw.starts_with("//"));
    (local && !raw.chars().any(|c| c == '\\' || c.is_control())).then(|| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_http_and_https() {
        assert_eq!(web_url("https://a.example/@x").as_deref(), Some("https://a.example/@x"));
        assert_eq!(web_url(" http://a.example/ ").as_deref(), Some("http://a.example/"));
        assert_eq!(web_url("HTTPS://A.example/").as_deref(), Some("HTTPS://A.example/"));
        for bad in [
            "javascript:alert(1)//",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{1}javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "/relative/path",
            "//a.example/x",
            "https:",
            "http://",
            "",
            "not a url",
        ] {
            assert_eq!(web_url(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn page_links_also_allow_local_paths() {
        assert_eq!(page_link("/articles/x").as_deref(), Some("/articles/x"));
        assert_eq!(page_link("#main").as_deref(), Some("#main"));
        assert_eq!(page_link("?page=2").as_deref(), Some("?page=2"));
        assert_eq!(page_link("https://a.example/").as_deref(), Some("https://a.example/"));
        for bad in [
            "//evil.example/",
            "/\\evil.example/",
            "/\t/evil.example",
            "javascript:alert(1)",
            "relative",
        ] {
            assert_eq!(page_link(bad), None, "{bad:?}");
        }
    }
}
