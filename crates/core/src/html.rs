//! The one HTML escaper for text Gazette writes into HTML by hand (outside
//! the templates, which escape on their own): ActivityStreams `content`,
//! Atom `<content>`, error pages and the editor's preview.

/// `s` with `&`, `<`, `>` and `"` escaped: safe as element text and inside a
/// double-quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_quotes_only() {
        assert_eq!(escape("\"<a&b>\""), "&quot;&lt;a&amp;b&gt;&quot;");
        assert_eq!(escape("L'économie sociale"), "L'économie sociale");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }
}
