//! Reading typed values out of one file's front matter ([`Ctx`]), collecting
//! problems that name the field and its line, with "did you mean" hints.

use std::collections::HashMap;
use std::path::Path;

use serde_norway::{Mapping, Value};

use super::document::key_text;
use super::{ImageRef, Problem};

/// `(did you mean `title`?)` for a near miss, else the list of keys.
pub(super) fn suggest(word: &str, known: &[&str]) -> String {
    match near(word, known) {
        Some(k) => format!(" (did you mean `{k}`?)"),
        None => format!(" (known keys: {})", known.join(", ")),
    }
}

/// The known key `word` is most likely a typo of, if any.
pub(super) fn near<'k>(word: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Reads values out of one file's front matter, collecting problems.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) keys: &'a HashMap<String, usize>,
    pub(super) problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub(super) fn push(&mut self, field: &str, message: impl Into<String>) {
        let line = line_in(self.keys, field);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            field: Some(field.to_owned()),
            message: message.into(),
        });
    }

    /// Text for a text field; numbers and booleans count as text (a title may
    /// be `1984`); an empty value counts as absent.
    pub(super) fn text(&mut self, field: &str, value: &Value) -> Option<String> {
        match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.push(field, format!("expected text, got {}", describe(other)));
                None
            }
        }
    }

    pub(super) fn mapping(&mut self, field: &str, value: &Value, expected: &str) -> Option<Mapping> {
        match value {
            Value::Null => None,
            Value::Mapping(m) => Some(m.clone()),
            other => {
                self.push(field, format!("expected {expected}, got {}", describe(other)));
                None
            }
        }
    }

    /// The entries of a nested mapping, refusing keys not in `known`.
    pub(super) fn fields(&mut self, parent: &str, m: &Mapping, known: &[&str]) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        for (k, v) in m {
            let Some(k) = key_text(k) else {
                self.push(parent, "nested keys must be names");
                continue;
            };
            if known.contains(&k.as_str()) {
                out.insert(k, v.clone());
            } else {
                self.push(&format!("{parent}.{k}"), format!("unknown key{}", suggest(&k, known)));
            }
        }
        out
    }

    pub(super) fn tags(&mut self, value: &Value) -> Vec<String> {
        match value {
            Value::Null => Vec::new(),
            Value::Sequence(items) => items.iter().filter_map(|v| self.text("tags", v)).collect(),
            other => {
                self.push(
                    "tags",
                    format!(
                        "expected a list such as [cooperatives, housing], got {}",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    /// `translations:` as (language as written, relative path) pairs.
    pub(super) fn translation_list(&mut self, value: &Value) -> Vec<(String, String)> {
        let Some(m) = self.mapping(
            "translations",
            value,
            "`language: file.md` lines such as `fr: article.fr.md`, indented",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in &m {
            let Some(lang) = key_text(k) else {
                self.push("translations", "each translation is listed as `language: file.md`");
                continue;
            };
            let field = format!("translations.{lang}");
            match self.text(&field, v) {
                Some(p) if !p.trim().is_empty() => out.push((lang, p.trim().to_owned())),
                _ => self.push(&field, "expected the path of a Markdown file, such as article.fr.md"),
            }
        }
        out
    }

    /// An image given as a media id or a path relative to the article: paths
    /// are recorded in `images` and returned resolved, as a placeholder id.
    pub(super) fn image(
        &mut self,
        base: &Path,
        field: &str,
        image_field: &str,
        value: Option<&Value>,
        images: &mut Vec<ImageRef>,
    ) -> Option<String> {
        let src = self.text(field, value?)?;
        let src = src.trim();
        if src.is_empty() {
            return None;
        }
        if src.contains("://") {
            self.push(
                field,
                format!("`{src}` is a URL: save the image next to the article and give its relative path"),
            );
            return None;
        }
        // Media ids are bare tokens; anything with a directory or an
        // extension is a file name.
        if !src.contains(['/', '.']) {
            return Some(src.to_owned());
        }
        let path = base.join(src);
        images.push(ImageRef {
            field: image_field.to_owned(),
            path: path.clone(),
            line: line_in(self.keys, field),
        });
        Some(path.display().to_string())
    }
}

/// Line of `field` or its nearest parent in `keys`, else 1.
pub(super) fn line_in(keys: &HashMap<String, usize>, field: &str) -> usize {
    let mut f = field;
    loop {
        if let Some(l) = keys.get(f) {
            return *l;
        }
        match f.rsplit_once('.') {
            Some((parent, _)) => f = parent,
            None => return 1,
        }
    }
}

pub(super) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "nested keys",
        Value::Tagged(_) => "a tagged value (`!tag`)",
    }
}
