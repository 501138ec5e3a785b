//! The admin's followers page at scale: pages picked by an "older than"
//! cursor (so the last page costs what the first does), optional filters by
//! server and by name or handle (the search key of migration 18, folded
//! here and copied onto each follow by triggers; found through the trigram
//! indexes of migration 22), and follower counts per
//! server read from `follower_hosts` (migration 12, kept by triggers)
//! instead of grouping every follower.

use gazette_core::FollowStatus;
use sqlx::Row;

use crate::error::{StoreError, StoreResult};
use crate::federation::{Follower, actor_columns_of_r, actor_from_row};
use crate::sql::Sql;
use crate::time::{from_db, to_db};
use crate::{Backend, Store, dialect};

/// Where a followers page starts: just after this follower in the
/// newest-first order (by follow date, then actor id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerCursor {
    pub since: chrono::DateTime<chrono::Utc>,
    pub follower: String,
}

impl FollowerCursor {
    /// `micros.actor-id`, for a URL.
    pub fn encode(&self) -> String {
        format!("{}.{}", to_db(self.since), self.follower)
    }

    /// Reads [`FollowerCursor::encode`]'s form; `None` when malformed.
    pub fn decode(s: &str) -> Option<Self> {
        let (micros, follower) = s.split_once('.')?;
        let since = from_db(micros.parse().ok()?).ok()?;
        (!follower.is_empty()).then(|| FollowerCursor {
            since,
            follower: follower.to_owned(),
        })
    }

    fn of(f: &Follower) -> Self {
        FollowerCursor {
            since: f.since,
            follower: f.actor.id.clone(),
        }
    }
}

/// Which followers a page shows, besides the local actor and the status.
#[derive(Debug, Clone, Copy, Default)]
pub struct FollowerFilter<'a> {
    /// Only followers on this server.
    pub host: Option<&'a str>,
    /// Only followers whose name or handle contains this (any case and
    /// accents; a leading `@` is ignored).
    pub search: Option<&'a str>,
}

/// What the follower search looks in for an actor: its name and handle,
/// folded (see [`gazette_core::slug::fold_for_search`]).
pub(crate) fn actor_search_key(name: &str, preferred_username: &str, host: &str) -> String {
    gazette_core::slug::fold_for_search(&format!("{name}\n{preferred_username}@{host}"))
}

/// A search as typed, folded like the keys it looks in.
#[derive(Debug, PartialEq, Eq)]
struct Search {
    /// The `LIKE` pattern every match satisfies (the test of a match).
    pattern: String,
    /// The folded text, when it is long enough for SQLite's trigram index
    /// (migration 22) to find the candidates: [`TRIGRAM`] characters.
    trigrams: Option<String>,
}

/// Characters in a trigram: a shorter search has none to look up.
const TRIGRAM: usize = 3;

/// The [`Search`] for a text as typed; `None` when nothing is left to
/// look for.
fn search_of(search: &str) -> Option<Search> {
    let folded = gazette_core::slug::fold_for_search(search.trim().trim_start_matches('@'));
    if folded.is_empty() {
        return None;
    }
    let mut p = String::with_capacity(folded.len() + 2);
    p.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    Some(Search {
        pattern: p,
        trigrams: (folded.chars().count() >= TRIGRAM).then_some(folded),
    })
}

/// On SQLite, the most actors the trigram index may find for a search to
/// start from them: each is looked up (about 15 µs) and the matches sorted
/// by date. With more, matches are common enough that the walk of the
/// follows by date, at well under a microsecond a follow, meets a page of
/// them sooner (with 50,000 followers and 300 matches spread evenly, after
/// about 8,500 follows). PostgreSQL's planner makes that choice itself,
/// from its statistics.
const MAX_CANDIDATES: i64 = 300;

/// Actors written in one statement while filling in search keys.
const KEY_BATCH: i64 = 500;

/// A page of followers and the cursor of the next (older) one.
#[derive(Debug)]
pub struct FollowerPage {
    pub followers: Vec<Follower>,
    pub older: Option<FollowerCursor>,
}

