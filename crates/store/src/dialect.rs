//! The few statements that differ between SQLite and PostgreSQL, in one place.

use gazette_core::network::search_words;

use crate::Backend;

/// Row locking for claiming queue rows: on PostgreSQL several processes claim
/// at once, and `SKIP LOCKED` lets each pass over the rows another is taking
/// instead of waiting for them. SQLite has one writer at a time (the claim
/// runs under `BEGIN IMMEDIATE`), so it needs no clause.
pub(crate) fn for_update_skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    }
}

/// The names (column `name`) of the tables of Gazette's schema, without
/// SQLite's own and the shadow tables of its full-text indexes.
pub(crate) fn schema_tables(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE '%_fts_%'"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    }
}

/// How the shared feed's full-text search is written on each backend: the
/// condition that picks the matching items (`$q` stands for
/// the query's parameter and is replaced by the caller), and a second query
/// that highlights only the items of the page, once it is known (computing
/// excerpts of every match before sorting would cost as much as the whole
/// search): `item_id`, `title_hl` and `snippet`, matches between
/// [`gazette_core::network::MATCH_START`] and `MATCH_END`, for the search
/// `$1` and the item ids `$ids` (replaced by the caller with placeholders
/// from `$2`). SQLite searches the FTS5 table `network_items_fts`, which
/// triggers keep in step with `network_items` (migration 24);
/// PostgreSQL the `tsvector` column `network_items.search`, which holds the
/// [`gazette_core::network::search_words`] of the item (see
/// [`feed_search_vector`]; PostgreSQL's own parser cost about a millisecond
/// of its CPU per article), queried with the same words; no language is
/// favoured on either.
pub(crate) struct FeedSearch {
    pub(crate) condition: &'static str,
    pub(crate) highlights: &'static str,
}

pub(crate) fn feed_search(backend: Backend) -> FeedSearch {
    match backend {
        Backend::Sqlite => FeedSearch {
            // The matching rowids once, from the index alone, as a set that
            // the walk of a feed order checks with the key its index carries
            // (migration 15). `+` keeps SQLite from looking every match up
            // and sorting them all instead, which for a word most articles
            // contain cost about six times more in a 100,000-item test; a
            // rare word's walk reads the index only.
            condition: "+i.fts_rowid IN (SELECT rowid FROM network_items_fts WHERE network_items_fts MATCH $q)",
            highlights: "SELECT item_id, highlight(network_items_fts, 1, char(57344), char(57345)) AS title_hl, \
                         snippet(network_items_fts, 2, char(57344), char(57345), '…', 32) AS snippet \
                         FROM network_items_fts WHERE network_items_fts MATCH $1 \
                         AND rowid IN (SELECT fts_rowid FROM network_items WHERE id IN ($ids))",
        },
        Backend::Postgres => FeedSearch {
            condition: "i.search @@ CAST($q AS tsquery)",
            highlights: "SELECT i.id AS item_id, ts_headline('simple', i.title, CAST($1 AS tsquery), \
                           'HighlightAll=true, StartSel=' || chr(57344) || ', StopSel=' || chr(57345)) AS title_hl, \
                         ts_headline('simple', i.search_text, CAST($1 AS tsquery), \
                           'MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \", StartSel=' \
                           || chr(57344) || ', StopSel=' || chr(57345)) AS snippet \
                         FROM network_items i WHERE i.id IN ($ids)",
        },
    }
}

/// The search text as each backend's query language wants it: on SQLite an
/// FTS5 expression in which every word is a quoted string (so nothing a
/// reader types is taken as FTS5 syntax), all required; on PostgreSQL a
/// `tsquery` of its [`search_words`], all required (none: a query that
/// matches nothing, as a search for punctuation should). `None` when there
/// is nothing but white space.
pub(crate) fn feed_search_query(backend: Backend, q: &str) -> Option<String> {
    let words: Vec<&str> = q.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    Some(match backend {
        Backend::Sqlite => words
            .iter()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" "),
        Backend::Postgres => search_words(q)
            .map(|w| quote_lexeme(&w))
            .collect::<Vec<_>>()
            .join(" & "),
    })
}

