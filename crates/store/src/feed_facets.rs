//! Facet counts of the network coordinator's shared feed: for each filter
//! (language, country, kind, sector, legal form, organisation), how many
//! visible items each value would show, given every *other* filter in
//! effect (so a reader sees what choosing another value of the same facet
//! would give). Two grouped scans of the visible items, summed per facet
//! over the members' profiles (see [`Store::network_feed_facets`]); the same
//! SQL on SQLite and PostgreSQL but for the search condition (see
//! [`dialect::feed_search`]).

use std::collections::{BTreeMap, HashMap};

use gazette_core::{FeedFilter, Member, MemberStatus};
use sqlx::Row;

use crate::Store;
use crate::dialect;
use crate::error::StoreResult;
use crate::sql::Sql;

/// One value of a facet and the number of items it would show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    /// The value as the filter takes it (`fr`, `BE`, `org@host`).
    pub value: String,
    /// What to show for it when the value alone says little (a member's name).
    pub label: Option<String>,
    pub count: i64,
}

/// The counts of every facet, each sorted by count (largest first), then value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFacets {
    pub language: Vec<FacetCount>,
    pub country: Vec<FacetCount>,
    pub kind: Vec<FacetCount>,
    pub sector: Vec<FacetCount>,
    pub legal_form: Vec<FacetCount>,
    pub organisation: Vec<FacetCount>,
}

impl Store {
    /// The facet counts of the visible feed under `filter` (see the module
    /// documentation); values without items are left out.
    ///
    /// Two grouped scans rather than one per facet: the visible items
    /// counted by (member, kind), and by (member, kind, language), each
    /// under the filters that are not about members (search, tag, and the
    /// language for the first). Country, legal form, sector and
    /// organisation are the member's, so their counts, and the kind's and
    /// language's under them, are sums over the approved members' rows.
    pub async fn network_feed_facets(&self, filter: &FeedFilter) -> StoreResult<FeedFacets> {
        // Independent reads, on two connections of the pool at once.
        let (members, by_kind, by_language) = tokio::try_join!(
            self.list_members(Some(MemberStatus::Approved)),
            self.grouped_counts(filter, false),
            self.grouped_counts(filter, true)
        )?;
        let members: HashMap<String, Member> = members.into_iter().map(|m| (m.actor.clone(), m)).collect();
        let wanted_org = filter
            .organisation
            .as_deref()
            .map(|o| o.trim_start_matches('@').to_lowercase());
        // Whether a row passes every filter but the facet `skip`'s own.
        let passes = |m: &Member, kind: Option<&str>, skip: &str| -> bool {
            let p = &m.profile;
            (skip == "country" || filter.country.is_none() || p.country == filter.country)
                && (skip == "legal_form" || filter.legal_form.is_none() || p.legal_form == filter.legal_form)
                && (skip == "sector" || filter.sector.as_ref().is_none_or(|s| p.sectors.contains(s)))
                && (skip == "organisation" || wanted_org.as_ref().is_none_or(|o| m.handle.to_lowercase() == *o))
                && (skip == "kind" || filter.kind.is_none() || filter.kind.as_deref() == kind)
        };
        let mut tallies: [BTreeMap<String, (Option<String>, i64)>; 6] = Default::default();
        let [language, country, kind, sector, legal_form, organisation] = &mut tallies;
        let add = |into: &mut BTreeMap<String, (Option<String>, i64)>, value: &str, label: Option<&str>, n: i64| {
            let e = into
                .entry(value.to_owned())
                .or_insert_with(|| (label.map(str::to_owned), 0));
            e.1 += n;
        };
        for row in &by_kind {
            let Some(m) = members.get(&row.member) else { continue };
            let k = row.kind.as_deref();
            if let Some(c) = &m.profile.country
                && passes(m, k, "country")
            {
                add(country, c, None, row.count);
            }
            if let Some(f) = &m.profile.legal_form
                && passes(m, k, "legal_form")
            {
                add(legal_form, f, None, row.count);
            }
            if passes(m, k, "sector") {
                for s in &m.profile.sectors {
                    add(sector, s, None, row.count);
                }
            }
            if passes(m, k, "organisation") {
                add(organisation, &m.handle.to_lowercase(), Some(&m.profile.name), row.count);
            }
            if let Some(k) = k
                && passes(m, Some(k), "kind")
            {
                add(kind, k, None, row.count);
            }
        }
        for row in &by_language {
            let Some(m) = members.get(&row.member) else { continue };
            if let Some(l) = &row.language
                && passes(m, row.kind.as_deref(), "language")
            {
                add(language, l, None, row.count);
            }
        }
        let [language, country, kind, sector, legal_form, organisation] = tallies.map(sorted);
        Ok(FeedFacets {
            language,
            country,
            kind,
            sector,
            legal_form,
            organisation,
        })
    }

    /// Visible items counted by member and kind (and language, when
    /// `by_language`), under the search, the tag and (when not grouping by
    /// it) the language filter.
    async fn grouped_counts(&self, filter: &FeedFilter, by_language: bool) -> StoreResult<Vec<CountRow>> {
        let mut conditions = vec!["i.hidden = 0".to_owned(), "i.deleted_at IS NULL".to_owned()];
        let mut query = Sql::default();
        if let Some(q) = filter
            .q
            .as_deref()
            .and_then(|q| dialect::feed_search_query(self.backend, q))
        {
            let p = query.param(q);
            conditions.push(dialect::feed_search(self.backend).condition.replace("$q", &p));
        }
        if let Some(v) = &filter.tag {
            let p = query.param(v.as_str());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM network_item_tags x WHERE x.item = i.id AND x.tag = {p})"
            ));
        }
        let sql = if by_language {
            format!(
                "SELECT i.member AS member, i.kind AS kind, g.language AS language, COUNT(*) AS n
                 FROM network_item_languages g JOIN network_items i ON i.id = g.item
                 WHERE {} GROUP BY i.member, i.kind, g.language",
                conditions.join(" AND ")
            )
        } else {
            if let Some(v) = &filter.language {
                let p = query.param(v.as_str());
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM network_item_languages x WHERE x.item = i.id AND x.language = {p})"
                ));
            }
            format!(
                "SELECT i.member AS member, i.kind AS kind, NULL AS language, COUNT(*) AS n
                 FROM network_items i WHERE {} GROUP BY i.member, i.kind",
                conditions.join(" AND ")
            )
        };
        query.push(&sql);
        let mut out = Vec::new();
        for r in query.fetch_all(&self.pool).await? {
            out.push(CountRow {
                member: r.try_get("member")?,
                kind: r.try_get("kind")?,
                language: r.try_get("language")?,
                count: r.try_get("n")?,
            });
        }
        Ok(out)
    }
}

struct CountRow {
    member: String,
    kind: Option<String>,
    language: Option<String>,
    count: i64,
}

/// A facet's tally, largest count first, then by value.
fn sorted(tally: BTreeMap<String, (Option<String>, i64)>) -> Vec<FacetCount> {
    let mut out: Vec<FacetCount> = tally
        .into_iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(value, (label, count))| FacetCount { value, label, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out
}
