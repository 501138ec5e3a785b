//! What templates can call: the value formatter, the `t()` strings lookup,
//! and the filters for dates in the page's language and time zone, numbers,
//! French typography, safe links and language names.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use gazette_core::local_time::Tz;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use super::{StaticFile, Strings};

/// Prints values, escaping strings for HTML and XML with the five entities
/// both need. minijinja's own HTML escaping also turns `/` into `&#x2f;`,
/// which is valid but makes every URL in a page, a feed or an `og:url` three
/// times longer and unreadable for the people who view the source.
pub(super) fn format_value(out: &mut minijinja::Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if *state.auto_escape() != minijinja::AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    let Some(s) = value.as_str() else {
        return minijinja::escape_formatter(out, state, value);
    };
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&s[last..i])?;
        out.write_str(entity)?;
        last = i + 1;
    }
    out.write_str(&s[last..])?;
    Ok(())
}

/// Filters and functions every template can use:
/// - `t("key", name=value…)`: the interface string `key` in the page's `lang`,
///   with `{name}` placeholders filled in;
/// - `asset("style.css")`: the URL of a static file, versioned by its content
///   so a new theme is seen at once despite caching;
/// - `value|date`, `value|date("%B %Y")`, `value|date(fmt, "fr")`: a date in
///   the page language (month and weekday names from the strings), in the
///   zone named by `time_zone` in the context (the admin's user's; UTC
///   elsewhere), `%Z` being that zone's abbreviation (`CET`, `CEST`);
/// - `value|rfc3339`: `2026-11-18T09:00:00Z`, for feeds and `<time datetime>`;
/// - `n|number`: an integer with the page language's digit grouping;
/// - `tag|language_name`: the language's own name (`fr` → `Français`);
/// - `link|safe_url`: the link, or nothing when it is not `http(s)` or local.
pub(super) fn register_helpers(
    env: &mut Environment<'static>,
    strings: &Arc<Strings>,
    statics: &HashMap<String, StaticFile>,
) {
    let s = Arc::clone(strings);
    env.add_function(
        "t",
        move |state: &State, key: &str, kwargs: Kwargs| -> Result<Value, Error> {
            let lang = page_lang(state);
            let Some(found) = lookup(&s, &lang, key) else {
                return Ok(Value::from(key));
            };
            let Some(text) = found.as_str() else {
                return Ok(Value::from(minijinja::value::Serde(found)));
            };
            let mut out = text.to_owned();
            for name in kwargs.args() {
                let v: Value = kwargs.get(name)?;
                out = out.replace(&format!("{{{name}}}"), &v.to_string());
            }
            Ok(Value::from(out))
        },
    );

    let versions: HashMap<String, String> = statics
        .iter()
        .map(|(p, f)| (p.clone(), f.etag.trim_matches('"').chars().take(10).collect()))
        .collect();
    env.add_function("asset", move |path: &str| -> String {
        match versions.get(path) {
            Some(v) => format!("/static/{path}?v={v}"),
            None => format!("/static/{path}"),
        }
    });

    let s = Arc::clone(strings);
    env.add_filter(
        "date",
        move |state: &State, value: &str, fmt: Option<&str>, lang: Option<&str>| -> Result<String, Error> {
            let t = parse_time(value)?.with_timezone(&page_zone(state));
            let lang = lang.map(str::to_owned).unwrap_or_else(|| page_lang(state));
            let default_fmt = lookup(&s, &lang, "date_format").and_then(|v| v.as_str().map(str::to_owned));
            let fmt = fmt
                .map(str::to_owned)
                .or(default_fmt)
                .unwrap_or_else(|| "%-d %B %Y".to_owned());
            format_date(t, &fmt, &lang, &s)
        },
    );
    env.add_filter("rfc3339", |value: &str| -> Result<String, Error> {
        Ok(parse_time(value)?.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    });
    let s = Arc::clone(strings);
    env.add_filter("number", move |state: &State, n: i64| -> String {
        let sep = lookup(&s, &page_lang(state), "thousands_sep")
            .and_then(|v| v.as_str())
            .unwrap_or(",")
            .to_owned();
        group_digits(n, &sep)
    });
    env.add_filter("language_name", |tag: &str| -> String { language_name(tag) });
    env.add_filter("typo", |text: &str, lang: &str| -> String { typography(text, lang) });
    env.add_filter("safe_url", safe_url);
}

/// `1234567` as `1,234,567` with `sep` between groups of three digits
/// (the page language's `thousands_sep`: a no-break space in French, a dot
/// in German).
pub(crate) fn group_digits(n: i64, sep: &str) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 8);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// `{{ link|safe_url }}`, around every value that becomes an `href`, a
/// `src` or a feed's `<uri>`: the link when it is an `http(s)` URL or a
/// path on this site, else an empty string. Links from other servers are
/// checked when they are stored; this also covers rows stored before that
/// and anything a future field forgets.
fn safe_url(value: Value) -> String {
    value
        .as_str()
        .and_then(gazette_core::links::page_link)
        .unwrap_or_default()
}

