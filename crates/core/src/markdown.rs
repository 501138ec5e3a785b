//! Markdown → sanitised HTML, refusing what must never reach a page:
//! `<script>` and friends, `javascript:`-style links and images without alt text.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

use crate::error::FieldError;

const FORBIDDEN_TAGS: [&str; 7] = ["script", "iframe", "object", "embed", "style", "form", "base"];
const FORBIDDEN_SCHEMES: [&str; 3] = ["javascript:", "vbscript:", "data:"];

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_HEADING_ATTRIBUTES
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Scheme check that survives the tricks browsers forgive: case, embedded
/// whitespace and control characters, HTML entities for the colon.
fn dangerous_url(url: &str) -> bool {
    let compact: String = url
        .replace("&colon;", ":")
        .replace("&#58;", ":")
        .replace("&#x3a;", ":")
        .replace("&#x3A;", ":")
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    FORBIDDEN_SCHEMES.iter().any(|s| compact.starts_with(s))
}

fn dangerous_html(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    for tag in FORBIDDEN_TAGS {
        if lower.contains(&format!("<{tag}")) {
            return Some(format!("`<{tag}>` is not allowed in article text"));
        }
    }
    if lower.contains("javascript:") || lower.contains("vbscript:") {
        return Some("`javascript:` URLs are not allowed in article text".into());
    }
    // Event handler attributes such as onclick= or onerror=.
    let bytes = lower.as_bytes();
    for (i, w) in bytes.windows(2).enumerate() {
        if w == b"on" && i > 0 && (bytes[i - 1].is_ascii_whitespace() || bytes[i - 1] == b'/') {
            let rest = &lower[i + 2..];
            let name_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
            if name_len > 0 && rest[name_len..].trim_start().starts_with('=') {
                return Some(format!(
                    "event handler attribute `on{}` is not allowed",
                    &rest[..name_len]
                ));
            }
        }
    }
    None
}

/// Renders `markdown` to sanitised HTML. `field` names the input in errors
/// (e.g. `translations.fr.body`); `first_line` is where the text starts in its
/// file (1 for API input), so errors point at the right line.
pub fn render(markdown: &str, field: &str, first_line: usize) -> Result<String, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut image_start: Option<(usize, String)> = None;
    let mut image_alt = String::new();
    let mut events = Vec::new();
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        let line = line_of(markdown, range.start) + first_line - 1;
        match &event {
            Event::Html(raw) | Event::InlineHtml(raw) => {
                if let Some(msg) = dangerous_html(raw) {
                    errors.push(FieldError::new(field, "unsafe_html", msg).at_line(line));
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) if dangerous_url(dest_url) => {
                errors.push(
                    FieldError::new(
                        field,
                        "unsafe_link",
                        format!("link to `{dest_url}` is not allowed: only http(s), mailto and relative links"),
                    )
                    .with_key("unsafe_link", [("url", dest_url.to_string())])
                    .at_line(line),
                );
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                if dangerous_url(dest_url) {
                    errors.push(
                        FieldError::new(
                            field,
                            "unsafe_link",
                            format!("image source `{dest_url}` is not allowed"),
                        )
                        .with_key("unsafe_image", [("url", dest_url.to_string())])
                        .at_line(line),
                    );
                }
                image_start = Some((line, dest_url.to_string()));
                image_alt.clear();
            }
            Event::Text(t) | Event::Code(t) if image_start.is_some() => image_alt.push_str(t),
            Event::End(TagEnd::Image) => {
                if let Some((line, src)) = image_start.take()
                    && image_alt.trim().is_empty()
                {
                    errors.push(
                        FieldError::new(
                            field,
                            "missing_alt",
                            format!("image `{src}` has no alt text: write it as ![description]({src})"),
                        )
                        .with_key("missing_alt", [("src", src.clone())])
                        .at_line(line),
                    );
                }
            }
            _ => {}
        }
        events.push(event);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, events.into_iter());
    Ok(sanitise(&raw))
}

