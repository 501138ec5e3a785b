//! Local time for the editors' interface: IANA time zone names (the
//! instance's `instance.time_zone`, a user's own), a wall-clock time typed in
//! a zone turned into an instant — refusing one that a daylight-saving change
//! skips, taking the first of one it repeats — and instants shown in a zone.
//! The rules come from the tz database (`tzdb_data`, read with `tz-rs`);
//! none are written here. [`Tz`] makes them a chrono time zone.

use std::fmt;
use std::str::FromStr;

use chrono::offset::{LocalResult, MappedLocalTime};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use tz::{LocalTimeType, TimeZoneRef};

use crate::error::FieldError;

/// The zone used where nothing else is set.
pub const DEFAULT_ZONE: &str = "UTC";

/// A zone of the tz database (`Europe/Paris`), usable as a chrono time zone.
#[derive(Clone, Copy)]
pub struct Tz {
    /// The name as the database spells it.
    name: &'static str,
    rules: &'static TimeZoneRef<'static>,
}

/// What applies where the rules give nothing (an instant too far off for
/// their arithmetic): UTC.
static UTC_TYPE: LocalTimeType = LocalTimeType::utc();

/// The seconds of a day, more than any offset from UTC.
const DAY: i64 = 86_400;

impl Tz {
    /// Coordinated Universal Time.
    pub const UTC: Tz = Tz {
        name: "UTC",
        rules: &tzdb_data::time_zone::UTC,
    };

    /// The zone's name as the tz database spells it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What the rules say at `unix` (seconds since the epoch, UTC).
    fn kind_at(&self, unix: i64) -> &'static LocalTimeType {
        self.rules.find_local_time_type(unix).unwrap_or(&UTC_TYPE)
    }

    fn offset_at_unix(&self, unix: i64) -> ZoneOffset {
        ZoneOffset {
            zone: *self,
            kind: self.kind_at(unix),
        }
    }
}

impl PartialEq for Tz {
    fn eq(&self, other: &Tz) -> bool {
        self.name == other.name
    }
}

impl Eq for Tz {}

impl fmt::Debug for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A name the tz database does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone;

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a time zone of the tz database")
    }
}

impl std::error::Error for UnknownZone {}

impl FromStr for Tz {
    type Err = UnknownZone;

    /// The zone named `name` in any case (`europe/paris` too).
    fn from_str(name: &str) -> Result<Tz, UnknownZone> {
        let rules = tzdb_data::find_tz(name.as_bytes()).ok_or(UnknownZone)?;
        // The list is in the order of the names in lower case.
        let at = tzdb_data::TZ_NAMES
            .binary_search_by(|n| lower_case(n).cmp(lower_case(name)))
            .map_err(|_| UnknownZone)?;
        Ok(Tz {
            name: tzdb_data::TZ_NAMES[at],
            rules,
        })
    }
}

fn lower_case(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|b| b.to_ascii_lowercase())
}

/// The offset in effect in a zone at some instant, with its abbreviation
/// (`CET`, `CEST`): what `%Z` writes.
#[derive(Clone, Copy)]
pub struct ZoneOffset {
    zone: Tz,
    kind: &'static LocalTimeType,
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        FixedOffset::east_opt(self.kind.ut_offset()).unwrap_or_else(|| Utc.fix())
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.time_zone_designation() {
            "" => write!(f, "{}", self.fix()),
            abbreviation => f.write_str(abbreviation),
        }
    }
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.zone.name, self, self.fix())
    }
}

impl TimeZone for Tz {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Tz {
        offset.zone
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset_at_unix(utc.and_utc().timestamp())
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    /// The instants whose wall clock reads `local`: none in a gap the
    /// clocks skip, two where they go back. Offsets stay under a day, and
    /// the rules never change twice within two days (a test checks every
    /// zone), so the offsets in effect a day before and a day after are the
    /// only candidates; each one holds if it is in effect at the instant it
    /// gives.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<ZoneOffset> {
        let wall = local.and_utc().timestamp();
        let mut found: [Option<(i64, ZoneOffset)>; 2] = [None, None];
        for (slot, probe) in found.iter_mut().zip([wall - DAY, wall + DAY]) {
            let offset = i64::from(self.kind_at(probe).ut_offset());
            let instant = wall - offset;
            let there = self.offset_at_unix(instant);
            if i64::from(there.kind.ut_offset()) == offset {
                *slot = Some((instant, there));
            }
        }
        match found {
            [Some((a, x)), Some((b, y))] if a != b => {
                if a < b {
                    LocalResult::Ambiguous(x, y)
                } else {
                    LocalResult::Ambiguous(y, x)
                }
            }
            [Some((_, x)), _] | [None, Some((_, x))] => LocalResult::Single(x),
            [None, None] => LocalResult::None,
        }
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }
}

