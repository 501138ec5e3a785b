//! The shared feed of the network coordinator: member articles written in
//! order (an older edit never replaces a newer one, a deletion is kept as a
//! tombstone so a late `Create` cannot bring the article back), hidden by
//! moderators without being lost, read newest first with filters, cursor
//! pagination and full-text search.

use std::collections::HashMap;

use gazette_core::{FeedCursor, FeedFilter, NetworkItem};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::dialect;
use crate::error::{StoreError, StoreResult};
use crate::sql::Sql;
use crate::time::{from_db, now, to_db};

/// What writing an item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemWrite {
    /// A new article in the feed.
    Inserted,
    /// A newer (or the same) version replaced the stored one.
    Updated,
    /// The stored version is newer: nothing changed.
    Stale,
    /// The article was deleted at its origin: nothing changed.
    Deleted,
    /// The id belongs to another member: nothing changed.
    OtherMember,
}

/// Whether writing a member article also records the network actor's
/// `Announce` of it (its id given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boost<'a> {
    /// Never (an article read from the member's outbox).
    Never,
    /// Only when the article is new to the feed (an edit).
    IfNew(&'a str),
    /// When the feed has not boosted it yet and a moderator has not hidden
    /// it, even when it was stored before (a publication that a backfill
    /// stored first).
    IfNotYet(&'a str),
}

/// A feed item with its member, as readers see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeedEntry {
    pub item: NetworkItem,
    pub member_name: String,
    /// `name@host`.
    pub member_handle: String,
    pub member_url: Option<String>,
    pub member_logo: Option<String>,
    pub country: Option<String>,
    pub legal_form: Option<String>,
    /// With a search: the title and an excerpt, matches between
    /// `MATCH_START` and `MATCH_END` (plain text otherwise).
    pub title_highlighted: Option<String>,
    pub snippet: Option<String>,
}

/// One page of the feed and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub entries: Vec<FeedEntry>,
    pub next: Option<FeedCursor>,
}

/// Why the stored `row` of an item keeps `item` from replacing it: another
/// member's id, a deletion, or a newer version. `None`: it may replace it.
fn refusal(row: &AnyRow, item: &NetworkItem) -> StoreResult<Option<ItemWrite>> {
    let member: String = row.try_get("member")?;
    let updated_at: i64 = row.try_get("updated_at")?;
    let deleted_at: Option<i64> = row.try_get("deleted_at")?;
    Ok(if member != item.member {
        Some(ItemWrite::OtherMember)
    } else if deleted_at.is_some() {
        Some(ItemWrite::Deleted)
    } else if updated_at > to_db(item.updated_at) {
        Some(ItemWrite::Stale)
    } else {
        None
    })
}

/// Binds an item's 17 columns, in the order of the feed's INSERTs (`id` …
/// `announce_id`, see [`dialect::upsert_network_item`]), with its search
/// text, the time it was received and, on SQLite, the key of its row in
/// the full-text index (see [`Store::next_fts_rowid`]).
fn bind_item<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    item: &'q NetworkItem,
    text: &'q str,
    received: i64,
    fts_rowid: Option<i64>,
    announce: Option<&'q str>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&item.id)
        .bind(&item.member)
        .bind(&item.attributed_to)
        .bind(&item.url)
        .bind(&item.kind)
        .bind(&item.language)
        .bind(&item.title)
        .bind(&item.summary_html)
        .bind(&item.content_html)
        .bind(text)
        .bind(&item.image_url)
        .bind(&item.image_alt)
        .bind(to_db(item.published_at))
        .bind(to_db(item.updated_at))
        .bind(received)
        .bind(fts_rowid)
        .bind(announce)
}

/// `item`'s row for [`Store::insert_new_items_json`] (PostgreSQL): its
/// columns, its search text (`text`, [`NetworkItem::search_text`]) and
/// vector, the id of the `Announce` it is stored with, its tags and
/// languages, as one JSON object.
pub(crate) fn new_item_json(item: &NetworkItem, text: &str, announce: Option<&str>) -> String {
    serde_json::json!({
        "id": item.id,
        "member": item.member,
        "attributed_to": item.attributed_to,
        "url": item.url,
        "kind": item.kind,
        "language": item.language,
        "title": item.title,
        "summary_html": item.summary_html,
        "content_html": item.content_html,
        "search": dialect::feed_search_vector(&item.title, text),
        "search_text": text,
        "image_url": item.image_url,
        "image_alt": item.image_alt,
        "published_at": to_db(item.published_at),
        "updated_at": to_db(item.updated_at),
        "announce_id": announce,
        "tags": item.tags,
        "languages": item.languages,
    })
    .to_string()
}