/// Micro-typography for display text (`{{ title|typo(lang) }}`): French puts
/// a no-break space before `:`, `;`, `!`, `?` and `»` and after `«`, so a
/// title never wraps with the punctuation alone at the start of a line.
/// Other languages are returned unchanged.
pub(crate) fn typography(text: &str, lang: &str) -> String {
    if lang.split('-').next() != Some("fr") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            (' ', Some(':' | '»')) => out.push('\u{A0}'),
            // The narrow no-break space is the typographers' choice before these.
            (' ', Some(';' | '!' | '?')) => out.push('\u{202F}'),
            ('«', Some(' ')) => {
                chars.next();
                out.push_str("«\u{A0}");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The page language templates are rendered in (`lang` in the context).
fn page_lang(state: &State) -> String {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "en".to_owned())
}

/// The zone dates are shown in (`time_zone` in the context), UTC when
/// there is none.
fn page_zone(state: &State) -> Tz {
    state
        .lookup("time_zone")
        .and_then(|v| v.as_str().and_then(|z| z.parse::<Tz>().ok()))
        .unwrap_or(Tz::UTC)
}

/// `key` in `lang`, then in its primary language, then in English.
pub(super) fn lookup<'a>(strings: &'a Strings, lang: &str, key: &str) -> Option<&'a serde_json::Value> {
    let primary = lang.split('-').next().unwrap_or(lang);
    [lang, primary, "en"]
        .into_iter()
        .find_map(|l| strings.get(l).and_then(|m| m.get(key)))
}

fn parse_time(value: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("`{value}` is not an RFC 3339 date: {e}"),
            )
        })
}

/// strftime-style formatting where `%B`, `%b`, `%A` and `%a` use the names in
/// the strings for `lang` (chrono only knows English), and `%-d` becomes the
/// language's `day_one` on the first of the month (French writes `1er`).
fn format_date(t: DateTime<Tz>, fmt: &str, lang: &str, strings: &Strings) -> Result<String, Error> {
    let name = |key: &str, index: usize| -> Option<String> {
        lookup(strings, lang, key)
            .and_then(|v| v.get(index))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let month = t.month0() as usize;
    let weekday = t.weekday().num_days_from_monday() as usize;
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::from("%");
        // Padding flags (`%-d`, `%_d`, `%0d`) belong to the specifier.
        if let Some(&flag) = chars.peek()
            && matches!(flag, '-' | '_' | '0')
        {
            spec.push(flag);
            chars.next();
        }
        let Some(conv) = chars.next() else {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("date format `{fmt}` ends with `%`"),
            ));
        };
        spec.push(conv);
        let localised = match spec.as_str() {
            "%B" => name("months", month),
            "%b" => name("months_short", month).or_else(|| name("months", month)),
            "%A" => name("weekdays", weekday),
            "%a" => name("weekdays_short", weekday).or_else(|| name("weekdays", weekday)),
            "%-d" | "%e" if t.day() == 1 => lookup(strings, lang, "day_one")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            _ => None,
        };
        match localised {
            Some(s) => out.push_str(&s),
            None => write!(out, "{}", t.format(&spec))
                .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("bad date format `{fmt}`")))?,
        }
    }
    Ok(out)
}

