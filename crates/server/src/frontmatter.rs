//! Reads an article written as Markdown for `gazette publish FILE.md`: YAML
//! front matter between `---` lines, then the body. Translations live in
//! sibling files listed under `translations:`; images are named by relative
//! path and uploaded by the caller.
//!
//! Every problem names the file, the field and the line, because the person
//! reading the message is editing a text file, not a form. YAML parsers drop
//! positions once parsed, so lines come from a plain scan of the front matter
//! for `key:` lines, which is enough for the flat layout articles use.
//!
//! This file holds the result types and the known keys; `parse` reads and
//! checks a file, `document` cuts it and finds key lines, `fields` reads
//! typed values out of it.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::PathBuf;

use gazette_core::validate::LineOf;
use gazette_core::{ArticleInput, FieldError};

mod document;
mod fields;
mod parse;

use fields::line_in;

pub use parse::{parse_file, validate};

const ARTICLE_KEYS: &[&str] = &[
    "slug",
    "kind",
    "title",
    "summary",
    "language",
    "translations",
    "tags",
    "author",
    "interviewee",
    "cover",
    "status",
    "publish_at",
    "quote_policy",
];
const TRANSLATION_KEYS: &[&str] = &["title", "summary", "language", "interviewee"];
/// What a translation file may say about the interviewee: the rest is the
/// same in every language.
const TRANSLATED_INTERVIEWEE_KEYS: &[&str] = &["role", "bio"];
const COVER_KEYS: &[&str] = &["src", "alt"];
const INTERVIEWEE_KEYS: &[&str] = &["name", "role", "organisation", "bio", "photo", "fediverse_handle"];

/// An article read from its files, not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedArticle {
    /// `cover.media_id` and `interviewee.photo` hold the image path (as in
    /// [`ImageRef::path`]) until the caller uploads it and calls
    /// [`ParsedArticle::set_media`].
    pub input: ArticleInput,
    /// Local images to upload, in the order they appear.
    pub images: Vec<ImageRef>,
    /// Where each field is, for messages.
    pub source: SourceMap,
    /// Who may quote the article (FEP-044f): `everyone`, `followers`,
    /// `nobody`, or `default` for the instance's; left as it is when absent.
    pub quote_policy: Option<String>,
}

/// An image the article refers to by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `cover` or `interviewee.photo`.
    pub field: String,
    /// Resolved relative to the directory of the Markdown file.
    pub path: PathBuf,
    /// Line of the path in the Markdown file.
    pub line: usize,
}

/// Line numbers of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLines {
    /// The file as named in messages (the path as given).
    pub file: String,
    /// Line of each key: `title`, `cover`, `cover.alt`, `translations.fr`…
    keys: HashMap<String, usize>,
    /// Line where the body starts.
    pub body_line: usize,
}

impl FileLines {
    /// Line of `field`, else of its nearest parent (`cover.alt` → `cover`),
    /// else 1: a missing key is reported at the start of the front matter.
    pub fn line(&self, field: &str) -> usize {
        line_in(&self.keys, field)
    }
}

/// A translation file and where it is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslationSource {
    /// The language as written under `translations:`.
    pub key: String,
    /// Its canonical form, which core uses in field names (`pt-br` → `pt-BR`).
    pub canonical: Option<String>,
    pub lines: FileLines,
}

/// Where every field of a parsed article is: the main file and each
/// translation file. Implements [`LineOf`] for core validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMap {
    pub main: FileLines,
    pub translations: Vec<TranslationSource>,
}

/// A field placed in a file: what a [`Problem`] is reported against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location<'a> {
    pub file: &'a str,
    pub line: usize,
    /// The field as it is named in that file: `translations.fr.title` is just
    /// `title` in the French file.
    pub field: String,
}

impl SourceMap {
    fn translation(&self, key: &str) -> Option<&TranslationSource> {
        self.translations
            .iter()
            .find(|t| t.key == key || t.canonical.as_deref() == Some(key))
    }