/// Parameters of one item in [`Store::insert_new_items`]' INSERT, and the
/// most in one statement (SQLite allows 32,766).
const ITEM_PARAMS: usize = 17;
const MAX_PARAMS: usize = 30_000;

/// Items per transaction when [`Store::fill_feed_search_vectors`] catches up.
const FILL_BATCH: i64 = 500;

const ITEM_COLUMNS: &str = "i.id, i.member, i.attributed_to, i.url, i.kind, i.language, i.title, i.summary_html, \
     i.content_html, i.image_url, i.image_alt, i.published_at, i.updated_at";

impl Store {
    /// Writes a member article: inserts it, or replaces the stored version
    /// unless that one is newer, was deleted, or belongs to another member.
    /// Tags, languages and the search index change in the same transaction.
    pub async fn upsert_network_item(&self, item: &NetworkItem) -> StoreResult<ItemWrite> {
        Ok(self.upsert_network_item_boosting(item, Boost::Never).await?.0)
    }

    /// [`Store::upsert_network_item`] that also records the network
    /// actor's `Announce` of the item when `boost` says it is due, in the
    /// same transaction. Articles written at the same time share one
    /// transaction (see [`crate::group_commit`]). Returns what the write did
    /// and whether the boost was recorded (the caller then sends it).
    pub async fn upsert_network_item_boosting(
        &self,
        item: &NetworkItem,
        boost: Boost<'_>,
    ) -> StoreResult<(ItemWrite, bool)> {
        self.write_item_grouped(item, boost).await
    }