/// Most bytes of lexemes in one item's `tsvector` (PostgreSQL's limit is 1 MiB).
const MAX_VECTOR_BYTES: usize = 512 * 1024;

/// The `tsvector` literal (lexemes without positions: the feed is read
/// newest first, never ranked) of an item's title and text, for
/// `CAST(… AS tsvector)`.
pub(crate) fn feed_search_vector(title: &str, text: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::with_capacity(text.len() / 2);
    for word in search_words(title).chain(search_words(text)) {
        if seen.contains(&word) {
            continue;
        }
        if out.len() + word.len() > MAX_VECTOR_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        push_lexeme(&mut out, &word);
        seen.insert(word);
    }
    out
}

/// A lexeme quoted for a `tsvector` or `tsquery` literal.
fn quote_lexeme(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    push_lexeme(&mut out, word);
    out
}

/// Appends `word` quoted for a `tsvector` or `tsquery` literal.
fn push_lexeme(out: &mut String, word: &str) {
    out.push('\'');
    for c in word.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Writes the items of a JSON array (`$1`, one object per item, see
/// `Store::insert_new_items_json`; `$2`: when they were received) that the
/// feed does not have yet, with their tags, languages and search vectors,
/// in one statement whose text never changes (so it is planned once per
/// connection): PostgreSQL's batch of a busy inbox. Returns the id of each
/// item written; one stored already (by another process too) is skipped.
/// SQLite's batches use a multi-row INSERT instead (its full-text index
/// needs the row keys given in order).
pub(crate) fn insert_new_network_items_json(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(
            "WITH r AS (
                SELECT * FROM json_to_recordset(CAST($1 AS json)) AS r(id text, member text, attributed_to text,
                    url text, kind text, language text, title text, summary_html text, content_html text,
                    search_text text, image_url text, image_alt text, published_at bigint, updated_at bigint,
                    announce_id text, search text, tags json, languages json)
             ), item AS (
                INSERT INTO network_items (id, member, attributed_to, url, kind, language, title, summary_html,
                    content_html, search_text, image_url, image_alt, published_at, updated_at, received_at,
                    fts_rowid, announce_id, search)
                SELECT id, member, attributed_to, url, kind, language, title, summary_html, content_html,
                    search_text, image_url, image_alt, published_at, updated_at, $2, NULL, announce_id,
                    CAST(search AS tsvector)
                FROM r
                ON CONFLICT (id) DO NOTHING
                RETURNING id, published_at
             ), tags AS (
                INSERT INTO network_item_tags (item, tag, published_at)
                SELECT item.id, t.value, item.published_at
                FROM item JOIN r ON r.id = item.id, json_array_elements_text(r.tags) AS t(value)
                ON CONFLICT DO NOTHING
             ), languages AS (
                INSERT INTO network_item_languages (item, language, published_at)
                SELECT item.id, l.value, item.published_at
                FROM item JOIN r ON r.id = item.id, json_array_elements_text(r.languages) AS l(value)
                ON CONFLICT DO NOTHING
             )
             SELECT id FROM item",
        ),
    }
}

/// Empties PostgreSQL's search vector of a deleted item (`$1`: its id);
/// on SQLite a trigger drops the item from the FTS5 index (migration 24).
pub(crate) fn search_vector_clear(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some("UPDATE network_items SET search = NULL WHERE id = $1"),
    }
}