/// The zone named `name` (an IANA name such as `Europe/Paris`, any case),
/// or an error naming it; `field` is the field the name came from.
pub fn parse_zone(field: &str, name: &str) -> Result<Tz, FieldError> {
    let name = name.trim();
    name.parse::<Tz>().map_err(|_| {
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
    tzdb_data::TZ_NAMES.iter().copied()
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
    fn every_name_reads_back_as_itself_in_any_case() {
        let names: Vec<&str> = zone_names().collect();
        assert!(names.len() > 500, "{} zones", names.len());
        for name in names {
            assert_eq!(name.parse::<Tz>().unwrap().name(), name);
            assert_eq!(name.to_lowercase().parse::<Tz>().unwrap().name(), name);
        }
        assert_eq!("utc".parse::<Tz>().unwrap(), Tz::UTC);
        assert_eq!("Europe/Nowhere".parse::<Tz>(), Err(UnknownZone));
    }

    #[test]
    fn every_zone_has_rules_for_any_plausible_instant() {
        // `kind_at` falls back to UTC only where the rules give nothing:
        // no zone may do that between 1900 and 2200.
        for name in zone_names() {
            let tz: Tz = name.parse().unwrap();
            for unix in [-2_208_988_800_i64, 0, 1_798_761_600, 4_102_444_800, 7_258_118_400] {
                assert!(tz.rules.find_local_time_type(unix).is_ok(), "{name} at {unix}");
            }
        }
    }

    #[test]
    fn the_rules_never_change_twice_within_two_days() {
        // What `offset_from_local_datetime` relies on, checked on every
        // zone over the rules written out (later years repeat a yearly rule).
        for name in zone_names() {
            let tz: Tz = name.parse().unwrap();
            let changes: Vec<i64> = tz
                .rules
                .transitions()
                .windows(2)
                .filter(|w| {
                    let types = tz.rules.local_time_types();
                    types[w[0].local_time_type_index()].ut_offset() != types[w[1].local_time_type_index()].ut_offset()
                })
                .map(|w| w[1].unix_leap_time())
                .collect();
            for pair in changes.windows(2) {
                assert!(
                    pair[1] - pair[0] >= 2 * DAY,
                    "{name}: changes at {} and {}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }

    #[test]
    fn southern_summer_far_future_and_far_past() {
        let sydney = parse_zone("tz", "Australia/Sydney").unwrap();
        // 4 October 2026: Sydney goes from 02:00 AEST to 03:00 AEDT.
        assert!(matches!(
            read_local("2026-10-04T02:30", sydney),
            Err(LocalTimeError::Skipped { .. })
        ));
        // 5 April 2026: back from 03:00 AEDT to 02:00 AEST.
        assert_eq!(
            read_local("2026-04-05T02:30", sydney).unwrap(),
            Reading::Repeated {
                first: utc("2026-04-04T15:30:00Z"),
                second: utc("2026-04-04T16:30:00Z"),
            }
        );
        assert_eq!(format_in(utc("2027-01-10T00:00:00Z"), sydney, "%H:%M %Z"), "11:00 AEDT");
        // Past the rules written out, the yearly rule goes on.
        assert_eq!(offset_at(utc("2100-07-01T12:00:00Z"), paris()), "+02:00");
        assert_eq!(offset_at(utc("2100-12-01T12:00:00Z"), paris()), "+01:00");
        // Before railway time, Paris kept its own mean time.
        let lmt = utc("1850-01-01T12:00:00Z").with_timezone(&paris());
        assert_eq!(lmt.offset().fix().local_minus_utc(), 561);
        // A zone whose abbreviations are numbers.
        let sao_paulo = parse_zone("tz", "America/Sao_Paulo").unwrap();
        assert_eq!(
            format_in(utc("2026-12-01T12:00:00Z"), sao_paulo, "%H:%M %Z"),
            "09:00 -03"
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
