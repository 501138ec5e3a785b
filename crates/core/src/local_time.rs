//! Local time for the editors' interface: IANA time zone names (the
//! instance's `instance.time_zone`, a user's own), a wall-clock time typed in
//! a zone turned into an instant — refusing one that a daylight-saving change
//! skips, taking the first of one it repeats — and instants shown in a zone.
//! The rules come from the tz database (`chrono-tz`); none are written here.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
pub use chrono_tz::Tz;

use crate::error::FieldError;

/// The zone used where nothing else is set.
pub const DEFAULT_ZONE: &str = "UTC";

/// The zone named `name` (an IANA name such as `Europe/Paris`, any case),
/// or an error naming it; `field` is the field the name came from.
pub fn parse_zone(field: &str, name: &str) -> Result<Tz, FieldError> {
    let name = name.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            FieldError::new(
                field,
                "unknown_time_zone",
                format!("`{name}` is not a time zone name such as Europe/Paris or UTC"),
            )
            .with_key("time_zone_unknown", [("value", name.to_owned())])
        })
}

/// Every zone name the database knows, for pickers.
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// A wall-clock time read in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The time happens once (or was given with its offset).
    Exact(DateTime<Utc>),
    /// The clocks went back, so the time happens twice: `first` is taken,
    /// `second` is the other one.
    Repeated {
        first: DateTime<Utc>,
        second: DateTime<Utc>,
    },
}

impl Reading {
    /// The instant taken.
    pub fn instant(self) -> DateTime<Utc> {
        match self {
            Reading::Exact(t) => t,
            Reading::Repeated { first, .. } => first,
        }
    }
}

/// Why a local time could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalTimeError {
    /// Not a date and time at all.
    Unreadable,
    /// The clocks went forward over it: it never happens in the zone.
    Skipped { local: NaiveDateTime, zone: Tz },
}

impl LocalTimeError {
    /// The problem as a message on `field` (the `Skipped` case names the
    /// time and the zone).
    pub fn to_field_error(&self, field: &str, raw: &str) -> FieldError {
        match self {
            LocalTimeError::Unreadable => FieldError::new(
                field,
                "invalid",
                format!("`{raw}` is not a date and time such as 2026-12-01T09:00"),
            )
            .with_key("publish_at_invalid", [("value", raw.trim().to_owned())]),
            LocalTimeError::Skipped { local, zone } => {
                let time = local.format("%Y-%m-%d %H:%M").to_string();
                FieldError::new(
                    field,
                    "nonexistent_time",
                    format!(
                        "{time} does not exist in {}: the clocks go forward then; choose another time",
                        zone.name()
                    ),
                )
                .with_key("local_time_skipped", [("time", time), ("zone", zone.name().to_owned())])
            }
        }
    }
}

/// Formats a wall-clock time without zone may be written in (what
/// `<input type="datetime-local">` sends first).
const LOCAL_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
];

/// Reads `text` as a wall-clock time in `zone` (a date alone is its
/// midnight). A time written with an offset or `Z` (RFC 3339) is that
/// instant, whatever the zone.
pub fn read_local(text: &str, zone: Tz) -> Result<Reading, LocalTimeError> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Reading::Exact(t.with_timezone(&Utc)));
    }
    let local = LOCAL_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or(LocalTimeError::Unreadable)?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(Reading::Exact(t.with_timezone(&Utc))),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            Ok(Reading::Repeated {
                first: a.min(b),
                second: a.max(b),
            })
        }
        LocalResult::None => Err(LocalTimeError::Skipped { local, zone }),
    }
}