/// Writes an item (`$1`…`$17`, see `Store::write_network_item`), and on
/// PostgreSQL its search vector (`$18`, [`feed_search_vector`]). A stored
/// version is replaced only by the same member's, not deleted, and not
/// newer (on PostgreSQL this is the check, atomic with the write, however
/// many processes write; SQLite's one writer has read the row before): no
/// row comes back when it is kept. The row written returns `published_at`
/// and `inserted` (1 new, 0 replaced; NULL on SQLite, which knows from its
/// read).
pub(crate) fn upsert_network_item(backend: Backend) -> &'static str {
    macro_rules! upsert {
        ($column:literal, $value:literal, $set:literal, $inserted:literal) => {
            concat!(
                "INSERT INTO network_items (id, member, attributed_to, url, kind, language, title, summary_html,
                    content_html, search_text, image_url, image_alt, published_at, updated_at, received_at,
                    fts_rowid, announce_id",
                $column,
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17",
                $value,
                ") ON CONFLICT (id) DO UPDATE SET attributed_to = excluded.attributed_to, url = excluded.url,
                   kind = excluded.kind, language = excluded.language, title = excluded.title,
                   summary_html = excluded.summary_html, content_html = excluded.content_html,
                   search_text = excluded.search_text, image_url = excluded.image_url,
                   image_alt = excluded.image_alt, updated_at = excluded.updated_at",
                $set,
                " WHERE network_items.member = excluded.member AND network_items.deleted_at IS NULL
                   AND network_items.updated_at <= excluded.updated_at
                 RETURNING published_at, ",
                $inserted
            )
        };
    }
    match backend {
        Backend::Sqlite => upsert!("", "", "", "NULL AS inserted"),
        Backend::Postgres => upsert!(
            ", search",
            ", CAST($18 AS tsvector)",
            ", search = excluded.search",
            "CAST(CASE WHEN xmax = 0 THEN 1 ELSE 0 END AS BIGINT) AS inserted"
        ),
    }
}

/// The words of an admin article search as each backend's full-text query
/// wants them: every word must begin a word of the article's slug or of one
/// of its titles. Words are runs of letters and digits, so nothing typed is
/// read as query syntax. `None` when there is no word.
pub(crate) fn article_search_query(backend: Backend, q: &str) -> Option<String> {
    let words: Vec<&str> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(match backend {
        Backend::Sqlite => words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" "),
        Backend::Postgres => words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "),
    })
}

/// The condition on `article_search s` for an article search whose
/// [`article_search_query`] is bound as `$1`.
pub(crate) fn article_search_match(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("s.id IN (SELECT rowid FROM article_search_fts WHERE article_search_fts MATCH {param})")
        }
        Backend::Postgres => format!("s.search @@ to_tsquery('simple', {param})"),
    }
}

/// The condition on `articles a` for an article search whose
/// [`article_search_query`] is bound as `param`.
pub(crate) fn article_search_condition(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            " AND a.id IN (SELECT s.article_id FROM article_search s WHERE s.id IN \
             (SELECT rowid FROM article_search_fts WHERE article_search_fts MATCH {param}))"
        ),
        Backend::Postgres => format!(
            " AND a.id IN (SELECT s.article_id FROM article_search s WHERE s.search @@ to_tsquery('simple', {param}))"
        ),
    }
}

/// `text` as an FTS5 phrase: a quoted string, so nothing typed is read as
/// query syntax. With the trigram tokenizer (the follower search's index,
/// migration 22), the rows whose text holds `text` anywhere, and perhaps a
/// few more where the tokenizer's case folding sees a match.
pub(crate) fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_phrases_are_never_syntax() {
        assert_eq!(fts_phrase("a\"b OR c*"), "\"a\"\"b OR c*\"");
    }

    #[test]
    fn article_search_words_are_never_syntax() {
        assert_eq!(
            article_search_query(Backend::Sqlite, "Énergie \"x\" OR l'eau*").as_deref(),
            Some("\"Énergie\"* \"x\"* \"OR\"* \"l\"* \"eau\"*")
        );
        assert_eq!(
            article_search_query(Backend::Postgres, "a&b | !c:*").as_deref(),
            Some("a:* & b:* & c:*")
        );
        assert_eq!(article_search_query(Backend::Sqlite, " % _ - "), None);
    }
}
