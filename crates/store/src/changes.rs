//! Wake-ups for work another process wrote: a `gazette publish` beside
//! `gazette serve` queues deliveries the server's worker should send at
//! once, not at its next poll. On PostgreSQL the writes notify channel
//! `gazette_changes` (triggers of migration 27) and a dedicated connection
//! listens (read by a task of its own; the notifications that follow one
//! within [`POSTGRES_GATHER`] make one report); on SQLite a dedicated
//! connection reads `PRAGMA data_version`, which changes whenever another
//! connection commits, a few times a second.
//! A wake-up says only "look again": the callers re-read the queue, so a
//! spurious one costs a query and a lost one is caught by their polls.
//!
//! Each report also says whether what readers see may have changed
//! ([`Change::content`]), so that a page cache is not emptied by the
//! delivery worker's bookkeeping: on SQLite the `content_version` counter
//! that migration 34's triggers move on every write to a table in
//! [`CONTENT_TABLES`]; on PostgreSQL every notification but the queue's.

use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgListener;

use crate::error::StoreResult;
use crate::{Backend, Store};

/// The PostgreSQL channel migration 27's triggers notify.
const CHANNEL: &str = "gazette_changes";

/// Tables whose rows may appear in a public answer (a page, an ActivityPub
/// document, a feed): on SQLite each write to one moves `content_version`
/// (migration 34's triggers). Every other table is in [`NOT_CONTENT`]; a
/// test fails on a table in neither list, so a new table is classified.
pub const CONTENT_TABLES: &[&str] = &[
    "actor_blocks",
    "actor_ed25519_keys",
    "actor_keys",
    "article_events",
    "article_media_refs",
    "article_quote_policies",
    "article_tags",
    "article_translations",
    "articles",
    "authors",
    "comments",
    "domain_allows",
    "domain_blocks",
    "followers",
    "following",
    "import_items",
    "import_media",
    "instance_identity",
    "instance_settings",
    "interactions",
    "media",
    "network_item_languages",
    "network_item_objects",
    "network_item_tags",
    "network_items",
    "network_member_sectors",
    "network_members",
    "old_actor_ed25519_keys",
    "old_actor_keys",
    "organisation",
    "outbound_interactions",
    "quotes",
    "remote_actors",
    "remote_articles",
    "users",
];

/// Tables no reader sees (queues, sessions, counters, the newsletter's
/// list) or derived in the same transaction from a table of
/// [`CONTENT_TABLES`] (search indexes, counts).
pub const NOT_CONTENT: &[&str] = &[
    "actor_search",
    "api_tokens",
    "article_search",
    "article_status_counts",
    "content_version",
    "deliveries",
    "delivery_activities",
    "delivery_hosts",
    "follower_hosts",
    "follower_syncs",
    "gazette_migrations",
    "health_probe",
    "login_attempts",
    "login_counters",
    "newsletter_issues",
    "newsletter_key",
    "newsletter_outbox",
    "newsletter_subscribers",
    "password_resets",
    "received_activities",
    "remote_multikeys",
    "reports",
    "signature_schemes",
    "user_sessions",
];

/// The payload of the PostgreSQL notifications that only queue work.
const QUEUE_ONLY: &str = "deliveries";

/// How often SQLite's change counter is read: a read of one page header
/// from memory, so a wake-up comes within this much of a commit.
const SQLITE_CHECK_EVERY: Duration = Duration::from_millis(100);

/// How long the notifications that follow a first one on PostgreSQL are
/// gathered into one report: a busy inbox notifies for every activity, and
/// each report costs every woken worker its queries, so a thousand
/// activities a second would cost several thousand queries a second.
const POSTGRES_GATHER: Duration = Duration::from_millis(20);

/// One report of [`Changes::changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Whether a write may have changed what readers see (else only work
    /// was queued or bookkept).
    pub content: bool,
}

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
        /// `content_version.n` when last read.
        content: i64,
        every: tokio::time::Interval,
    },
    Postgres {
        /// What the listening task has heard since the last report.
        heard: std::sync::Arc<Heard>,
        /// The task reading the notifications (stopped with the watch).
        task: tokio::task::JoinHandle<()>,
    },
}

/// Notifications read by the task of a PostgreSQL watch and not reported yet.
#[derive(Default)]
struct Heard {
    pending: std::sync::Mutex<Pending>,
    arrived: tokio::sync::Notify,
}

#[derive(Default)]
struct Pending {
    any: bool,
    content: bool,
    /// The listener failed for good; reported once, as an error.
    failed: Option<crate::error::StoreError>,
}

impl Heard {
    fn record(&self, update: impl FnOnce(&mut Pending)) {
        update(&mut self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.arrived.notify_one();
    }

    /// What was heard, if anything, emptied.
    fn take(&self) -> Option<StoreResult<Change>> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = pending.failed.take() {
            return Some(Err(e));
        }
        let change = pending.any.then_some(Change {
            content: pending.content,
        });
        *pending = Pending::default();
        change.map(Ok)
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        if let Watch::Postgres { task, .. } = &self.watch {
            task.abort();
        }
    }
}