/// `t` as `<input type="datetime-local">` shows it in `zone`.
pub fn to_local_input(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// `t` in `zone` with `fmt` (strftime; `%Z` is the zone's abbreviation
/// then, such as `CET` or `CEST`).
pub fn format_in(t: DateTime<Utc>, zone: Tz, fmt: &str) -> String {
    t.with_timezone(&zone).format(fmt).to_string()
}

/// The offset from UTC at `t` in `zone`, as `+01:00`.
pub fn offset_at(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn paris() -> Tz {
        parse_zone("tz", "Europe/Paris").unwrap()
    }

    #[test]
    fn zones_by_name_any_case_and_unknown_ones_named() {
        assert_eq!(parse_zone("tz", " Europe/Rome ").unwrap().name(), "Europe/Rome");
        assert_eq!(parse_zone("tz", "europe/madrid").unwrap().name(), "Europe/Madrid");
        assert_eq!(parse_zone("tz", "UTC").unwrap().name(), "UTC");
        let e = parse_zone("time_zone", "Europe/Parris").unwrap_err();
        assert_eq!(e.field, "time_zone");
        assert_eq!(e.key, "time_zone_unknown");
        assert_eq!(e.params, [("value", "Europe/Parris".to_owned())]);
        assert!(e.message.contains("`Europe/Parris`"), "{}", e.message);
        assert!(parse_zone("tz", "").is_err());
        assert!(parse_zone("tz", "+01:00").is_err());
        assert!(zone_names().any(|n| n == "Europe/Berlin"));
    }

    #[test]
    fn ordinary_times_winter_and_summer() {
        let z = paris();
        assert_eq!(
            read_local("2026-12-01T09:00", z).unwrap(),
            Reading::Exact(utc("2026-12-01T08:00:00Z"))
        );
        assert_eq!(
            read_local("2026-07-14 09:30:00", z).unwrap(),
            Reading::Exact(utc("2026-07-14T07:30:00Z"))
        );
        assert_eq!(
            read_local("2026-07-14", z).unwrap().instant(),
            utc("2026-07-13T22:00:00Z")
        );
        // An offset given is kept, whatever the zone.
        assert_eq!(
            read_local("2026-07-14T09:30:00+05:00", z).unwrap().instant(),
            utc("2026-07-14T04:30:00Z")
        );
        assert_eq!(read_local("next tuesday", z), Err(LocalTimeError::Unreadable));
        assert_eq!(to_local_input(utc("2026-07-14T07:30:00Z"), z), "2026-07-14T09:30");
        assert_eq!(
            format_in(utc("2026-12-01T08:00:00Z"), z, "%Y-%m-%d %H:%M %Z"),
            "2026-12-01 09:00 CET"
        );
        assert_eq!(offset_at(utc("2026-07-14T07:30:00Z"), z), "+02:00");
    }

    #[test]
    fn a_time_the_clocks_skip_is_refused_naming_time_and_zone() {
        // 29 March 2026: Paris goes from 02:00 CET straight to 03:00 CEST.
        let err = read_local("2026-03-29T02:30", paris()).unwrap_err();
        assert!(matches!(err, LocalTimeError::Skipped { .. }));
        let fe = err.to_field_error("publish_at", "2026-03-29T02:30");
        assert_eq!(fe.key, "local_time_skipped");
        assert_eq!(
            fe.params,
            [
                ("time", "2026-03-29 02:30".to_owned()),
                ("zone", "Europe/Paris".to_owned())
            ]
        );
        assert!(fe.message.contains("2026-03-29 02:30") && fe.message.contains("Europe/Paris"));
        // Either side of the gap is fine.
        assert_eq!(
            read_local("2026-03-29T01:59", paris()).unwrap().instant(),
            utc("2026-03-29T00:59:00Z")
        );
        assert_eq!(
            read_local("2026-03-29T03:00", paris()).unwrap().instant(),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn a_repeated_time_takes_the_first() {
        // 25 October 2026: Paris goes back from 03:00 CEST to 02:00 CET.
        let r = read_local("2026-10-25T02:30", paris()).unwrap();
        assert_eq!(
            r,
            Reading::Repeated {
                first: utc("2026-10-25T00:30:00Z"),
                second: utc("2026-10-25T01:30:00Z"),
            }
        );
        assert_eq!(r.instant(), utc("2026-10-25T00:30:00Z"));
        assert_eq!(offset_at(r.instant(), paris()), "+02:00");
        // UTC has neither gaps nor repeats.
        let z = parse_zone("tz", "UTC").unwrap();
        assert_eq!(
            read_local("2026-10-25T02:30", z).unwrap(),
            Reading::Exact(utc("2026-10-25T02:30:00Z"))
        );
    }
}
