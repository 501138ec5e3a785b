//! Validated BCP 47 language tags and ISO 3166 country codes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::iso_codes::{COUNTRIES, LANGUAGES};

/// A BCP 47 language tag restricted to what articles need: an ISO 639-1
/// language, an optional script and an optional region (`fr`, `pt-BR`,
/// `sr-Latn-RS`). Stored in canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples("fr", "pt-BR")))]
pub struct Language(String);

impl Language {
    /// Parses and canonicalises a tag; the error says what is wrong with it.
    pub fn parse(tag: &str) -> Result<Self, String> {
        let tag = tag.trim();
        if tag.is_empty() {
            return Err("language tag is empty".into());
        }
        let mut parts = tag.split(['-', '_']);
        let primary = parts.next().unwrap_or_default().to_ascii_lowercase();
        if !LANGUAGES.contains(&primary.as_str()) {
            return Err(format!(
                "unknown language tag `{tag}` (expected an ISO 639-1 code such as `fr` or `en`)"
            ));
        }
        let mut out = primary;
        let mut seen_region = false;
        let mut seen_script = false;
        for part in parts {
            let is_alpha = part.chars().all(|c| c.is_ascii_alphabetic());
            if part.len() == 4 && is_alpha && !seen_script && !seen_region {
                seen_script = true;
                let mut s = part.to_ascii_lowercase();
                s[..1].make_ascii_uppercase();
                out.push('-');
                out.push_str(&s);
            } else if part.len() == 2 && is_alpha && !seen_region {
                let region = part.to_ascii_uppercase();
                if !COUNTRIES.contains(&region.as_str()) {
                    return Err(format!("unknown region `{part}` in language tag `{tag}`"));
                }
                seen_region = true;
                out.push('-');
                out.push_str(&region);
            } else if part.len() == 3 && part.chars().all(|c| c.is_ascii_digit()) && !seen_region {
                seen_region = true;
                out.push('-');
                out.push_str(part);
            } else {
                return Err(format!("unsupported subtag `{part}` in language tag `{tag}`"));
            }
        }
        Ok(Language(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ISO 639-1 part, e.g. `pt` for `pt-BR`.
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// Picks the best of `available` for an HTTP `Accept-Language` header,
    /// honouring q-values; `None` when nothing matches.
    pub fn negotiate<'a>(header: &str, available: &'a [Language]) -> Option<&'a Language> {
        let mut ranges: Vec<(f32, usize, String)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut it = item.split(';');
                let range = it.next()?.trim().to_ascii_lowercase();
                if range.is_empty() {
                    return None;
                }
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok()))
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, range))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, _, range) in &ranges {
            if range == "*" {
                return available.first();
            }
            if let Some(l) = available.iter().find(|l| l.0.to_ascii_lowercase() == *range) {
                return Some(l);
            }
            let primary = range.split('-').next().unwrap_or(range);
            if let Some(l) = available.iter().find(|l| l.primary() == primary) {
                return Some(l);
            }
        }
        None
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Language {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Language::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(examples("FR")))]
pub struct Country(String);

impl Country {
    pub fn parse(code: &str) -> Result<Self, String> {
        let up = code.trim().to_ascii_uppercase();
        if COUNTRIES.contains(&up.as_str()) {
            Ok(Country(up))
        } else {
            Err(format!(
                "unknown country `{code}` (expected an ISO 3166-1 alpha-2 code such as `FR`)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalises_tags() {
        assert_eq!(Language::parse("FR").map(|l| l.0), Ok("fr".into()));
        assert_eq!(Language::parse("pt_br").map(|l| l.0), Ok("pt-BR".into()));
        assert_eq!(Language::parse("sr-latn-rs").map(|l| l.0), Ok("sr-Latn-RS".into()));
    }

    #[test]
    fn refuses_unknown_tags() {
        assert!(Language::parse("xx").unwrap_err().contains("unknown language tag"));
        assert!(Language::parse("fr-ZZ").unwrap_err().contains("unknown region"));
        assert!(Language::parse("").is_err());
        assert!(Language::parse("english").is_err());
    }

    #[test]
    fn negotiates_accept_language() {
        let avail = [Language::parse("fr").unwrap(), Language::parse("en").unwrap()];
        let pick = |h| Language::negotiate(h, &avail).map(|l| l.as_str().to_owned());
        assert_eq!(pick("en-GB,en;q=0.9,fr;q=0.8"), Some("en".into()));
        assert_eq!(pick("de, fr;q=0.5"), Some("fr".into()));
        assert_eq!(pick("fr;q=0.2, en;q=0.9"), Some("en".into()));
        assert_eq!(pick("de"), None);
        assert_eq!(pick("en;q=0"), None);
    }

    #[test]
    fn countries() {
        assert_eq!(Country::parse("be").map(|c| c.0), Ok("BE".into()));
        assert!(Country::parse("XX").is_err());
    }
}
