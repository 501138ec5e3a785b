//! Property tests of the HTML that other servers send us (and editors
//! type): whatever a grammar of dangerous HTML produces, the sanitiser's
//! output has no `<script>` (nor `<iframe>`, `<object>`, `<style>`…), no
//! event handler attribute, no `style` attribute, and no `href` or `src`
//! whose scheme is not `http`, `https` or `mailto`; and Markdown rendering
//! either refuses the text or gives HTML with the same guarantees.

#![allow(clippy::unwrap_used)]

use gazette_core::markdown::{render, sanitise};
use proptest::prelude::*;

/// Tags browsers run or load something from, and ordinary ones.
fn tag() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "script", "SCRIPT", "ScRiPt", "img", "a", "svg", "math", "iframe", "object", "embed", "style", "form", "base",
        "input", "button", "video", "audio", "source", "details", "body", "link", "meta", "p", "span", "div", "table",
        "noscript", "template", "textarea", "title", "xmp", "animate", "set", "use",
    ])
    .prop_map(str::to_owned)
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "onclick",
        "onerror",
        "onload",
        "ONMOUSEOVER",
        "onfocus",
        "ontoggle",
        "onbegin",
        "href",
        "src",
        "HREF",
        "xlink:href",
        "formaction",
        "action",
        "data",
        "srcdoc",
        "style",
        "background",
        "poster",
        "srcset",
        "content",
        "http-equiv",
        "title",
        "alt",
        "class",
        "id",
        "width",
        "rel",
        "target",
        "to",
        "values",
    ])
    .prop_map(str::to_owned)
}

/// Values that smuggle a script in a URL (case, entities, whitespace and
/// control characters browsers forgive), and harmless ones.
fn attribute_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\u{1}javascript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript&#x3A;alert(1)",
        "javascript&colon;alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
        "livescript:x",
        "alert(1)",
        "x\" onerror=\"alert(1)",
        "x' onerror='alert(1)",
        "expression(alert(1))",
        "url(javascript:alert(1))",
        "https://ok.example/a",
        "http://ok.example/",
        "mailto:a@ok.example",
        "/local/path",
        "#frag",
        "",
    ])
    .prop_map(str::to_owned)
}

fn attribute() -> impl Strategy<Value = String> {
    (
        attribute_name(),
        attribute_value(),
        prop::sample::select(vec!["\"", "'", "", "` "]),
        prop::sample::select(vec![" ", "/", "\n", "\t "]),
    )
        .prop_map(|(name, value, quote, sep)| format!("{sep}{name}={quote}{value}{quote}"))
}

/// One piece of hostile HTML: an element with attributes and content,
/// text, a comment, or markup that parsers disagree on.
fn node() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-z <>&;\"'=/]{0,12}",
        Just("<!--<script>alert(1)</script>-->".to_owned()),
        Just("<![CDATA[<script>alert(1)</script>]]>".to_owned()),
        Just("<scr<script>ipt>alert(1)</script>".to_owned()),
        Just("</script><script>alert(1)</script>".to_owned()),
        Just("<img src=x onerror=alert(1)//".to_owned()),
        Just("<svg><script>alert(1)</script></svg>".to_owned()),
        Just("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>".to_owned()),
        Just("alert(1)".to_owned()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            tag(),
            prop::collection::vec(attribute(), 0..4),
            prop::collection::vec(inner, 0..3),
            any::<bool>(),
        )
            .prop_map(|(tag, attrs, children, close)| {
                let mut s = format!("<{tag}{}>", attrs.concat());
                s.push_str(&children.concat());
                if close {
                    s.push_str(&format!("</{tag}>"));
                }
                s
            })
    })
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(node(), 1..5).prop_map(|nodes| nodes.concat())
}

