//! Imported HTML (WordPress block editor or classic editor, feed content)
//! → the Markdown an article stores: editor comments dropped, `[caption]`
//! shortcodes and `<figure>`s made one figure (image and caption), every
//! image found and given a placeholder for the stored copy, then cleaned by
//! the same sanitiser as every article and laid out so each block is a
//! Markdown HTML block. Validation renders it like any other body.

use std::sync::LazyLock;

use regex::Regex;

/// An image found in imported content.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundImage {
    /// Absolute URL to download it from.
    pub url: String,
    /// Its alt text in the content (may be empty).
    pub alt: String,
    /// The WordPress attachment id from a `wp-image-N` class, if any.
    pub attachment: Option<String>,
    /// The placeholder the body uses: `/media/{key}`.
    pub key: String,
}

/// The body as Markdown and the images it uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub markdown: String,
    pub images: Vec<FoundImage>,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants, each exercised by the tests below.
    Regex::new(pattern).expect("valid constant pattern")
}

static COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<!--.*?-->"));
static CAPTION: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)\[caption[^\]]*\](.*?)\[/caption\]"));
static EMBED: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)\[embed[^\]]*\](.*?)\[/embed\]"));
static IMG: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)<img\b[^>]*>"));
static ATTR: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?is)([a-z][a-z0-9_:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#));
static WP_IMAGE: LazyLock<Regex> = LazyLock::new(|| re(r"wp-image-(\d+)"));
static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<[^>]*>"));
static INLINE_TAG: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?is)</?(a|abbr|b|code|em|i|mark|s|small|span|strong|sub|sup|u)\b[^>]*>"));
static FIGURE: LazyLock<Regex> = LazyLock::new(|| re(r"(?is)<figure\b.*?</figure>"));
static SHORTCODE: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)\[/?[a-z][a-z0-9_-]*(\s[^\]]*)?\]"));
static BLANKS: LazyLock<Regex> = LazyLock::new(|| re(r"\n{3,}"));

/// The attributes of one HTML tag, entities in values resolved.
pub fn attributes(tag: &str) -> Vec<(String, String)> {
    let inner = tag.trim_start_matches('<');
    let inner = inner
        .split_once(char::is_whitespace)
        .map(|(_, rest)| rest)
        .unwrap_or("");
    ATTR.captures_iter(inner)
        .map(|c| {
            let value = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))
                .map(|m| m.as_str())
                .unwrap_or("");
            (c[1].to_ascii_lowercase(), decode_entities(value))
        })
        .collect()
}

/// The WordPress attachment ids named by `wp-image-N` classes in `html`.
pub fn attachment_ids(html: &str) -> Vec<String> {
    WP_IMAGE.captures_iter(html).map(|c| c[1].to_owned()).collect()
}

/// Resolves the entities that occur in attribute values and titles.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &tail[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#039" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "hellip" => Some('…'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "ldquo" => Some('“'),
                "rdquo" => Some('”'),
                "ndash" => Some('–'),
                "mdash" => Some('—'),
                n if n.starts_with("#x") || n.starts_with("#X") => {
                    u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32)
                }
                n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text without its tags, entities resolved, whitespace collapsed.
