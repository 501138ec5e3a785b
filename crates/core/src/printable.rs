//! Text from other servers made safe to print on one line of a log or a
//! terminal: control characters (newlines that would forge a log line,
//! the escape sequences that drive a terminal) are written as `\n`,
//! `\u{1b}` and so on; everything else, accents and emoji included, is kept.

use std::fmt;

/// Displays the wrapped text with its control characters escaped; use it
/// for tracing fields (`reason = %Printable(&text)`) and CLI output.
#[derive(Debug, Clone, Copy)]
pub struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for c in self.0.chars() {
            if is_unprintable(c) {
                for e in c.escape_default() {
                    f.write_char(e)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// `text` with its control characters escaped, as [`Printable`] shows it.
pub fn printable(text: &str) -> String {
    if text.chars().any(is_unprintable) {
        Printable(text).to_string()
    } else {
        text.to_owned()
    }
}

/// C0 and C1 controls and DEL, and the bidirectional overrides that make a
/// terminal show text in another order than it is.
fn is_unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_keeps_the_rest() {
        assert_eq!(printable("Zoë 🌞 café"), "Zoë 🌞 café");
        assert_eq!(
            printable("https://a.example/n\nINFO forged line"),
            "https://a.example/n\\nINFO forged line"
        );
        assert_eq!(
            printable("\u{1b}[2J\u{1b}]0;title\u{7}"),
            "\\u{1b}[2J\\u{1b}]0;title\\u{7}"
        );
        assert_eq!(printable("a\u{202e}b\u{9b}c"), "a\\u{202e}b\\u{9b}c");
        assert!(!printable("tab\there\r").contains(['\t', '\r']));
    }
}
