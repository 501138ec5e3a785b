//! Instance settings an administrator changes at run time (the admin's
//! settings page and `PUT /api/v1/settings`): their names, the values in
//! effect (the config file's, with stored overrides on top) and the rules a
//! new value must follow.

use crate::error::{FieldError, ValidationError};
use crate::language::Language;
use crate::local_time::{self, Tz};

/// The instance's name: page titles when there is no organisation profile,
/// the admin's title bar, feeds.
pub const NAME: &str = "instance.name";
/// The language a new article starts in, and pages fall back to.
pub const DEFAULT_LANGUAGE: &str = "instance.default_language";
/// The time zone editors read and type times in (an IANA name such as
/// `Europe/Paris`), unless they chose their own on their account page.
pub const TIME_ZONE: &str = "instance.time_zone";
/// New followers of local actors wait for an editor's approval.
pub const MANUAL_FOLLOWERS: &str = "federation.manually_approves_followers";
/// Extra text at the foot of every public page (plain text).
pub const FOOTER: &str = "theme.footer";

/// Every setting, in the order the settings page shows them.
pub const ALL: [&str; 5] = [NAME, DEFAULT_LANGUAGE, TIME_ZONE, MANUAL_FOLLOWERS, FOOTER];

const MAX_NAME: usize = 100;
const MAX_FOOTER: usize = 500;

/// The settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    pub name: String,
    pub default_language: Language,
    pub time_zone: Tz,
    pub manually_approves_followers: bool,
    pub footer: String,
}

impl InstanceSettings {
    /// `self` (the config file's values) with the stored `overrides`
    /// (name, value) applied. A stored value that no longer passes
    /// [`check`] (written by an older version) is skipped and returned in
    /// the second list, so the caller can say so.
    pub fn with_overrides<'a>(
        mut self,
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Self, Vec<String>) {
        let mut skipped = Vec::new();
        for (name, value) in overrides {
            match check(name, value) {
                Ok(v) => self.set(name, &v),
                Err(_) => skipped.push(name.to_owned()),
            }
        }
        (self, skipped)
    }

    /// The value of setting `name` as text (as stored and as forms show it).
    pub fn value(&self, name: &str) -> Option<String> {
        Some(match name {
            NAME => self.name.clone(),
            DEFAULT_LANGUAGE => self.default_language.as_str().to_owned(),
            TIME_ZONE => self.time_zone.name().to_owned(),
            MANUAL_FOLLOWERS => self.manually_approves_followers.to_string(),
            FOOTER => self.footer.clone(),
            _ => return None,
        })
    }

    /// Sets `name` from an already [`check`]ed value.
    fn set(&mut self, name: &str, value: &str) {
        match name {
            NAME => self.name = value.to_owned(),
            DEFAULT_LANGUAGE => {
                if let Ok(l) = Language::parse(value) {
                    self.default_language = l;
                }
            }
            TIME_ZONE => {
                if let Ok(tz) = local_time::parse_zone(name, value) {
                    self.time_zone = tz;
                }
            }
            MANUAL_FOLLOWERS => self.manually_approves_followers = value == "true",
            FOOTER => self.footer = value.to_owned(),
            _ => {}
        }
    }
}

/// The value to store for setting `name` given `raw` as typed, or what is
/// wrong with it.
pub fn check(name: &str, raw: &str) -> Result<String, FieldError> {
    match name {
        NAME => {
            let v = raw.trim();
            if v.is_empty() {
                Err(FieldError::new(name, "required", "the instance needs a name")
                    .with_key("settings_name_required", []))
            } else if v.chars().count() > MAX_NAME {
                Err(FieldError::new(
                    name,
                    "too_long",
                    format!("the name is longer than {MAX_NAME} characters"),
                )
                .with_key("settings_name_too_long", [("max", MAX_NAME.to_string())]))
            } else if v.chars().any(char::is_control) {
                Err(FieldError::new(
                    name,
                    "invalid",
                    "the name may not contain line breaks or control characters",
                )
                .with_key("settings_name_control", []))
            } else {
                Ok(v.to_owned())
            }
        }
        DEFAULT_LANGUAGE => Language::parse(raw.trim()).map(|l| l.as_str().to_owned()).map_err(|m| {
            FieldError::new(name, "unknown_language", m)
                .with_key("language_unknown", [("value", raw.trim().to_owned())])
        }),
        TIME_ZONE => local_time::parse_zone(name, raw).map(|tz| tz.name().to_owned()),
        MANUAL_FOLLOWERS => match raw.trim() {
            "true" | "on" | "1" => Ok("true".into()),
            "false" | "off" | "0" | "" => Ok("false".into()),
            other => Err(
                FieldError::new(name, "invalid", format!("`{other}` is not true or false"))
                    .with_key("settings_not_boolean", [("value", other.to_owned())]),
            ),
        },
        FOOTER => {
            let v = raw.trim().replace("\r\n", "\n");
            if v.chars().count() > MAX_FOOTER {
                Err(FieldError::new(
                    name,
                    "too_long",
                    format!("the footer is longer than {MAX_FOOTER} characters"),
                )
                .with_key("settings_footer_too_long", [("max", MAX_FOOTER.to_string())]))
            } else if v.chars().any(|c| c.is_control() && c != '\n') {
                Err(
                    FieldError::new(name, "invalid", "the footer may not contain control characters")
                        .with_key("settings_footer_control", []),
                )
            } else {
                Ok(v)
            }
        }
        other => Err(
            FieldError::new(other, "unknown", format!("there is no setting `{other}`"))
                .with_key("settings_unknown", [("name", other.to_owned())]),
        ),
    }
}