/// Decodes the character references ammonia writes in attribute values.
fn decode(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every tag of (serialised, so well-formed) HTML: its lower-cased name and
/// its attributes, values decoded.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if rest.starts_with('/') || rest.starts_with('!') {
            continue;
        }
        let end = rest.find('>').expect("a serialised tag is closed");
        let inside = &rest[..end];
        let mut parts = inside.splitn(2, [' ', '/']);
        let name = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut a = parts.next().unwrap_or_default().trim();
        while !a.is_empty() {
            let eq = a.find('=');
            let space = a.find(' ');
            match (eq, space) {
                (Some(e), s) if s.is_none_or(|s| e < s) => {
                    let key = a[..e].trim().to_ascii_lowercase();
                    let after = &a[e + 1..];
                    let (value, next) = if let Some(v) = after.strip_prefix('"') {
                        let close = v.find('"').expect("a quoted value is closed");
                        (&v[..close], &v[close + 1..])
                    } else {
                        let close = after.find(' ').unwrap_or(after.len());
                        (&after[..close], &after[close..])
                    };
                    attrs.push((key, decode(value)));
                    a = next.trim();
                }
                (_, Some(s)) => {
                    attrs.push((a[..s].to_ascii_lowercase(), String::new()));
                    a = a[s..].trim();
                }
                (_, None) => {
                    attrs.push((a.trim_end_matches('/').to_ascii_lowercase(), String::new()));
                    a = "";
                }
            }
        }
        out.push((name, attrs));
        rest = &rest[end + 1..];
    }
    out
}

/// The scheme a browser would see in a URL attribute, if any.
fn scheme(url: &str) -> Option<String> {
    let compact: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let (scheme, _) = compact.split_once(':')?;
    // Otherwise the colon is in a relative path (`url(javascript:x)`).
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    is_scheme.then(|| scheme.to_owned())
}

fn check_safe(html: &str) -> Result<(), TestCaseError> {
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script", "<iframe", "<object", "<embed", "<style", "<form", "<base", "<svg", "<math", "<meta", "<link",
    ] {
        prop_assert!(!lower.contains(banned), "{banned} in {html}");
    }
    for (name, attrs) in tags(html) {
        for (key, value) in attrs {
            prop_assert!(!key.starts_with("on"), "event handler {key} on <{name}> in {html}");
            prop_assert!(
                key != "style" && key != "srcdoc" && key != "formaction",
                "{key} on <{name}> in {html}"
            );
            if matches!(
                key.as_str(),
                "href" | "src" | "xlink:href" | "action" | "data" | "background" | "poster" | "srcset"
            ) {
                let ok = scheme(&value).is_none_or(|s| matches!(s.as_str(), "http" | "https" | "mailto"));
                prop_assert!(ok, "{key}={value:?} on <{name}> in {html}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// What other servers send (a reply's or a member article's HTML) goes
    /// through `sanitise` alone.
    #[test]
    fn sanitised_html_runs_nothing(input in document()) {
        check_safe(&sanitise(&input))?;
    }

    /// Markdown with HTML in it (the editor, the API, `gazette publish`).
    #[test]
    fn rendered_markdown_runs_nothing(
        input in document(),
        link in attribute_value(),
        image in attribute_value(),
    ) {
        let markdown = format!("# Title\n\n{input}\n\n[a link]({link}) ![alt text]({image}) <{link}>\n");
        if let Ok(html) = render(&markdown, "body", 1) {
            check_safe(&html)?;
        }
    }
}

#[test]
fn the_checker_sees_what_it_looks_for() {
    assert!(check_safe("<p>fine <a href=\"https://a.example/\" rel=\"noopener\">x</a></p>").is_ok());
    assert!(
        check_safe("<p><a href=\"java&#9;script:alert(1)\">x</a></p>").is_ok(),
        "an entity is not a scheme"
    );
    assert!(check_safe("<a href=\" javascript:alert(1)\">x</a>").is_err());
    assert!(check_safe("<img src=\"x\" onerror=\"alert(1)\">").is_err());
    assert!(check_safe("<p style=\"color:red\">x</p>").is_err());
    assert!(check_safe("<SCRIPT>alert(1)</SCRIPT>").is_err());
}
