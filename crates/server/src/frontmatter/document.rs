//! A Markdown file cut into front matter and body, and the line of each
//! front-matter key, found by a plain scan of `key:` lines.

use std::collections::HashMap;

use serde_norway::{Mapping, Value};

use super::Problem;

/// A Markdown file cut into front matter and body.
pub(super) struct Document<'a> {
    /// The front matter with the opening `---` replaced by an empty line, so
    /// that line numbers in YAML errors are line numbers in the file.
    pub(super) yaml: String,
    pub(super) body: &'a str,
    pub(super) body_line: usize,
    pub(super) keys: HashMap<String, usize>,
}

impl<'a> Document<'a> {
    pub(super) fn split(file: &str, text: &'a str) -> Result<Self, Problem> {
        let at_start = |message: &str| Problem {
            file: file.to_owned(),
            line: 1,
            field: None,
            message: message.to_owned(),
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.split_inclusive('\n');
        let first = lines.next().unwrap_or_default();
        if first.trim_end() != "---" {
            return Err(at_start(
                "the file must start with a `---` line, then the front matter (title, kind, …), then another `---` line",
            ));
        }
        let mut offset = first.len();
        let mut yaml = String::from("\n");
        for (i, line) in lines.enumerate() {
            offset += line.len();
            if line.trim_end() == "---" {
                let keys = scan_keys(&yaml);
                return Ok(Document {
                    yaml,
                    body: &text[offset..],
                    body_line: i + 3,
                    keys,
                });
            }
            yaml.push_str(line);
        }
        Err(at_start(
            "the front matter that starts here is not closed by a `---` line",
        ))
    }

    /// Parses the front matter into its top-level keys, in file order.
    pub(super) fn mapping(&self, file: &str) -> Result<Vec<(String, Value)>, Problem> {
        let value: Value = serde_norway::from_str(&self.yaml).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line());
            let message = e.to_string();
            // The parser reports a repeated key at the start of its mapping;
            // point at the repetition instead when it is a top-level key.
            if let Some(key) = message
                .strip_prefix("duplicate entry with key \"")
                .and_then(|m| m.split('"').next())
                && let [first, again, ..] = top_level_lines(&self.yaml, key)[..]
            {
                return Problem {
                    file: file.to_owned(),
                    line: again,
                    field: Some(key.to_owned()),
                    message: format!("given twice (first on line {first})"),
                };
            }
            let mut message = format!("invalid YAML: {message}");
            if message.contains("mapping values are not allowed") {
                message.push_str(" (put text that contains `: ` in quotes)");
            }
            Problem {
                file: file.to_owned(),
                line,
                field: None,
                message,
            }
        })?;
        let map = match value {
            Value::Null => Mapping::new(),
            Value::Mapping(m) => m,
            _ => {
                return Err(Problem {
                    file: file.to_owned(),
                    line: 2,
                    field: None,
                    message: "the front matter must be `key: value` lines".into(),
                });
            }
        };
        let mut out = Vec::new();
        for (k, v) in map {
            match key_text(&k) {
                Some(k) => out.push((k, v)),
                None => {
                    return Err(Problem {
                        file: file.to_owned(),
                        line: 2,
                        field: None,
                        message: format!("`{k:?}` is not a key name"),
                    });
                }
            }
        }
        Ok(out)
    }
}

pub(super) fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Finds the line of each top-level key (`title`) and of each key one level
/// below it (`cover.alt`, `translations.fr`). `yaml` line 1 is file line 1.
pub(super) fn scan_keys(yaml: &str) -> HashMap<String, usize> {
    let mut keys = HashMap::new();
    let mut parent: Option<String> = None;
    let mut child_indent: Option<usize> = None;
    for (i, raw) in yaml.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            let key = key_of_line(trimmed);
            child_indent = None;
            if let Some((k, _)) = &key {
                keys.entry(k.clone()).or_insert(i + 1);
            }
            // The lines of a `|` or `>` block are text, not keys.
            parent = key.filter(|(_, value)| !value.starts_with(['|', '>'])).map(|(k, _)| k);
        } else if let Some(p) = &parent {
            // Only the first level below a key: deeper lines (or the
            // continuation of a long text) must not shadow it.
            let level = *child_indent.get_or_insert(indent);
            if indent == level
                && let Some((k, _)) = key_of_line(trimmed)
            {
                keys.entry(format!("{p}.{k}")).or_insert(i + 1);
            }
        }
    }
    keys
}

/// Every line where `key` appears as a top-level key.
pub(super) fn top_level_lines(yaml: &str, key: &str) -> Vec<usize> {
    yaml.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with([' ', '\t']) && key_of_line(l.trim_end()).is_some_and(|(k, _)| k == key))
        .map(|(i, _)| i + 1)
        .collect()
}

/// `title: x` → (`title`, `x`); `"odd key": x` → (`odd key`, `x`); a list
/// item → none.
pub(super) fn key_of_line(line: &str) -> Option<(String, &str)> {
    let (key, rest) = match line.chars().next()? {
        q @ ('"' | '\'') => {
            let inner = &line[1..];
            let end = inner.find(q)?;
            (&inner[..end], &inner[end + 1..])
        }
        '-' | '[' | '{' | '?' | '&' | '*' | '!' | '|' | '>' => return None,
        _ => {
            let end = line.find(':')?;
            (&line[..end], &line[end..])
        }
    };
    let after = rest.trim_start().strip_prefix(':')?;
    (after.is_empty() || after.starts_with([' ', '\t'])).then(|| (key.trim().to_owned(), after.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_scan() {
        let keys = scan_keys(
            "\ntitle: a\n\"odd\": b\ncover:\n  src: x\n    deep: y\n  alt: z\ntags:\n- a\nsummary: |\n  text: not a key\n",
        );
        assert_eq!(keys.get("title"), Some(&2));
        assert_eq!(keys.get("odd"), Some(&3));
        assert_eq!(keys.get("cover.src"), Some(&5));
        assert_eq!(keys.get("cover.deep"), None);
        assert_eq!(keys.get("cover.alt"), Some(&7));
        assert_eq!(keys.get("tags"), Some(&8));
        assert_eq!(keys.get("summary"), Some(&10));
        assert_eq!(keys.len(), 7, "{keys:?}");
    }
}
