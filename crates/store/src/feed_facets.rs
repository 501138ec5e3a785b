//! Facet counts of the network coordinator's shared feed: for each filter
//! (language, country, kind, sector, legal form, organisation), how many
//! visible items each value would show, given every *other* filter in
//! effect (so a reader sees what choosing another value of the same facet
//! would give). One `GROUP BY` per facet, the same SQL on SQLite and
//! PostgreSQL but for the search condition (see [`dialect::feed_search`]).

use gazette_core::FeedFilter;
use sqlx::Row;

use crate::Store;
use crate::dialect;
use crate::error::StoreResult;

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

/// The facets, named as the filter's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Language,
    Country,
    Kind,
    Sector,
    LegalForm,
    Organisation,
}

impl Facet {
    /// The extra join, the grouped value and label for this facet's query.
    fn grouping(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Facet::Language => ("JOIN network_item_languages g ON g.item = i.id", "g.language", "NULL"),
            Facet::Country => ("", "m.country", "NULL"),
            Facet::Kind => ("", "i.kind", "NULL"),
            Facet::Sector => (
                "JOIN network_member_sectors g ON g.member = i.member",
                "g.sector",
                "NULL",
            ),
            Facet::LegalForm => ("", "m.legal_form", "NULL"),
            Facet::Organisation => ("", "LOWER(m.handle)", "MIN(m.name)"),
        }
    }
}

impl Store {
    /// The facet counts of the visible feed under `filter` (see the module
    /// documentation); values without items are left out.
    pub async fn network_feed_facets(&self, filter: &FeedFilter) -> StoreResult<FeedFacets> {
        Ok(FeedFacets {
            language: self.facet(filter, Facet::Language).await?,
            country: self.facet(filter, Facet::Country).await?,
            kind: self.facet(filter, Facet::Kind).await?,
            sector: self.facet(filter, Facet::Sector).await?,
            legal_form: self.facet(filter, Facet::LegalForm).await?,
            organisation: self.facet(filter, Facet::Organisation).await?,
        })
    }

    async fn facet(&self, filter: &FeedFilter, facet: Facet) -> StoreResult<Vec<FacetCount>> {
        let mut conditions = vec![
            "i.hidden = 0".to_owned(),
            "i.deleted_at IS NULL".to_owned(),
            "m.status = 'approved'".to_owned(),
        ];
        let mut binds: Vec<String> = Vec::new();
        let mut param = |v: String| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some(q) = filter
            .q
            .as_deref()
            .and_then(|q| dialect::feed_search_query(self.backend, q))
        {
            let p = param(q);
            conditions.push(dialect::feed_search(self.backend).condition.replace("$q", &p));
        }
        if let Some(v) = &filter.tag {
            let p = param(v.clone());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM network_item_tags x WHERE x.item = i.id AND x.tag = {p})"
            ));
        }
        if let Some(v) = filter.language.as_ref().filter(|_| facet != Facet::Language) {
            let p = param(v.clone());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM network_item_languages x WHERE x.item = i.id AND x.language = {p})"
            ));
        }
        if let Some(v) = filter.sector.as_ref().filter(|_| facet != Facet::Sector) {
            let p = param(v.clone());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM network_member_sectors s WHERE s.member = i.member AND s.sector = {p})"
            ));
        }
        for (value, column, own) in [
            (&filter.country, "m.country", Facet::Country),
            (&filter.legal_form, "m.legal_form", Facet::LegalForm),
            (&filter.kind, "i.kind", Facet::Kind),
        ] {
            if let Some(v) = value.as_ref().filter(|_| facet != own) {
                let p = param(v.clone());
                conditions.push(format!("{column} = {p}"));
            }
        }
        if let Some(v) = filter.organisation.as_ref().filter(|_| facet != Facet::Organisation) {
            let p = param(v.trim_start_matches('@').to_lowercase());
            conditions.push(format!("LOWER(m.handle) = {p}"));
        }
        let (join, value, label) = facet.grouping();
        conditions.push(format!("{value} IS NOT NULL"));
        let sql = format!(
            "SELECT {value} AS v, {label} AS l, COUNT(*) AS n
             FROM network_items i JOIN network_members m ON m.actor = i.member {join}
             WHERE {}
             GROUP BY {value} ORDER BY n DESC, v",
            conditions.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        let mut out = Vec::new();
        for r in q.fetch_all(&self.pool).await? {
            out.push(FacetCount {
                value: r.try_get("v")?,
                label: r.try_get("l")?,
                count: r.try_get("n")?,
            });
        }
        Ok(out)
    }
}