pub fn plain_text(html: &str) -> String {
    let uncommented = COMMENT.replace_all(html, " ");
    let inline = INLINE_TAG.replace_all(&uncommented, "");
    let without = TAG.replace_all(&inline, " ");
    decode_entities(&without)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The running text of a post, for a summary: without figures, captions
/// and shortcodes.
pub fn running_text(html: &str) -> String {
    let text = CAPTION.replace_all(html, " ");
    let text = FIGURE.replace_all(&text, " ");
    plain_text(&SHORTCODE.replace_all(&text, " "))
}

/// The first sentences of `text`, up to about `max` characters.
pub fn first_sentences(text: &str, max: usize) -> String {
    let mut out = String::new();
    for sentence in text.split_inclusive(['.', '!', '?']) {
        if !out.is_empty() && out.chars().count() + sentence.chars().count() > max {
            break;
        }
        out.push_str(sentence);
    }
    let out = out.trim();
    if out.chars().count() <= max {
        return out.to_owned();
    }
    let cut: String = out.chars().take(max.saturating_sub(1)).collect();
    let at_word_end = out.chars().nth(max.saturating_sub(1)).is_some_and(char::is_whitespace);
    match cut.rfind(' ').filter(|_| !at_word_end) {
        Some(i) => format!("{}…", cut[..i].trim_end()),
        None => format!("{cut}…"),
    }
}

/// Resolves `src` against the page it was found on.
pub fn absolute(src: &str, base: Option<&url::Url>) -> Option<String> {
    let src = src.trim();
    if src.is_empty() || src.starts_with("data:") {
        return None;
    }
    match url::Url::parse(src) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u.to_string()),
        Ok(_) => None,
        Err(_) => base.and_then(|b| b.join(src).ok()).map(|u| u.to_string()),
    }
}

/// Converts imported HTML; `base` resolves relative image addresses, and
/// `key_prefix` makes image placeholders unique within one post.
pub fn convert(html: &str, base: Option<&url::Url>, key_prefix: &str) -> Converted {
    let text = html.replace("\r\n", "\n");
    let text = COMMENT.replace_all(&text, "");
    let text = EMBED.replace_all(&text, |c: &regex::Captures<'_>| {
        let url = c[1].trim();
        format!("<p><a href=\"{}\">{}</a></p>", escape_attr(url), escape_attr(url))
    });
    // [caption …]<a><img></a> The caption[/caption]
    let text = CAPTION.replace_all(&text, |c: &regex::Captures<'_>| {
        // The image (its link to the full size is dropped), then the caption.
        let inner = &c[1];
        let (image, caption) = match IMG.find(inner) {
            Some(m) => (m.as_str(), &inner[m.end()..]),
            None => ("", inner),
        };
        let caption = caption.trim_start();
        let caption = caption.strip_prefix("</a>").unwrap_or(caption).trim();
        format!("\n\n<figure>{image}<figcaption>{caption}</figcaption></figure>\n\n")
    });
    let mut images: Vec<FoundImage> = Vec::new();
    let text = IMG.replace_all(&text, |c: &regex::Captures<'_>| {
        let attrs = attributes(&c[0]);
        let get = |n: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let Some(url) = absolute(get("src"), base) else {
            return String::new();
        };
        let alt = get("alt").trim().to_owned();
        let attachment = WP_IMAGE.captures(get("class")).map(|m| m[1].to_owned());
        let key = match images.iter().find(|i| i.url == url) {
            Some(known) => known.key.clone(),
            None => {
                let key = format!("{key_prefix}-{}", images.len() + 1);
                images.push(FoundImage {
                    url,
                    alt: alt.clone(),
                    attachment,
                    key: key.clone(),
                });
                key
            }
        };
        format!("<img src=\"/media/{key}\" alt=\"{}\">", escape_attr(&alt))
    });
    let clean = gazette_core::markdown::sanitise(&text);
    Converted {
        markdown: layout(&clean),
        images,
    }
}