/// A language's name in that language, for language switches. Unknown tags
/// are shown as the tag itself, which is still meaningful to readers.
pub(crate) fn language_name(tag: &str) -> String {
    let (primary, region) = match tag.split_once('-') {
        Some((p, r)) => (p, Some(r)),
        None => (tag, None),
    };
    let name = match primary.to_ascii_lowercase().as_str() {
        "bg" => "Български",
        "ca" => "Català",
        "cs" => "Čeština",
        "cy" => "Cymraeg",
        "da" => "Dansk",
        "de" => "Deutsch",
        "el" => "Ελληνικά",
        "en" => "English",
        "eo" => "Esperanto",
        "es" => "Español",
        "et" => "Eesti",
        "eu" => "Euskara",
        "fi" => "Suomi",
        "fr" => "Français",
        "ga" => "Gaeilge",
        "gl" => "Galego",
        "hr" => "Hrvatski",
        "hu" => "Magyar",
        "is" => "Íslenska",
        "it" => "Italiano",
        "lb" => "Lëtzebuergesch",
        "lt" => "Lietuvių",
        "lv" => "Latviešu",
        "mt" => "Malti",
        "nb" => "Norsk bokmål",
        "nl" => "Nederlands",
        "nn" => "Norsk nynorsk",
        "no" => "Norsk",
        "pl" => "Polski",
        "pt" => "Português",
        "ro" => "Română",
        "ru" => "Русский",
        "sk" => "Slovenčina",
        "sl" => "Slovenščina",
        "sq" => "Shqip",
        "sr" => "Srpski",
        "sv" => "Svenska",
        "tr" => "Türkçe",
        "uk" => "Українська",
        "ar" => "العربية",
        _ => return tag.to_owned(),
    };
    match region {
        Some(r) => format!("{name} ({r})"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::Templates;

    #[test]
    fn dates_in_the_page_language() {
        let t = Templates::load(None).unwrap();
        let render = |src: &str, lang: &str| {
            t.env
                .render_str(src, minijinja::context! { lang => lang, d => "2026-03-01T09:30:00Z" })
                .unwrap()
        };
        assert_eq!(render("{{ d|date }}", "fr"), "1er mars 2026");
        assert_eq!(render("{{ d|date }}", "en"), "1 March 2026");
        assert_eq!(
            render("{{ d|date('%A %d %B %Y', 'fr') }}", "en"),
            "dimanche 01 mars 2026"
        );
        assert_eq!(render("{{ d|date('%Y-%m-%d') }}", "de"), "2026-03-01");
        assert_eq!(render("{{ d|date }}", "de"), "1. März 2026");
        assert_eq!(render("{{ d|rfc3339 }}", "en"), "2026-03-01T09:30:00Z");
        assert_eq!(
            render("{{ d|date('%Y-%m-%d %H:%M %Z') }}", "en"),
            "2026-03-01 09:30 UTC"
        );
        // In the context's zone: the day and month move with the time.
        let zoned = |src: &str, zone: &str, d: &str| {
            t.env
                .render_str(src, minijinja::context! { lang => "fr", time_zone => zone, d => d })
                .unwrap()
        };
        assert_eq!(
            zoned(
                "{{ d|date('%Y-%m-%d %H:%M %Z') }}",
                "Europe/Paris",
                "2026-07-14T07:30:00Z"
            ),
            "2026-07-14 09:30 CEST"
        );
        assert_eq!(
            zoned(
                "{{ d|date('%-d %B %Y %H:%M %Z') }}",
                "Europe/Paris",
                "2026-02-28T23:30:00Z"
            ),
            "1er mars 2026 00:30 CET"
        );
        assert_eq!(
            zoned("{{ d|rfc3339 }}", "Europe/Paris", "2026-02-28T23:30:00Z"),
            "2026-02-28T23:30:00Z"
        );
        assert!(
            t.env
                .render_str("{{ d|date('%') }}", minijinja::context! { d => "2026-03-01T09:30:00Z" })
                .is_err()
        );
        assert!(t.env.render_str("{{ 'x'|date }}", minijinja::context! {}).is_err());
    }

    #[test]
    fn numbers_are_grouped_per_language() {
        let t = Templates::load(None).unwrap();
        let render = |lang: &str| {
            t.env
                .render_str(
                    "{{ 1234567|number }} {{ 12|number }}",
                    minijinja::context! { lang => lang },
                )
                .unwrap()
        };
        assert_eq!(render("en"), "1,234,567 12");
        assert_eq!(render("de"), "1.234.567 12");
        assert_eq!(render("fr"), "1\u{202F}234\u{202F}567 12");
        assert_eq!(group_digits(-1000, ","), "-1,000");
    }

    #[test]
    fn french_typography() {
        assert_eq!(
            typography("Delcourt : « Oui ! »", "fr-BE"),
            "Delcourt\u{A0}: «\u{A0}Oui\u{202F}!\u{A0}»"
        );
        assert_eq!(typography("Why? Because: yes", "en"), "Why? Because: yes");
    }

    #[test]
    fn language_names() {
        assert_eq!(language_name("fr"), "Français");
        assert_eq!(language_name("pt-BR"), "Português (BR)");
        assert_eq!(language_name("xx"), "xx");
    }
}