/// Checks every (name, raw value) pair; all the problems at once.
pub fn check_all<'a>(
    changes: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<(String, String)>, ValidationError> {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for (name, raw) in changes {
        match check(name, raw) {
            Ok(v) => ok.push((name.to_owned(), v)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(ValidationError(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> InstanceSettings {
        InstanceSettings {
            name: "Gazette".into(),
            default_language: Language::parse("en").unwrap(),
            time_zone: Tz::UTC,
            manually_approves_followers: false,
            footer: String::new(),
        }
    }

    #[test]
    fn overrides_apply_and_bad_ones_are_skipped() {
        let (s, skipped) = defaults().with_overrides([
            (NAME, "Coop News"),
            (MANUAL_FOLLOWERS, "true"),
            (TIME_ZONE, "Europe/Rome"),
            (DEFAULT_LANGUAGE, "not a language!"),
            ("nope", "x"),
        ]);
        assert_eq!(s.name, "Coop News");
        assert!(s.manually_approves_followers);
        assert_eq!(s.default_language.as_str(), "en");
        assert_eq!(skipped, [DEFAULT_LANGUAGE, "nope"]);
        assert_eq!(s.value(MANUAL_FOLLOWERS).as_deref(), Some("true"));
        assert_eq!(s.value(TIME_ZONE).as_deref(), Some("Europe/Rome"));
    }

    #[test]
    fn every_field_is_checked_with_a_stable_key() {
        assert_eq!(check(NAME, "  Coop  ").unwrap(), "Coop");
        assert_eq!(check(NAME, " ").unwrap_err().key, "settings_name_required");
        assert_eq!(check(NAME, &"x".repeat(101)).unwrap_err().key, "settings_name_too_long");
        assert_eq!(check(NAME, "a\tb").unwrap_err().key, "settings_name_control");
        assert_eq!(check(DEFAULT_LANGUAGE, "FR").unwrap(), "fr");
        assert_eq!(check(DEFAULT_LANGUAGE, "zz-top").unwrap_err().key, "language_unknown");
        assert_eq!(check(TIME_ZONE, " europe/paris ").unwrap(), "Europe/Paris");
        let tz = check(TIME_ZONE, "Mars/Olympus").unwrap_err();
        assert_eq!((tz.field.as_str(), tz.key), (TIME_ZONE, "time_zone_unknown"));
        assert_eq!(tz.params, [("value", "Mars/Olympus".to_owned())]);
        assert_eq!(check(MANUAL_FOLLOWERS, "on").unwrap(), "true");
        assert_eq!(check(MANUAL_FOLLOWERS, "").unwrap(), "false");
        assert_eq!(
            check(MANUAL_FOLLOWERS, "maybe").unwrap_err().key,
            "settings_not_boolean"
        );
        assert_eq!(check(FOOTER, "a\r\nb").unwrap(), "a\nb");
        assert_eq!(
            check(FOOTER, &"x".repeat(501)).unwrap_err().key,
            "settings_footer_too_long"
        );
        let all = check_all([(NAME, ""), (FOOTER, "ok"), ("x", "y")]).unwrap_err();
        assert_eq!(all.0.len(), 2);
        assert_eq!(all.0[1].params, [("name", "x".to_owned())]);
    }
}