/// Puts figures on lines of their own, takes the indentation off lines
/// outside `<pre>` (Markdown would read it as code) and collapses runs of
/// blank lines.
fn layout(html: &str) -> String {
    let spaced = html
        .replace("<figure>", "\n\n<figure>")
        .replace("</figure>", "</figure>\n\n");
    let mut out = String::with_capacity(spaced.len());
    let mut in_pre = false;
    for line in spaced.lines() {
        let line = if in_pre { line } else { line.trim_start() };
        if line.contains("<pre") {
            in_pre = true;
        }
        if line.contains("</pre>") {
            in_pre = false;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    BLANKS.replace_all(out.trim(), "\n\n").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://coop.example/2025/05/post/").expect("url")
    }

    #[test]
    fn drops_block_comments_and_keeps_paragraphs() {
        let c = convert(
            "<!-- wp:paragraph -->\n<p>Solar <strong>roofs</strong>.</p>\n<!-- /wp:paragraph -->\n\n<!-- wp:heading -->\n<h2 class=\"wp-block-heading\">Next</h2>\n<!-- /wp:heading -->",
            Some(&base()),
            "k",
        );
        assert_eq!(c.markdown, "<p>Solar <strong>roofs</strong>.</p>\n\n<h2>Next</h2>");
        assert!(c.images.is_empty());
    }

    #[test]
    fn caption_shortcode_becomes_a_figure_with_the_image() {
        let c = convert(
            "Intro text.\n\n[caption id=\"attachment_7\" align=\"alignnone\" width=\"300\"]<a href=\"/x.jpg\"><img class=\"size-medium wp-image-7\" src=\"/wp-content/uploads/x.jpg\" alt=\"Panels on a school\" width=\"300\" height=\"200\" /></a> Panels in May[/caption]\n\nMore.",
            Some(&base()),
            "k",
        );
        assert_eq!(c.images.len(), 1);
        assert_eq!(c.images[0].url, "https://coop.example/wp-content/uploads/x.jpg");
        assert_eq!(c.images[0].alt, "Panels on a school");
        assert_eq!(c.images[0].attachment.as_deref(), Some("7"));
        assert!(
            c.markdown.contains(
                "<figure><img src=\"/media/k-1\" alt=\"Panels on a school\"><figcaption>Panels in May</figcaption></figure>"
            ),
            "{}",
            c.markdown
        );
        assert!(c.markdown.starts_with("Intro text.\n\n<figure>"), "{}", c.markdown);
        let html = gazette_core::markdown::render(&c.markdown, "body", 1).expect("renders");
        assert!(html.contains("<figcaption>Panels in May</figcaption>"), "{html}");
    }

    #[test]
    fn block_figure_keeps_image_and_caption_and_drops_scripts() {
        let c = convert(
            "<!-- wp:image {\"id\":9} -->\n<figure class=\"wp-block-image\"><img src=\"https://cdn.example/a.png\" alt=\"\" class=\"wp-image-9\"/><figcaption class=\"wp-element-caption\">A caption</figcaption></figure>\n<!-- /wp:image -->\n<script>alert(1)</script><iframe src=\"https://video.example\"></iframe><p onclick=\"x()\">Hi</p>",
            None,
            "p",
        );
        assert_eq!(c.images[0].alt, "");
        assert_eq!(c.images[0].attachment.as_deref(), Some("9"));
        assert!(
            c.markdown
                .contains("<img src=\"/media/p-1\" alt=\"\"><figcaption>A caption</figcaption>")
        );
        assert!(!c.markdown.contains("script") && !c.markdown.contains("iframe") && !c.markdown.contains("onclick"));
        assert!(gazette_core::markdown::render(&c.markdown, "body", 1).is_ok());
    }

    #[test]
    fn classic_text_stays_markdown_paragraphs() {
        let c = convert(
            "First paragraph with a <a href=\"https://x.example\">link</a>.\n\n    Indented second &amp; last.",
            None,
            "k",
        );
        let html = gazette_core::markdown::render(&c.markdown, "body", 1).expect("renders");
        assert!(html.contains("<p>First paragraph"), "{html}");
        assert!(html.contains("<p>Indented second &amp; last.</p>"), "{html}");
    }

    #[test]
    fn summaries_and_entities() {
        assert_eq!(
            decode_entities("A &amp; B &#8217; &#x41; &bogus; &"),
            "A & B ’ A &bogus; &"
        );
        assert_eq!(
            plain_text("<p>One.</p><p>Two &amp; <em>three</em>.</p>"),
            "One. Two & three."
        );
        assert_eq!(
            running_text(
                "A.[caption id=\"x\"]<img src=\"a\"> Cap[/caption]<figure><img src=\"b\"><figcaption>F</figcaption></figure>[gallery ids=\"1\"] B."
            ),
            "A. B."
        );
        assert_eq!(first_sentences("One. Two. Three.", 9), "One. Two.");
        assert_eq!(first_sentences("A very long sentence without end", 12), "A very long…");
    }
}
