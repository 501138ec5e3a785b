//! The admin's followers page at scale: pages picked by an "older than"
//! cursor (so the last page costs what the first does), an optional filter
//! by server, and follower counts per server read from `follower_hosts`
//! (migration 12, kept by triggers) instead of grouping every follower.

use gazette_core::FollowStatus;
use sqlx::Row;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::federation::{Follower, actor_columns_of_r, actor_from_row};
use crate::time::{from_db, to_db};

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

/// A page of followers and the cursor of the next (older) one.
#[derive(Debug)]
pub struct FollowerPage {
    pub followers: Vec<Follower>,
    pub older: Option<FollowerCursor>,
}

impl Store {
    /// Up to `limit` followers of `local_actor` with `status`, newest first,
    /// older than `before` when given, only from `host` when given.
    pub async fn followers_page(
        &self,
        local_actor: &str,
        status: FollowStatus,
        host: Option<&str>,
        before: Option<&FollowerCursor>,
        limit: i64,
    ) -> StoreResult<FollowerPage> {
        let limit = limit.clamp(1, 1000);
        let cols = actor_columns_of_r();
        let cols = format!("{cols}, f.status AS f_status, f.follow_id AS f_follow_id, f.created_at AS f_created_at");
        let mut sql = match host {
            // One server's accounts first (by host), then their follows: on
            // SQLite `CROSS JOIN` keeps that order, instead of walking every
            // follower by date and dropping those on other servers.
            Some(_) => format!(
                "SELECT {cols} FROM remote_actors r CROSS JOIN followers f
                 WHERE r.host = $3 AND f.local_actor = $1 AND f.follower = r.id AND f.status = $2"
            ),
            None => format!(
                "SELECT {cols} FROM followers f JOIN remote_actors r ON r.id = f.follower
                 WHERE f.local_actor = $1 AND f.status = $2"
            ),
        };
        let mut n = if host.is_some() { 3 } else { 2 };
        if before.is_some() {
            sql.push_str(&format!(
                " AND f.created_at <= ${a} AND (f.created_at < ${a} OR f.follower > ${b})",
                a = n + 1,
                b = n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(" ORDER BY f.created_at DESC, f.follower LIMIT ${}", n + 1));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(local_actor.to_owned())
            .bind(status.as_str());
        if let Some(h) = host {
            q = q.bind(h.to_owned());
        }
        if let Some(c) = before {
            q = q.bind(to_db(c.since)).bind(c.follower.clone());
        }
        let rows = q.bind(limit + 1).fetch_all(&self.pool).await?;
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
