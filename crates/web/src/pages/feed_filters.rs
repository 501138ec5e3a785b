//! The shared feed's filter bar as the page shows it: each facet (language,
//! country, kind, sector, legal form, organisation) with its values and
//! their counts (from [`gazette_store::FeedFacets`]), and the filters in
//! effect as chips, each a link to the same view without it. Works without
//! JavaScript: the bar is a plain `GET` form, the chips plain links.

use gazette_core::FeedFilter;
use gazette_store::{FacetCount, FeedFacets};
use serde::Serialize;

use super::shared_feed::{filter_query, with_query};
use crate::templates::{Templates, language_name};

/// One value of a facet, as an `<option>`.
#[derive(Debug, Serialize)]
pub(crate) struct FacetOption {
    value: String,
    label: String,
    count: i64,
    selected: bool,
}

/// One facet: its parameter, its label and its values.
#[derive(Debug, Serialize)]
pub(crate) struct FacetView {
    /// The query parameter (`language`, `legal_form`…), also the field id.
    name: &'static str,
    label: String,
    options: Vec<FacetOption>,
}

/// A filter in effect, with the link that removes it.
#[derive(Debug, Serialize)]
pub(crate) struct Chip {
    label: String,
    value: String,
    remove: String,
}

/// How a facet's value reads in `lang`.
fn value_label(t: &Templates, lang: &str, facet: &str, value: &str, stored: Option<&str>) -> String {
    match facet {
        "language" => language_name(value),
        "kind" => t.text(lang, &format!("kind_{value}")),
        "legal_form" => t
            .text_opt(lang, &format!("legal_form_{value}"))
            .unwrap_or_else(|| value.to_owned()),
        "organisation" => stored.map_or_else(|| value.to_owned(), str::to_owned),
        _ => value.to_owned(),
    }
}

fn current<'a>(filter: &'a FeedFilter, facet: &str) -> Option<&'a String> {
    match facet {
        "language" => filter.language.as_ref(),
        "country" => filter.country.as_ref(),
        "kind" => filter.kind.as_ref(),
        "sector" => filter.sector.as_ref(),
        "legal_form" => filter.legal_form.as_ref(),
        "organisation" => filter.organisation.as_ref(),
        "tag" => filter.tag.as_ref(),
        "q" => filter.q.as_ref(),
        _ => None,
    }
}

fn without(filter: &FeedFilter, facet: &str) -> FeedFilter {
    let mut f = filter.clone();
    let slot = match facet {
        "language" => &mut f.language,
        "country" => &mut f.country,
        "kind" => &mut f.kind,
        "sector" => &mut f.sector,
        "legal_form" => &mut f.legal_form,
        "organisation" => &mut f.organisation,
        "tag" => &mut f.tag,
        _ => &mut f.q,
    };
    *slot = None;
    f
}

/// The facets in the bar's order, labelled in `lang`. A value in effect
/// that no item has any more is still listed (with 0), so the form shows
/// the filter the reader chose.
pub(crate) fn facet_views(t: &Templates, lang: &str, facets: FeedFacets, filter: &FeedFilter) -> Vec<FacetView> {
    let FeedFacets {
        language,
        country,
        kind,
        sector,
        legal_form,
        organisation,
    } = facets;
    [
        ("language", "filter_language", language),
        ("country", "filter_country", country),
        ("kind", "filter_kind", kind),
        ("sector", "filter_sector", sector),
        ("legal_form", "filter_legal_form", legal_form),
        ("organisation", "filter_organisation", organisation),
    ]
    .into_iter()
    .map(|(name, key, counts)| {
        let chosen = current(filter, name);
        let mut counts: Vec<FacetCount> = counts;
        if let Some(v) = chosen
            && !counts.iter().any(|c| &c.value == v)
        {
            counts.push(FacetCount {
                value: v.clone(),
                label: None,
                count: 0,
            });
        }
        FacetView {
            name,
            label: t.text(lang, key),
            options: counts
                .into_iter()
                .map(|c| FacetOption {
                    label: value_label(t, lang, name, &c.value, c.label.as_deref()),
                    selected: chosen == Some(&c.value),
                    value: c.value,
                    count: c.count,
                })
                .collect(),
        }
    })
    .collect()
}

/// The filters in effect as chips; each removes its filter (and the page
/// position) from the view at `path`. Organisation chips show the member's
/// name from `facets`.
pub(crate) fn chips(t: &Templates, lang: &str, path: &str, filter: &FeedFilter, facets: &[FacetView]) -> Vec<Chip> {
    [
        ("q", "search"),
        ("language", "filter_language"),
        ("country", "filter_country"),
        ("kind", "filter_kind"),
        ("sector", "filter_sector"),
        ("legal_form", "filter_legal_form"),
        ("organisation", "filter_organisation"),
        ("tag", "filter_tag"),
    ]
    .into_iter()
    .filter_map(|(name, key)| {
        let v = current(filter, name)?;
        let shown = facets
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.options.iter().find(|o| &o.value == v))
            .map_or_else(
                || if name == "tag" { format!("#{v}") } else { v.clone() },
                |o| o.label.clone(),
            );
        Some(Chip {
            label: t.text(lang, key),
            value: shown,
            remove: with_query(path, &filter_query(&without(filter, name)), ""),
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chips_remove_one_filter_each() {
        let t = Templates::load(None).unwrap();
        let filter = FeedFilter {
            country: Some("BE".into()),
            kind: Some("news".into()),
            ..Default::default()
        };
        let facets = FeedFacets {
            kind: vec![FacetCount {
                value: "news".into(),
                label: None,
                count: 3,
            }],
            ..Default::default()
        };
        let views = facet_views(&t, "fr", facets, &filter);
        // The chosen country no item has any more is still an option.
        let country = views.iter().find(|f| f.name == "country").unwrap();
        assert!(country.options[0].selected && country.options[0].count == 0);
        let c = chips(&t, "fr", "/network/feed", &filter, &views);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].remove, "/network/feed?kind=news");
        assert_eq!(c[1].remove, "/network/feed?country=BE");
        assert_eq!(c[1].value, "Actualité");
    }
}