    /// Writes `items` (with the `Announce` id each gets) in a few
    /// statements when they are all new to the feed and distinct (SQLite,
    /// under its one writer's transaction `tx`): the usual
    /// batch of a busy inbox, whose statements would otherwise each wait
    /// their turn on the writing connection. `false`, with nothing written,
    /// when one is stored already (or twice in `items`): the caller writes
    /// them one by one, with their checks.
    pub(crate) async fn insert_new_items(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        items: &[(&NetworkItem, &str, Option<&str>)],
    ) -> StoreResult<bool> {
        let mut ids = std::collections::HashSet::with_capacity(items.len());
        if items.len() < 2 || !items.iter().all(|(item, _, _)| ids.insert(item.id.as_str())) {
            return Ok(false);
        }
        let tagged: usize = items.iter().map(|(i, _, _)| i.tags.len() + i.languages.len()).sum();
        if items.len() * ITEM_PARAMS > MAX_PARAMS || tagged * 3 > MAX_PARAMS {
            return Ok(false);
        }
        // Whether any is stored already, and the first full-text key free:
        // one question to the writer's thread, as the writes below are one.
        // Plain `?` placeholders, numbered by their order: sqlx looks each
        // numbered one up by name, a cost that grows with the square of
        // their count.
        let mut check = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM network_items WHERE id IN ({})) AS stored,
                    (SELECT COALESCE(MAX(fts_rowid), 0) + 1 FROM network_items) AS next",
            vec!["?"; items.len()].join(", ")
        )))
        .persistent(false);
        for (item, _, _) in items {
            check = check.bind(item.id.as_str());
        }
        let row = check.fetch_one(&mut **tx).await?;
        if row.try_get::<i64, _>("stored")? != 0 {
            return Ok(false);
        }
        let first: i64 = row.try_get("next")?;
        // The items, their tags and their languages: three statements sent
        // at once, their values bound in order, the bodies borrowed.
        let row = format!("({})", vec!["?"; ITEM_PARAMS].join(", "));
        let mut sql = format!(
            "INSERT INTO network_items (id, member, attributed_to, url, kind, language, title, summary_html,
                content_html, search_text, image_url, image_alt, published_at, updated_at, received_at,
                fts_rowid, announce_id) VALUES {}",
            vec![row; items.len()].join(", ")
        );
        let tags: Vec<(&NetworkItem, &String)> = items
            .iter()
            .flat_map(|(item, _, _)| item.tags.iter().map(move |t| (*item, t)))
            .collect();
        let languages: Vec<(&NetworkItem, &String)> = items
            .iter()
            .flat_map(|(item, _, _)| item.languages.iter().map(move |l| (*item, l)))
            .collect();
        for (table, column, values) in [
            ("network_item_tags", "tag", &tags),
            ("network_item_languages", "language", &languages),
        ] {
            if !values.is_empty() {
                sql.push_str(&format!(
                    ";\nINSERT INTO {table} (item, {column}, published_at) VALUES {} ON CONFLICT DO NOTHING",
                    vec!["(?, ?, ?)"; values.len()].join(", ")
                ));
            }
        }
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        let received = to_db(now());
        for ((item, text, announce), rowid) in items.iter().zip(first..) {
            insert = bind_item(insert, item, text, received, Some(rowid), *announce);
        }
        for (item, value) in tags.iter().chain(&languages) {
            insert = insert
                .bind(item.id.as_str())
                .bind(value.as_str())
                .bind(to_db(item.published_at));
        }
        insert.execute(&mut **tx).await?;
        Ok(true)
    }

    /// Writes those of `items` that the feed does not have yet, in one
    /// statement (PostgreSQL, see [`dialect::insert_new_network_items_json`]),
    /// inside `tx`. Each item comes as its id and its row in JSON
    /// ([`new_item_json`], made by the writer's own task rather than by the
    /// one committing for everyone). Returns the ids written: the others,
    /// stored already (or twice in `items`: only the first is tried), are
    /// the caller's to write one by one, with their checks. Nothing is
    /// written on SQLite (an empty set).
    pub(crate) async fn insert_new_items_json(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        items: &[(&str, &str)],
    ) -> StoreResult<std::collections::HashSet<String>> {
        let mut written = std::collections::HashSet::new();
        let Some(sql) = dialect::insert_new_network_items_json(self.backend) else {
            return Ok(written);
        };
        let mut tried = std::collections::HashSet::with_capacity(items.len());
        let mut rows = String::with_capacity(items.iter().map(|(_, row)| row.len() + 1).sum::<usize>() + 2);
        // In the order of their ids, so that two batches written at once
        // that share an article (a redelivery) take its lock in the same
        // order as the others' and wait for each other rather than deadlock.
        let mut sorted = items.to_vec();
        sorted.sort_unstable_by_key(|(id, _)| *id);
        rows.push('[');
        for (id, row) in sorted {
            if tried.insert(id) {
                if rows.len() > 1 {
                    rows.push(',');
                }
                rows.push_str(row);
            }
        }
        rows.push(']');
        if tried.is_empty() {
            return Ok(written);
        }
        let inserted = sqlx::query(sql)
            .bind(rows)
            .bind(to_db(now()))
            .fetch_all(&mut **tx)
            .await?;
        for row in inserted {
            written.insert(row.try_get::<String, _>("id")?);
        }
        Ok(written)
    }

    /// One article's write and boost inside the transaction `tx`; `text`
    /// is its [`NetworkItem::search_text`], made by the caller.
    pub(crate) async fn write_item_boosting(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        item: &NetworkItem,
        text: &str,
        boost: Boost<'_>,
    ) -> StoreResult<(ItemWrite, bool)> {
        let on_insert = match boost {
            Boost::Never => None,
            Boost::IfNew(id) | Boost::IfNotYet(id) => Some(id),
        };
        let write = self.write_network_item(tx, item, text, on_insert).await?;
        let boosted = match (boost, write) {
            (Boost::Never, _) => false,
            (_, ItemWrite::Inserted) => true,
            (Boost::IfNotYet(id), ItemWrite::Updated | ItemWrite::Stale) => {
                sqlx::query(
                    "UPDATE network_items SET announce_id = $2
                     WHERE id = $1 AND announce_id IS NULL AND hidden = 0 AND deleted_at IS NULL",
                )
                .bind(&item.id)
                .bind(id)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    > 0
            }
            _ => false,
        };
        Ok((write, boosted))
    }

    /// [`Store::upsert_network_item`] for several articles in one
    /// transaction (the same statements, one commit): an outbox page, or
    /// the benchmark's seed. What happened to each, in order.
    pub async fn upsert_network_items(&self, items: &[NetworkItem]) -> StoreResult<Vec<ItemWrite>> {
        let mut tx = self.begin_write().await?;
        let mut writes = Vec::with_capacity(items.len());
        for item in items {
            writes.push(
                self.write_network_item(&mut tx, item, &item.search_text(), None)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok(writes)
    }

    async fn write_network_item(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        item: &NetworkItem,
        search_text: &str,
        announce_if_new: Option<&str>,
    ) -> StoreResult<ItemWrite> {
        // PostgreSQL's upsert tells what it did (see the dialect); SQLite's
        // one writer reads first, the item cannot change meanwhile.
        let existing = match self.backend {
            crate::Backend::Postgres => None,
            crate::Backend::Sqlite => {
                sqlx::query("SELECT member, published_at, updated_at, deleted_at FROM network_items WHERE id = $1")
                    .bind(&item.id)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        };
        let mut write = match &existing {
            None => ItemWrite::Inserted,
            Some(row) => match refusal(row, item)? {
                Some(refused) => return Ok(refused),
                None => ItemWrite::Updated,
            },
        };
        // A stored item keeps its key in the full-text index.
        let fts_rowid = match (self.backend, &existing) {
            (crate::Backend::Sqlite, None) => Some(self.next_fts_rowid(tx).await?),
            _ => None,
        };
        let mut upsert = bind_item(
            sqlx::query(dialect::upsert_network_item(self.backend)),
            item,
            search_text,
            to_db(now()),
            fts_rowid,
            announce_if_new,
        );
        if self.backend == crate::Backend::Postgres {
            upsert = upsert.bind(dialect::feed_search_vector(&item.title, search_text));
        }
        let Some(written) = upsert.fetch_optional(&mut **tx).await? else {
            // The stored version stays (PostgreSQL; SQLite read it first).
            let row =
                sqlx::query("SELECT member, published_at, updated_at, deleted_at FROM network_items WHERE id = $1")
                    .bind(&item.id)
                    .fetch_one(&mut **tx)
                    .await?;
            return Ok(refusal(&row, item)?.unwrap_or(ItemWrite::Stale));
        };
        if written.try_get::<Option<i64>, _>("inserted")? == Some(0) {
            write = ItemWrite::Updated;
        }
        // An edit never moves an item in the feed: its first date stays.
        let published_at: i64 = written.try_get("published_at")?;
        if write == ItemWrite::Updated {
            for table in ["network_item_tags", "network_item_languages"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE item = $1")))
                    .bind(&item.id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        // One statement per table, whatever the number of tags.
        for (table, column, values) in [
            ("network_item_tags", "tag", &item.tags),
            ("network_item_languages", "language", &item.languages),
        ] {
            if values.is_empty() {
                continue;
            }
            let mut insert = Sql::new(&format!("INSERT INTO {table} (item, {column}, published_at) VALUES "));
            let item_p = insert.param(item.id.as_str());
            let at_p = insert.param(published_at);
            for (i, v) in values.iter().enumerate() {
                insert
                    .push(&format!("{}({item_p}, ", if i == 0 { "" } else { ", " }))
                    .bind(v)
                    .push(&format!(", {at_p})"));
            }
            insert.push(" ON CONFLICT DO NOTHING");
            let insert = insert.query();
            insert.execute(&mut **tx).await?;
        }
        Ok(write)
    }

    /// The key of a new item's row in SQLite's full-text index (the next
    /// after the largest: new items are appended to the index, migration
    /// 24), read inside the writer's transaction `tx`, so no other write
    /// takes it meanwhile; items written together take the numbers after it.
    async fn next_fts_rowid(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(fts_rowid), 0) + 1 AS n FROM network_items")
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Writes the PostgreSQL search vector of the feed items stored before
    /// the store wrote it (migration 23), a batch at a time, in id order.
    /// An item written meanwhile keeps the vector its write gave it. Returns
    /// how many items were indexed; nothing to do on SQLite.
    pub async fn fill_feed_search_vectors(&self) -> StoreResult<u64> {
        if self.backend != crate::Backend::Postgres {
            return Ok(0);
        }
        let mut done = 0;
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, title, search_text FROM network_items
                 WHERE id > $1 AND search IS NULL AND deleted_at IS NULL ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(FILL_BATCH)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                return Ok(done);
            };
            after = last.try_get("id")?;
            let mut tx = self.begin_write().await?;
            for r in &rows {
                let (id, title, text): (String, String, String) =
                    (r.try_get("id")?, r.try_get("title")?, r.try_get("search_text")?);
                done += sqlx::query(
                    "UPDATE network_items SET search = CAST($1 AS tsvector) WHERE id = $2 AND search IS NULL",
                )
                .bind(dialect::feed_search_vector(&title, &text))
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        }
    }

    /// Records that `member` deleted the article `id` at its origin: the
    /// item leaves the feed and a tombstone stays, so an older `Create` or
    /// `Update` arriving later cannot bring it back. Returns the id of our
    /// `Announce` of it (to undo), `Some(None)` when it was not announced,
    /// `None` when the id belongs to another member or was already deleted.
    pub async fn delete_network_item(&self, id: &str, member: &str) -> StoreResult<Option<Option<String>>> {
        let mut tx = self.begin_write().await?;
        let existing = sqlx::query("SELECT member, deleted_at, announce_id FROM network_items WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let t = to_db(now());
        let announce = match existing {
            Some(row) => {
                let owner: String = row.try_get("member")?;
                let deleted_at: Option<i64> = row.try_get("deleted_at")?;
                if owner != member || deleted_at.is_some() {
                    return Ok(None);
                }
                let announce: Option<String> = row.try_get("announce_id")?;
                sqlx::query(
                    "UPDATE network_items SET deleted_at = $2, title = '', summary_html = '', content_html = '',
                       search_text = '' WHERE id = $1",
                )
                .bind(id)
                .bind(t)
                .execute(&mut *tx)
                .await?;
                for table in ["network_item_tags", "network_item_languages"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE item = $1")))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                announce
            }
            None => {
                // Deleted before we saw it (out of order): the tombstone alone.
                sqlx::query(
                    "INSERT INTO network_items (id, member, title, summary_html, content_html, search_text,
                        published_at, updated_at, received_at, deleted_at)
                     VALUES ($1, $2, '', '', '', '', $3, $3, $3, $3)",
                )
                .bind(id)
                .bind(member)
                .bind(t)
                .execute(&mut *tx)
                .await?;
                None
            }
        };
        if let Some(clear) = dialect::search_vector_clear(self.backend) {
            sqlx::query(clear).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Some(announce))
    }

    /// Hides an item from the feed (a moderator's removal) or shows it
    /// again; returns its `Announce` id, if any. Not found: `NotFound`.
    pub async fn hide_network_item(&self, id: &str, hidden: bool) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "UPDATE network_items SET hidden = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING announce_id",
        )
        .bind(id)
        .bind(i64::from(hidden))
        .fetch_optional(self.writer())
        .await?
        .ok_or_else(|| StoreError::not_found("feed item", id))?;
        Ok(row.try_get("announce_id")?)
    }

    /// Remembers the id of the network actor's `Announce` of an item.
    pub async fn set_item_announce(&self, id: &str, announce_id: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE network_items SET announce_id = $2 WHERE id = $1")
            .bind(id)
            .bind(announce_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The network actor's boosts still standing (visible items it
    /// announced), newest first: `(item id, announce id, published)`, and
    /// how many there are.
    pub async fn network_announces(
        &self,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<(String, String, chrono::DateTime<chrono::Utc>)>, i64)> {
        const VISIBLE: &str =
            "i.announce_id IS NOT NULL AND i.hidden = 0 AND i.deleted_at IS NULL AND m.status = 'approved'";
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM network_items i JOIN network_members m ON m.actor = i.member WHERE {VISIBLE}"
        )))
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT i.id, i.announce_id, i.published_at FROM network_items i JOIN network_members m ON m.actor = i.member
             WHERE {VISIBLE} ORDER BY i.published_at DESC, i.id DESC LIMIT $1 OFFSET $2"
        )))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push((
                r.try_get("id")?,
                r.try_get("announce_id")?,
                from_db(r.try_get("published_at")?)?,
            ));
        }
        Ok((out, total))
    }

    /// A feed item by id (visible or not; not deleted ones).
    pub async fn find_network_item(&self, id: &str) -> StoreResult<Option<NetworkItem>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM network_items i WHERE i.id = $1 AND i.deleted_at IS NULL"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut item = item_from_row(&row)?;
        self.load_item_lists(std::slice::from_mut(&mut item)).await?;
        Ok(Some(item))
    }

    /// The visible feed, newest first: items of approved members, neither
    /// hidden nor deleted, matching every filter given; `limit` items after
    /// `cursor`. With a search text, only matching items, highlighted.
    pub async fn network_feed(
        &self,
        filter: &FeedFilter,
        cursor: Option<&FeedCursor>,
        limit: i64,
    ) -> StoreResult<FeedPage> {
        let mut conditions = vec![
            "i.hidden = 0".to_owned(),
            "i.deleted_at IS NULL".to_owned(),
            "m.status = 'approved'".to_owned(),
        ];
        let mut params = Sql::default();
        let search = dialect::feed_search(self.backend);
        let query = filter
            .q
            .as_deref()
            .and_then(|q| dialect::feed_search_query(self.backend, q));
        if let Some(q) = &query {
            let p = params.param(q.clone());
            conditions.push(search.condition.replace("$q", &p));
        }
        // A tag (else a language) filter drives the walk: that tag's items
        // newest first, from its (tag, date) index, each checked against the
        // other filters. Tags are the narrower of the two.
        let mut driver: Option<&str> = None;
        for (value, table, column) in [
            (&filter.tag, "network_item_tags", "tag"),
            (&filter.language, "network_item_languages", "language"),
        ] {
            let Some(v) = value else { continue };
            let p = params.param(v.clone());
            if driver.is_none() {
                driver = Some(table);
                conditions.push(format!("d.{column} = {p}"));
            } else {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM {table} x WHERE x.item = i.id AND x.{column} = {p})"
                ));
            }
        }
        if let Some(v) = &filter.sector {
            let p = params.param(v.clone());
            // Checked per item (correlated), so the plan still walks the
            // date index: driving from the sector's members would sort all
            // of their items.
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM network_member_sectors s WHERE s.member = i.member AND s.sector = {p})"
            ));
        }
        for (value, column) in [
            (&filter.country, "m.country"),
            (&filter.legal_form, "m.legal_form"),
            (&filter.kind, "i.kind"),
        ] {
            if let Some(v) = value {
                let p = params.param(v.clone());
                conditions.push(format!("{column} = {p}"));
            }
        }
        if let Some(v) = &filter.organisation {
            let p = params.param(v.trim_start_matches('@').to_lowercase());
            // The member first, then its items by the (member, date) index.
            conditions.push(format!(
                "i.member = (SELECT o.actor FROM network_members o WHERE LOWER(o.handle) = {p} ORDER BY o.actor LIMIT 1)"
            ));
        }
        // The order (and the cursor) on the driving table's copy of the date.
        let (from, date, id_col) = match driver {
            Some(table) => (
                format!("{table} d JOIN network_items i ON i.id = d.item"),
                "d.published_at".to_owned(),
                "d.item".to_owned(),
            ),
            None => (
                "network_items i".to_owned(),
                "i.published_at".to_owned(),
                "i.id".to_owned(),
            ),
        };
        if let Some(c) = cursor {
            let t = params.param(c.published_at_micros);
            let id = params.param(c.id.clone());
            // The first part alone bounds an index range on the date.
            conditions.push(format!("{date} <= {t} AND ({date} < {t} OR {id_col} < {id})"));
        }
        let limit_param = params.param(limit.max(0) + 1);
        // The page's ids first, from the indexes (migration 14 covers the
        // date, kind and member orders with the columns filtered on), then
        // the rows of those few: sorting or skipping whole rows, with their
        // long texts, is what made large pages slow.
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, m.name AS m_name, m.handle AS m_handle, m.url AS m_url, m.logo AS m_logo,
                    m.country AS m_country, m.legal_form AS m_legal_form
             FROM network_items i JOIN network_members m ON m.actor = i.member
             WHERE i.id IN (
               SELECT i.id FROM {from} JOIN network_members m ON m.actor = i.member
               WHERE {}
               ORDER BY {date} DESC, {id_col} DESC LIMIT {limit_param})
             ORDER BY i.published_at DESC, i.id DESC",
            conditions.join(" AND ")
        );
        params.push(&sql);
        let rows = params.fetch_all(&self.pool).await?;
        let page: Vec<&AnyRow> = rows.iter().take(usize::try_from(limit.max(0)).unwrap_or(0)).collect();
        let mut highlights = match &query {
            Some(q) => {
                let ids: Vec<String> = page.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
                self.highlights(&search, q, &ids).await?
            }
            None => HashMap::new(),
        };
        let mut entries = Vec::with_capacity(page.len());
        for r in page {
            let item = item_from_row(r)?;
            let (title_highlighted, snippet) = highlights.remove(&item.id).unwrap_or((None, None));
            entries.push(FeedEntry {
                item,
                member_name: r.try_get("m_name")?,
                member_handle: r.try_get("m_handle")?,
                member_url: r.try_get("m_url")?,
                member_logo: r.try_get("m_logo")?,
                country: r.try_get("m_country")?,
                legal_form: r.try_get("m_legal_form")?,
                title_highlighted,
                snippet,
            });
        }
        let next = (rows.len() > entries.len())
            .then(|| entries.last())
            .flatten()
            .map(|e| FeedCursor {
                published_at_micros: to_db(e.item.published_at),
                id: e.item.id.clone(),
            });
        let mut items: Vec<NetworkItem> = entries.iter().map(|e| e.item.clone()).collect();
        self.load_item_lists(&mut items).await?;
        for (e, item) in entries.iter_mut().zip(items) {
            e.item = item;
        }
        Ok(FeedPage { entries, next })
    }

    /// The highlighted title and excerpt of each of `ids` for the search
    /// `q` (one query for the page, after it is chosen).
    async fn highlights(
        &self,
        search: &dialect::FeedSearch,
        q: &str,
        ids: &[String],
    ) -> StoreResult<HashMap<String, (Option<String>, Option<String>)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // The search is `$1` in the dialect's statement, so it is bound first.
        let mut query = Sql::default();
        query.param(q);
        let list = query.param_list(ids);
        query.push(&search.highlights.replace("$ids", &list));
        let mut out = HashMap::with_capacity(ids.len());
        for r in query.fetch_all(&self.pool).await? {
            out.insert(r.try_get("item_id")?, (r.try_get("title_hl")?, r.try_get("snippet")?));
        }
        Ok(out)
    }

    /// Fills the tags and languages of `items` (two queries for the lot).
    async fn load_item_lists(&self, items: &mut [NetworkItem]) -> StoreResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        let mut languages: HashMap<String, Vec<String>> = HashMap::new();
        for (table, column, into) in [
            ("network_item_tags", "tag", &mut tags),
            ("network_item_languages", "language", &mut languages),
        ] {
            let mut q = Sql::new(&format!("SELECT item, {column} AS v FROM {table} WHERE item IN ("));
            q.bind_list(items.iter().map(|item| item.id.as_str()))
                .push(&format!(") ORDER BY item, {column}"));
            for r in q.fetch_all(&self.pool).await? {
                into.entry(r.try_get("item")?).or_default().push(r.try_get("v")?);
            }
        }
        for item in items.iter_mut() {
            item.tags = tags.remove(&item.id).unwrap_or_default();
            item.languages = languages.remove(&item.id).unwrap_or_default();
        }
        Ok(())
    }
}

fn item_from_row(r: &AnyRow) -> StoreResult<NetworkItem> {
    Ok(NetworkItem {
        id: r.try_get("id")?,
        member: r.try_get("member")?,
        attributed_to: r.try_get("attributed_to")?,
        url: r.try_get("url")?,
        kind: r.try_get("kind")?,
        language: r.try_get("language")?,
        languages: Vec::new(),
        title: r.try_get("title")?,
        summary_html: r.try_get("summary_html")?,
        content_html: r.try_get("content_html")?,
        tags: Vec::new(),
        image_url: r.try_get("image_url")?,
        image_alt: r.try_get("image_alt")?,
        published_at: from_db(r.try_get("published_at")?)?,
        updated_at: from_db(r.try_get("updated_at")?)?,
    })
}