/// Reads the notifications of `listener` for as long as the watch lives.
async fn listen(mut listener: PgListener, heard: std::sync::Arc<Heard>) {
    loop {
        match listener.try_recv().await {
            Ok(n) => {
                // `None`: the connection dropped (it reconnects on the next
                // call), and what was notified meanwhile is lost.
                let content = n.as_ref().is_none_or(|n| n.payload() != QUEUE_ONLY);
                heard.record(|p| {
                    p.any = true;
                    p.content |= content;
                });
            }
            Err(e) => {
                heard.record(|p| p.failed = Some(e.into()));
                return;
            }
        }
    }
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
                let content = content_version(&mut conn).await?;
                let mut every = tokio::time::interval(SQLITE_CHECK_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                Watch::Sqlite {
                    conn,
                    version,
                    content,
                    every,
                }
            }
            Backend::Postgres => {
                let mut listener = PgListener::connect(self.url.as_str()).await?;
                listener.listen(CHANNEL).await?;
                let heard = std::sync::Arc::new(Heard::default());
                let task = tokio::spawn(listen(listener, heard.clone()));
                Watch::Postgres { heard, task }
            }
        };
        Ok(Changes { watch })
    }
}

impl Changes {
    /// Waits until some process commits a change after the previous call
    /// (on SQLite, any commit; on PostgreSQL, one that queues deliveries,
    /// records an article change or writes an article). Several changes
    /// before a call are reported once, as a change of content if any of
    /// them was; on PostgreSQL so are those within [`POSTGRES_GATHER`] of
    /// the first. After the PostgreSQL connection was lost (and
    /// reconnected), reports a change of content, since notifications sent
    /// meanwhile are gone.
    pub async fn changed(&mut self) -> StoreResult<Change> {
        match &mut self.watch {
            Watch::Sqlite {
                conn,
                version,
                content,
                every,
            } => loop {
                every.tick().await;
                let now = data_version(conn).await?;
                if now != *version {
                    *version = now;
                    let counted = content_version(conn).await?;
                    let moved = counted != *content;
                    *content = counted;
                    return Ok(Change { content: moved });
                }
            },
            // Cancel-safe: what was heard stays until a call reports it.
            Watch::Postgres { heard, .. } => loop {
                if let Some(change) = heard.take() {
                    return change;
                }
                heard.arrived.notified().await;
                // What follows closely is the same news.
                tokio::time::sleep(POSTGRES_GATHER).await;
            },
        }
    }
}

impl Store {
    /// Tells every process watching [`Store::changes`] that something was
    /// written which the database's own signal may not cover (a profile,
    /// a reply, settings): on PostgreSQL a notification on the channel
    /// the triggers use; on SQLite nothing, since its change counter moves
    /// with every commit.
    ///
    /// Calls made while a notification is being sent share the next one:
    /// each returns once a notification that began after it was sent, so a
    /// busy inbox (every activity it accepts is announced) sends one at a
    /// time rather than one per activity.
    pub async fn announce_change(&self) -> StoreResult<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        self.announcer
            .run(|| async {
                sqlx::query("SELECT pg_notify($1, 'write')")
                    .bind(CHANNEL)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
            })
            .await?;
        Ok(())
    }
}

impl Store {
    /// What the content signal misses: each table of the schema in neither
    /// [`CONTENT_TABLES`] nor [`NOT_CONTENT`], and on SQLite each content
    /// table without its three counting triggers, by name. Empty when
    /// every write a reader could see empties the page caches.
    pub async fn change_signal_gaps(&self) -> StoreResult<Vec<String>> {
        let tables_sql = crate::dialect::schema_tables(self.backend);
        let mut gaps = Vec::new();
        let rows = sqlx::query(tables_sql).fetch_all(&self.pool).await?;
        if rows.len() < CONTENT_TABLES.len() {
            gaps.push(format!("only {} tables found: is the database migrated?", rows.len()));
        }
        for row in rows {
            let name: String = row.try_get(0)?;
            if !CONTENT_TABLES.contains(&name.as_str()) && !NOT_CONTENT.contains(&name.as_str()) {
                gaps.push(format!("table {name} is not classified"));
            }
        }
        if self.backend == Backend::Sqlite {
            for table in CONTENT_TABLES {
                let row = sqlx::query(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1 \
                     AND name IN ($2, $3, $4) AND sql LIKE '%content_version%'",
                )
                .bind(*table)
                .bind(format!("{table}_content_ai"))
                .bind(format!("{table}_content_au"))
                .bind(format!("{table}_content_ad"))
                .fetch_one(&self.pool)
                .await?;
                let n: i64 = row.try_get(0)?;
                if n != 3 {
                    gaps.push(format!("table {table} has {n} of its 3 content triggers"));
                }
            }
        }
        Ok(gaps)
    }
}

async fn content_version(conn: &mut sqlx::AnyConnection) -> StoreResult<i64> {
    let row = sqlx::query("SELECT n FROM content_version WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get(0)?)
}

async fn data_version(conn: &mut sqlx::AnyConnection) -> StoreResult<i64> {
    let row = sqlx::query("PRAGMA data_version").fetch_one(&mut *conn).await?;
    Ok(row.try_get(0)?)
}