/// What an article's HTML may contain: ammonia's defaults, heading ids,
/// image sizes, and links with `rel` set. A constant, built once: making
/// the builder's sets of tags and attributes cost as much as cleaning a
/// short article, and the coordinator cleans every member article it
/// receives.
static ARTICLE_HTML: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .add_tag_attributes("h1", ["id"])
        .add_tag_attributes("h2", ["id"])
        .add_tag_attributes("h3", ["id"])
        .add_tag_attributes("h4", ["id"])
        .add_tag_attributes("img", ["width", "height", "loading"]);
    builder
});

/// Cleans HTML down to what an article may contain; links get `rel` set.
pub fn sanitise(html: &str) -> String {
    ARTICLE_HTML.clean(html).to_string()
}

/// What HTML from other servers may contain when shown here: the same
/// elements as an article, but links and images only to `http(s)` web
/// addresses (no `mailto:`, no relative paths that would point here).
static REMOTE_HTML: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .url_schemes(["http", "https"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .add_tag_attributes("img", ["width", "height", "loading"]);
    builder
});

/// Cleans HTML received from another server for display: [`sanitise`]'s
/// rules, with every link and image an absolute `http(s)` URL.
pub fn sanitise_remote(html: &str) -> String {
    REMOTE_HTML.clean(html).to_string()
}

/// Plain text of some Markdown, for meta descriptions and feeds' fallbacks.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph) | Event::End(TagEnd::Heading(_))
                if !out.ends_with(' ') =>
            {
                out.push(' ');
            }
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_headings_with_emoji_and_tables() {
        let html = render(
            "## 🔷 A heading\n\nSome *text*.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            "body",
            1,
        )
        .unwrap();
        assert!(html.contains("<h2>🔷 A heading</h2>"), "{html}");
        assert!(html.contains("<em>text</em>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn refuses_script_with_line() {
        let err = render("fine\n\n<script>alert(1)</script>\n", "translations.en.body", 10).unwrap_err();
        assert_eq!(err[0].field, "translations.en.body");
        assert_eq!(err[0].code, "unsafe_html");
        assert_eq!(err[0].line, Some(12));
        assert!(render("a <SCRIPT src=x></SCRIPT>", "body", 1).is_err());
        assert!(render("<img src=x onerror=alert(1)>", "body", 1).is_err());
    }

    #[test]
    fn remote_html_keeps_only_web_links() {
        let html = sanitise_remote(
            "<p><a href=\"mailto:a@b.example\">mail</a> <a href=\"/admin\">here</a> \
             <a href=\"https://ok.example/x\">ok</a><img src=\"data:image/png;base64,AA\" alt=\"d\">\
             <img src=\"https://ok.example/i.png\" alt=\"fine\"></p>",
        );
        assert!(!html.contains("mailto:"), "{html}");
        assert!(!html.contains("href=\"/admin\""), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains("href=\"https://ok.example/x\""), "{html}");
        assert!(html.contains("src=\"https://ok.example/i.png\""), "{html}");
    }

    #[test]
    fn refuses_javascript_links() {
        for md in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](<javascript:alert(1)>)",
            "<a href=\"javascript:x\">y</a>",
        ] {
            let err = render(md, "body", 1).unwrap_err();
            assert!(
                err[0].code == "unsafe_link" || err[0].code == "unsafe_html",
                "{md}: {err:?}"
            );
        }
    }

    #[test]
    fn refuses_images_without_alt() {
        let err = render("text\n![](/media/abc)\n", "body", 1).unwrap_err();
        assert_eq!(err[0].code, "missing_alt");
        assert_eq!(err[0].line, Some(2));
        assert!(render("![A field of sunflowers](/media/abc)", "body", 1).is_ok());
    }

    #[test]
    fn sanitises_what_is_left() {
        let html = render(
            "<span style=\"color:red\">hi</span> [ok](https://example.org)",
            "body",
            1,
        )
        .unwrap();
        assert!(!html.contains("style"), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer nofollow ugc\""));
    }

    #[test]
    fn plain_text_strips_markup() {
        assert_eq!(plain_text("# Title\n\nSome **bold** words."), "Title Some bold words.");
    }
}
