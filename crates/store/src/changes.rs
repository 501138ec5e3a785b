//! Wake-ups for work another process wrote: a `gazette publish` beside
//! `gazette serve` queues deliveries the server's worker should send at
//! once, not at its next poll. On PostgreSQL the writes notify channel
//! `gazette_changes` (triggers of migration 27) and a dedicated connection
//! listens; on SQLite a dedicated connection reads `PRAGMA data_version`,
//! which changes whenever another connection commits, a few times a second.
//! A wake-up says only "look again": the callers re-read the queue, so a
//! spurious one costs a query and a lost one is caught by their polls.

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgListener;

use crate::error::StoreResult;
use crate::{Backend, Store};

/// The PostgreSQL channel migration 27's triggers notify.
const CHANNEL: &str = "gazette_changes";

/// How often SQLite's change counter is read: a read of one page header
/// from memory, so a wake-up comes within this much of a commit.
const SQLITE_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Changes to the database by any process; see the module docs.
pub struct Changes {
    watch: Watch,
}

enum Watch {
    Sqlite {
        /// Taken out of the pool for good: `data_version` counts the
        /// commits of every connection but the one asking.
        conn: sqlx::AnyConnection,
        version: i64,
        every: tokio::time::Interval,
    },
    Postgres {
        listener: Box<PgListener>,
    },
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.watch {
            Watch::Sqlite { .. } => "sqlite",
            Watch::Postgres { .. } => "postgres",
        };
        f.debug_struct("Changes").field("backend", &backend).finish()
    }
}

impl Store {
    /// Starts watching for changes (one dedicated connection).
    pub async fn changes(&self) -> StoreResult<Changes> {
        let watch = match self.backend {
            Backend::Sqlite => {
                let mut conn = self.pool.acquire().await?.detach();
                let version = data_version(&mut conn).await?;
                let mut every = tokio::time::interval(SQLITE_CHECK_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                Watch::Sqlite { conn, version, every }
            }
            Backend::Postgres => {
                let mut listener = PgListener::connect(self.url.as_str()).await?;
                listener.listen(CHANNEL).await?;
                Watch::Postgres {
                    listener: Box::new(listener),
                }
            }
        };
        Ok(Changes { watch })
    }
}

impl Changes {
    /// Waits until some process commits a change after the previous call
    /// (on SQLite, any commit; on PostgreSQL, one that queues deliveries,
    /// records an article change or writes an article). Several changes
    /// before a call are reported once. After the PostgreSQL connection
    /// was lost (and reconnected), reports a change, since notifications
    /// sent meanwhile are gone.
    pub async fn changed(&mut self) -> StoreResult<()> {
        match &mut self.watch {
            Watch::Sqlite { conn, version, every } => loop {
                every.tick().await;
                let now = data_version(conn).await?;
                if now != *version {
                    *version = now;
                    return Ok(());
                }
            },
            Watch::Postgres { listener } => {
                // `None`: the connection dropped; it reconnects on the next call.
                let _ = listener.try_recv().await?;
                // Everything already waiting is the same news.
                while listener.next_buffered().is_some() {}
                Ok(())
            }
        }
    }
}

impl Store {
    /// Tells every process watching [`Store::changes`] that something was
    /// written which the database's own signal may not cover (a profile,
    /// a reply, settings): on PostgreSQL a notification on the channel
    /// the triggers use; on SQLite nothing, since its change counter moves
    /// with every commit.
    pub async fn announce_change(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, 'write')")
                .bind(CHANNEL)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

async fn data_version(conn: &mut sqlx::AnyConnection) -> StoreResult<i64> {
    let row = sqlx::query("PRAGMA data_version").fetch_one(&mut *conn).await?;
    Ok(row.try_get(0)?)
}
