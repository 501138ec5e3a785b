//! Turns submitted input into validated values, naming every bad field.

use chrono::{DateTime, Utc};

use crate::error::{FieldError, ValidationError};
use crate::model::*;

const MAX_TITLE: usize = 300;
const MAX_SUMMARY: usize = 2_000;
const MAX_BODY: usize = 1_000_000;
const MAX_TAGS: usize = 30;

mod article;

pub use article::article;

/// Where each field of an input sits in its file, for error messages.
pub trait LineOf {
    fn line_of(&self, field: &str) -> Option<usize>;
}

/// Input that did not come from a file.
pub struct NoLines;

impl LineOf for NoLines {
    fn line_of(&self, _field: &str) -> Option<usize> {
        None
    }
}

struct Errs<'a> {
    list: Vec<FieldError>,
    lines: &'a dyn LineOf,
}

impl Errs<'_> {
    /// A problem with `field`: `code` is the generic kind, `key` (with
    /// `params`) the stable name of this message for translations.
    fn add(
        &mut self,
        field: &str,
        code: &'static str,
        key: &'static str,
        params: &[(&'static str, String)],
        msg: String,
    ) {
        let mut e = FieldError::new(field, code, msg).with_key(key, params.iter().cloned());
        e.line = self.lines.line_of(field);
        self.list.push(e);
    }
}

/// Accepts RFC 3339, or a date and time without zone (taken as UTC), or a date.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The stable message name of what [`normalise_tag`] refuses in `tag`.
fn tag_problem(tag: &str) -> &'static str {
    let t = tag.trim().trim_start_matches('#');
    if t.is_empty() {
        "tag_empty"
    } else if t.chars().count() > 100 && t.chars().all(|c| c.is_alphanumeric() || c == '_') {
        "tag_too_long"
    } else {
        "tag_invalid"
    }
}

/// `#Économie_Sociale` → `économie_sociale`; letters, digits and `_` only.
/// The lower-case form is the tag's key: lookups, URLs and counts use it.
pub fn normalise_tag(tag: &str) -> Result<String, String> {
    display_tag(tag).map(|t| t.to_lowercase())
}

/// `#Économie_Sociale` → `Économie_Sociale`: the tag as written, checked
/// like [`normalise_tag`], for display.
pub fn display_tag(tag: &str) -> Result<String, String> {
    let t = tag.trim().trim_start_matches('#');
    if t.is_empty() {
        return Err("empty tag".into());
    }
    if !t.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!(
            "tag `{tag}` may only contain letters, digits and `_` (write it as one word, e.g. SocialEconomy)"
        ));
    }
    if t.chars().count() > 100 {
        return Err(format!("tag `{tag}` is longer than 100 characters"));
    }
    Ok(t.to_owned())
}

/// Checks a fediverse handle `@user@host` (the leading `@` is optional).
pub fn check_handle(handle: &str) -> Result<(), String> {
    let h = handle.trim().trim_start_matches('@');
    let mut parts = h.split('@');
    let (Some(user), Some(host), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "`{handle}` is not a fediverse handle such as @name@example.org"
        ));
    };
    let user_ok = !user.is_empty() && user.chars().all(|c| c.is_alphanumeric() || "_.-".contains(c));
    let host_ok = host.contains('.') || host.starts_with("localhost");
    let host_ok =
        host_ok && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c)) && !host.starts_with('.');
    if user_ok && host_ok {
        Ok(())
    } else {
        Err(format!(
            "`{handle}` is not a fediverse handle such as @name@example.org"
        ))
    }
}

/// `name@host` or `@name@host` → `@name@host`.
pub fn normalise_handle(handle: &str) -> String {
    format!("@{}", handle.trim().trim_start_matches('@'))
}

/// Validates an author.
pub fn author(input: &AuthorInput) -> Result<AuthorInput, ValidationError> {
    let mut errs = Vec::new();
    let username = input.username.trim().to_ascii_lowercase();
    if username.is_empty() {
        errs.push(
            FieldError::new("username", "required", "an author needs a username")
                .with_key("author_username_required", []),
        );
    } else if username.len() > 64 || !username.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        errs.push(
            FieldError::new(
                "username",
                "invalid",
                format!(
                    "username `{}` may only contain letters, digits and `_` (at most 64)",
                    input.username
                ),
            )
            .with_key("username_invalid", [("value", input.username.clone())]),
        );
    }
    if input.name.trim().is_empty() {
        errs.push(FieldError::new("name", "required", "an author needs a name").with_key("author_name_required", []));
    }
    let handle = input
        .fediverse_handle
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty());
    if let Some(h) = handle
        && let Err(m) = check_handle(h)
    {
        errs.push(
            FieldError::new("fediverse_handle", "invalid", m).with_key("handle_invalid", [("value", h.to_owned())]),
        );
    }
    if !errs.is_empty() {
        return Err(ValidationError(errs));
    }
    Ok(AuthorInput {
        username,
        name: input.name.trim().to_owned(),
        bio: input.bio.trim().to_owned(),
        avatar: input.avatar.clone().filter(|a| !a.trim().is_empty()),
        fediverse_handle: handle.map(normalise_handle),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_handles() {
        assert!(parse_time("2026-12-01T09:00:00Z").is_some());
        assert!(parse_time("2026-12-01T09:00:00+01:00").is_some());
        assert!(parse_time("2026-12-01").is_some());
        assert!(parse_time("tomorrow").is_none());
        assert!(check_handle("@anna@social.example.org").is_ok());
        assert!(check_handle("anna@localhost:8081").is_ok());
        assert!(check_handle("anna").is_err());
        assert!(check_handle("@a@b@c").is_err());
    }

    #[test]
    fn author_messages_have_stable_names_to_translate() {
        let bad = AuthorInput {
            username: "no spaces".into(),
            name: " ".into(),
            bio: String::new(),
            avatar: None,
            fediverse_handle: Some("nobody".into()),
        };
        let errs = author(&bad).unwrap_err().0;
        let keys: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.key)).collect();
        assert_eq!(
            keys,
            vec![
                ("username", "username_invalid"),
                ("name", "author_name_required"),
                ("fediverse_handle", "handle_invalid"),
            ]
        );
        assert_eq!(errs[0].params, vec![("value", "no spaces".to_owned())]);
        assert_eq!(errs[2].params, vec![("value", "nobody".to_owned())]);
        let empty = AuthorInput {
            username: String::new(),
            ..bad
        };
        assert_eq!(author(&empty).unwrap_err().0[0].key, "author_username_required");
    }
}
