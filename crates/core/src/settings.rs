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
/// Who sees replies from the fediverse at once: one of [`COMMENT_POLICIES`].
pub const COMMENT_POLICY: &str = "federation.comment_policy";
/// The public pages' main colour (`#rrggbb`): links, headings, and the
/// background of white text (buttons, badges).
pub const PRIMARY_COLOR: &str = "theme.primary_color";
/// The public pages' second colour (`#rrggbb`): rules, markers, and the
/// background of dark text (interview badges).
pub const ACCENT_COLOR: &str = "theme.accent_color";
/// Extra text at the foot of every public page (plain text).
pub const FOOTER: &str = "theme.footer";

/// Every setting, in the order the settings page shows them.
pub const ALL: [&str; 8] = [
    NAME,
    DEFAULT_LANGUAGE,
    TIME_ZONE,
    MANUAL_FOLLOWERS,
    COMMENT_POLICY,
    PRIMARY_COLOR,
    ACCENT_COLOR,
    FOOTER,
];

/// The comment policies: replies show at once (`open`), only followers'
/// do (`followers_only`), or every reply waits for approval (`moderated`).
pub const COMMENT_POLICIES: [&str; 3] = ["open", "followers_only", "moderated"];

/// The dark text the public theme writes on the accent colour (`--ink`).
const INK: [u8; 3] = [0x1f, 0x23, 0x28];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
/// WCAG 2 AA for normal text.
const MIN_CONTRAST: f64 = 4.5;

const MAX_NAME: usize = 100;
const MAX_FOOTER: usize = 500;

/// The settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    pub name: String,
    pub default_language: Language,
    pub time_zone: Tz,
    pub manually_approves_followers: bool,
    /// One of [`COMMENT_POLICIES`].
    pub comment_policy: String,
    /// `#rrggbb`, lower case.
    pub primary_color: String,
    /// `#rrggbb`, lower case.
    pub accent_color: String,
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
            COMMENT_POLICY => self.comment_policy.clone(),
            PRIMARY_COLOR => self.primary_color.clone(),
            ACCENT_COLOR => self.accent_color.clone(),
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
            COMMENT_POLICY => self.comment_policy = value.to_owned(),
            PRIMARY_COLOR => self.primary_color = value.to_owned(),
            ACCENT_COLOR => self.accent_color = value.to_owned(),
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
        COMMENT_POLICY => {
            let v = raw.trim().to_ascii_lowercase();
            if COMMENT_POLICIES.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(FieldError::new(
                    name,
                    "invalid",
                    format!(
                        "`{}` is not a comment policy: open, followers_only or moderated",
                        raw.trim()
                    ),
                )
                .with_key("settings_comment_policy", [("value", raw.trim().to_owned())]))
            }
        }
        PRIMARY_COLOR => check_color(name, raw, WHITE, "white"),
        ACCENT_COLOR => check_color(name, raw, INK, "dark"),
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

/// A theme colour: `#rrggbb` (stored in lower case) on which `text` (the
/// theme's white or dark text, named `text_name`) stays readable.
fn check_color(name: &str, raw: &str, text: [u8; 3], text_name: &str) -> Result<String, FieldError> {
    let v = raw.trim().to_ascii_lowercase();
    let Some(rgb) = parse_hex(&v) else {
        return Err(FieldError::new(
            name,
            "invalid",
            format!("`{}` is not a colour written #rrggbb, such as #1d6b4f", raw.trim()),
        )
        .with_key("settings_color_invalid", [("value", raw.trim().to_owned())]));
    };
    let ratio = contrast(rgb, text);
    if ratio < MIN_CONTRAST {
        let ratio = format!("{ratio:.1}");
        return Err(FieldError::new(
            name,
            "low_contrast",
            format!(
                "{text_name} text on {v} has a contrast of {ratio}:1; it needs at least {MIN_CONTRAST}:1 to be readable"
            ),
        )
        .with_key(
            if text_name == "white" {
                "settings_color_contrast_white"
            } else {
                "settings_color_contrast_dark"
            },
            [("value", v.clone()), ("ratio", ratio)],
        ));
    }
    Ok(v)
}

fn parse_hex(v: &str) -> Option<[u8; 3]> {
    let hex = v.strip_prefix('#')?;
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// The WCAG 2 contrast ratio of two colours (1 to 21).
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |c: [u8; 3]| {
        let channel = |v: u8| {
            let s = f64::from(v) / 255.0;
            if s <= 0.03928 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
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
            comment_policy: "open".into(),
            primary_color: "#1d6b4f".into(),
            accent_color: "#f2a900".into(),
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
        assert_eq!(check(COMMENT_POLICY, " Moderated ").unwrap(), "moderated");
        let policy = check(COMMENT_POLICY, "closed").unwrap_err();
        assert_eq!(policy.key, "settings_comment_policy");
        assert_eq!(policy.params, [("value", "closed".to_owned())]);
        assert_eq!(check(PRIMARY_COLOR, " #1D6B4F ").unwrap(), "#1d6b4f");
        assert_eq!(check(ACCENT_COLOR, "#f2a900").unwrap(), "#f2a900");
        for bad in ["green", "#12345", "#1234567", "1d6b4f", "#gg0000"] {
            assert_eq!(
                check(PRIMARY_COLOR, bad).unwrap_err().key,
                "settings_color_invalid",
                "{bad}"
            );
        }
        // White text on a pale primary, dark text on a dark accent: unreadable.
        let pale = check(PRIMARY_COLOR, "#f2a900").unwrap_err();
        assert_eq!(pale.key, "settings_color_contrast_white");
        assert_eq!(pale.params[1], ("ratio", "2.0".to_owned()));
        assert_eq!(
            check(ACCENT_COLOR, "#1d6b4f").unwrap_err().key,
            "settings_color_contrast_dark"
        );
        assert!((contrast(WHITE, [0, 0, 0]) - 21.0).abs() < 1e-9);
        assert!((contrast(WHITE, WHITE) - 1.0).abs() < 1e-9);
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