    /// Finds the file and line of a dotted field name as used by core.
    pub fn locate(&self, field: &str) -> Location<'_> {
        let main = |field: &str| Location {
            file: &self.main.file,
            line: self.main.line(field),
            field: field.to_owned(),
        };
        if field == "body" {
            return Location {
                file: &self.main.file,
                line: self.main.body_line,
                field: field.to_owned(),
            };
        }
        let Some(rest) = field.strip_prefix("translations.") else {
            return main(field);
        };
        // Language keys may contain dots only if they are invalid anyway, so
        // splitting at the first one is good enough.
        let (key, sub) = rest.split_once('.').unwrap_or((rest, ""));
        let Some(t) = self.translation(key) else {
            return main(&format!("translations.{key}"));
        };
        let listed = || main(&format!("translations.{}", t.key));
        match sub {
            "" => listed(),
            "body" => Location {
                file: &t.lines.file,
                line: t.lines.body_line,
                field: "body".into(),
            },
            // Without a `language:` line the language comes from the key in the main file.
            "language" if !t.lines.keys.contains_key("language") => listed(),
            // Core names them after the translation's fields; the file nests them.
            "interviewee_role" | "interviewee_bio" => {
                let nested = sub.replacen('_', ".", 1);
                Location {
                    file: &t.lines.file,
                    line: t.lines.line(&nested),
                    field: nested,
                }
            }
            sub => Location {
                file: &t.lines.file,
                line: t.lines.line(sub),
                field: sub.to_owned(),
            },
        }
    }

    /// The line where the body in `language` starts (canonical tag or key).
    pub fn body_line(&self, language: &str) -> usize {
        self.translation(language)
            .map_or(self.main.body_line, |t| t.lines.body_line)
    }

    /// A problem reported against `field` (a core field name).
    pub fn problem(&self, field: &str, message: impl Into<String>) -> Problem {
        let loc = self.locate(field);
        Problem {
            file: loc.file.to_owned(),
            line: loc.line,
            field: Some(loc.field),
            message: message.into(),
        }
    }

    fn field_problem(&self, e: FieldError) -> Problem {
        let loc = self.locate(&e.field);
        // Core computes body lines itself (through `body_line`); those win.
        Problem {
            file: loc.file.to_owned(),
            line: e.line.unwrap_or(loc.line),
            field: Some(loc.field),
            message: e.message,
        }
    }
}

impl LineOf for SourceMap {
    fn line_of(&self, field: &str) -> Option<usize> {
        Some(self.locate(field).line)
    }
}

impl ParsedArticle {
    /// Replaces the image path in `field` (`cover` or `interviewee.photo`)
    /// with the id of the uploaded media; false if the field has no image.
    pub fn set_media(&mut self, field: &str, media_id: String) -> bool {
        match (field, &mut self.input.cover, &mut self.input.interviewee) {
            ("cover", Some(c), _) => c.media_id = media_id,
            ("interviewee.photo", _, Some(iv)) => iv.photo = Some(media_id),
            _ => return false,
        }
        true
    }

    /// A problem against `field`, e.g. for an image that fails to upload or
    /// a slug already taken, so the caller's messages point at the line too.
    pub fn problem(&self, field: &str, message: impl Into<String>) -> FrontMatterError {
        FrontMatterError::Invalid(vec![self.source.problem(field, message)])
    }

    /// A problem with an image (missing file, refused upload), at the line of its path.
    pub fn image_problem(&self, image: &ImageRef, message: impl Into<String>) -> FrontMatterError {
        FrontMatterError::Invalid(vec![Problem {
            file: self.source.main.file.clone(),
            line: image.line,
            field: Some(image.field.clone()),
            message: message.into(),
        }])
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The key as written in `file`, when the problem is about one.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}: ", self.file, self.line)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrontMatterError {
    /// The Markdown file itself cannot be read (translation files that
    /// cannot be read are a [`Problem`] at their `translations.<lang>` line).
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    /// Everything wrong with the article; never empty, one per line when shown.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Problem>),
}

fn join_lines(problems: &[Problem]) -> String {
    problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n")
}