impl Store {
    /// Up to `limit` followers of `local_actor` with `status`, newest first,
    /// older than `before` when given, only those `filter` lets through.
    pub async fn followers_page(
        &self,
        local_actor: &str,
        status: FollowStatus,
        filter: FollowerFilter<'_>,
        before: Option<&FollowerCursor>,
        limit: i64,
    ) -> StoreResult<FollowerPage> {
        let host = filter.host;
        let search = filter.search.and_then(search_of);
        let narrow = match &search {
            Some(s) => self.follower_search_narrowing(s).await?,
            None => None,
        };
        if narrow.as_ref().is_some_and(Vec::is_empty) {
            return Ok(FollowerPage {
                followers: Vec::new(),
                older: None,
            });
        }
        let limit = limit.clamp(1, 1000);
        let mut q = Sql::default();
        let actor = q.param(local_actor);
        let status_p = q.param(status.as_str());
        let host_p = host.map(|h| q.param(h));
        let actors_p = match &narrow {
            Some(ids) => Some(q.param(serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?)),
            None => None,
        };

        let cols = actor_columns_of_r();
        let cols = format!("{cols}, f.status AS f_status, f.follow_id AS f_follow_id, f.created_at AS f_created_at");
        q.push(&match (&actors_p, &host_p) {
            // The few actors the trigram index found first, then their
            // follows, by key; the matches sorted by date after. SQLite
            // keeps the order of `CROSS JOIN`, instead of walking every
            // follower by date and testing each against the list.
            (Some(a), _) => format!(
                "SELECT {cols} FROM json_each({a}) c CROSS JOIN followers f JOIN remote_actors r ON r.id = f.follower
                 WHERE f.local_actor = {actor} AND f.follower = c.value AND f.status = {status_p}"
            ),
            // One server's accounts first (by host), then their follows, in
            // the same way.
            (None, Some(h)) => format!(
                "SELECT {cols} FROM remote_actors r CROSS JOIN followers f
                 WHERE r.host = {h} AND f.local_actor = {actor} AND f.follower = r.id AND f.status = {status_p}"
            ),
            (None, None) => format!(
                "SELECT {cols} FROM followers f JOIN remote_actors r ON r.id = f.follower
                 WHERE f.local_actor = {actor} AND f.status = {status_p}"
            ),
        });
        if let (Some(h), Some(_)) = (&host_p, &actors_p) {
            q.push(&format!(" AND r.host = {h}"));
        }
        if let Some(s) = &search {
            // On the date index, which carries the key: what decides a match.
            q.push(" AND f.search_key LIKE ")
                .bind(s.pattern.as_str())
                .push(" ESCAPE '\\'");
        }
        if let Some(c) = before {
            let since = q.param(to_db(c.since));
            let follower = q.param(c.follower.as_str());
            q.push(&format!(
                " AND f.created_at <= {since} AND (f.created_at < {since} OR f.follower > {follower})"
            ));
        }
        q.push(" ORDER BY f.created_at DESC, f.follower LIMIT ").bind(limit + 1);
        let rows = q.fetch_all(&self.pool).await?;
        let mut followers = rows
            .iter()
            .map(|r| {
                let status: String = r.try_get("f_status")?;
                Ok(Follower {
                    actor: actor_from_row(r)?,
                    status: FollowStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("follow status {status}")))?,
                    follow_id: r.try_get("f_follow_id")?,
                    since: from_db(r.try_get("f_created_at")?)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let more = followers.len() as i64 > limit;
        followers.truncate(limit as usize);
        let older = if more {
            followers.last().map(FollowerCursor::of)
        } else {
            None
        };
        Ok(FollowerPage { followers, older })
    }

    /// On SQLite, the ids of the actors whose keys hold the trigrams of
    /// `search` in a row (FTS5, migration 22): a superset of those whose
    /// keys hold the text. `None` when the index cannot narrow the search:
    /// a text shorter than a trigram, more than [`MAX_CANDIDATES`] actors,
    /// or PostgreSQL, whose planner uses its trigram index on
    /// `followers.search_key` for the `LIKE` itself, when that pays.
    async fn follower_search_narrowing(&self, search: &Search) -> StoreResult<Option<Vec<String>>> {
        let Some(text) = &search.trigrams else {
            return Ok(None);
        };
        match self.backend {
            Backend::Postgres => Ok(None),
            Backend::Sqlite => {
                let rows = sqlx::query(
                    "SELECT s.actor_id FROM actor_search s WHERE s.id IN
                       (SELECT rowid FROM actor_search_fts WHERE actor_search_fts MATCH $1 LIMIT $2)",
                )
                .bind(dialect::fts_phrase(text))
                .bind(MAX_CANDIDATES + 1)
                .fetch_all(&self.pool)
                .await?;
                if rows.len() as i64 > MAX_CANDIDATES {
                    return Ok(None);
                }
                let ids = rows
                    .iter()
                    .map(|r| r.try_get("actor_id"))
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(Some(ids))
            }
        }
    }

    /// Writes the search key of the remote actors stored before there was
    /// one (migration 18), a batch at a time; the triggers copy it onto
    /// their follows. Returns how many actors were given one.
    pub async fn fill_actor_search_keys(&self) -> StoreResult<u64> {
        let mut done = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, name, preferred_username, host FROM remote_actors WHERE search_key IS NULL LIMIT $1",
            )
            .bind(KEY_BATCH)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut tx = self.begin_write().await?;
            for r in &rows {
                let (id, name, username, host): (String, String, String, String) = (
                    r.try_get("id")?,
                    r.try_get("name")?,
                    r.try_get("preferred_username")?,
                    r.try_get("host")?,
                );
                sqlx::query("UPDATE remote_actors SET search_key = $1 WHERE id = $2")
                    .bind(actor_search_key(&name, &username, &host))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            done += rows.len() as u64;
        }
    }

    /// Servers with the most followers of `local_actor` with `status`:
    /// (host, followers), most first, at most `limit`.
    pub async fn follower_hosts(
        &self,
        local_actor: &str,
        status: FollowStatus,
        limit: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT host, followers FROM follower_hosts WHERE local_actor = $1 AND status = $2
             ORDER BY followers DESC, host LIMIT $3",
        )
        .bind(local_actor)
        .bind(status.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("host")?, r.try_get("followers")?)))
            .collect()
    }

    /// How many servers the followers of `local_actor` with `status` are on.
    pub async fn count_follower_hosts(&self, local_actor: &str, status: FollowStatus) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM follower_hosts WHERE local_actor = $1 AND status = $2")
            .bind(local_actor)
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Followers of `local_actor` with `status` on `host`.
    pub async fn count_followers_on_host(
        &self,
        local_actor: &str,
        status: FollowStatus,
        host: &str,
    ) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT followers FROM follower_hosts WHERE local_actor = $1 AND status = $2 AND host = $3")
                .bind(local_actor)
                .bind(status.as_str())
                .bind(host)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(r) => r.try_get("followers")?,
            None => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keys_and_patterns_fold_case_and_accents() {
        assert_eq!(
            actor_search_key("Élodie Martin", "Elodie", "Social.Example"),
            "elodie martin\nelodie@social.example"
        );
        let search = |s: &str| search_of(s).map(|s| (s.pattern, s.trigrams));
        assert_eq!(search(" @ÉLO "), Some(("%elo%".into(), Some("elo".into()))));
        assert_eq!(
            search("50%_a\\"),
            Some(("%50\\%\\_a\\\\%".into(), Some("50%_a\\".into())))
        );
        // Two characters (after folding) have no trigram; `æ` folds to two.
        assert_eq!(search("Él"), Some(("%el%".into(), None)));
        assert_eq!(search("Æ"), Some(("%ae%".into(), None)));
        assert_eq!(search("Æb"), Some(("%aeb%".into(), Some("aeb".into()))));
        assert_eq!(search(" @ "), None);
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = FollowerCursor {
            since: from_db(1_700_000_000_123_456).unwrap(),
            follower: "https://x.example/users/a.b".into(),
        };
        assert_eq!(FollowerCursor::decode(&c.encode()), Some(c));
        assert_eq!(FollowerCursor::decode("nope"), None);
        assert_eq!(FollowerCursor::decode("12."), None);
        assert_eq!(FollowerCursor::decode("x.https://a"), None);
    }
}
