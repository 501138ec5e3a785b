//! Gazette storage: the only crate that speaks SQL. One [`Store`] serves SQLite
//! and PostgreSQL through sqlx's `Any` driver, so every query is written once;
//! the few dialect-specific statements live in [`dialect`].

mod articles;
mod authors;
mod changes;
mod coalesce;
mod deliveries;
mod dialect;
mod ed25519_rotation;
mod error;
mod federation;
mod feed_facets;
mod feed_moderation;
mod follower_pages;
mod follower_sync;
mod group_commit;
mod identity;
mod ids;
mod imports;
mod integrity_keys;
mod interactions;
mod key_rotation;
mod maintenance;
mod media;
mod members;
mod migrate;
mod moment_cache;
mod network;
mod newsletter;
mod organisation;
mod password;
mod quotes;
mod received_interactions;
mod reports;
mod safety;
mod settings;
mod shared_feed;
mod signature_schemes;
mod sql;
#[cfg(feature = "test-util")]
pub mod testing;
mod time;
mod tokens;
mod users;
mod wal_flush;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

pub use articles::{ArticlePage, ArticleQuery, ArticleView, PendingArticleEvent, QuotePolicyChange, TagCount};
pub use changes::{CONTENT_TABLES, Change, Changes, NOT_CONTENT};
pub use deliveries::{
    Delivery, DeliveryOutcome, DeliveryRecord, DeliveryResult, DeliveryStatus, DeliverySummary, HostDeliveryStats,
    Recorded, RetryPolicy, inbox_host,
};
pub use ed25519_rotation::{NewEd25519Key, OldEd25519Key, ed25519_key_fragment};
pub use error::{StoreError, StoreResult};
pub use federation::{COMMENT_STATUSES, Follower, InteractionCounts, ModerationComment};
pub use feed_facets::{FacetCount, FeedFacets};
pub use feed_moderation::ModeratedItem;
pub use follower_pages::{FollowerCursor, FollowerFilter, FollowerPage};
pub use follower_sync::{LocalFollow, followers_digest};
pub use identity::{PublicUrlSource, RecordedPublicUrl};
pub use imports::{ImportImage, ImportOutcome, ImportedPost};
pub use integrity_keys::{Ed25519Key, KeptCopy, RemoteMultikey};
pub use key_rotation::{ActorKey, OldActorKey, RotatedKeys, key_fragment};
pub use media::{MediaUse, NewMedia};
pub use members::MemberHealth;
pub use migrate::{MIGRATIONS, Migration};
pub use network::Following;
pub use newsletter::{NewsletterMail, NewsletterMailKind, Subscribed, Subscriber, SubscriberCount};
pub use password::{MIN_PASSWORD_CHARS, check_password};
pub use quotes::{Quote, QuoteAnswer, QuoteState};
pub use reports::Report;
pub use safety::{
    ActorBlock, DomainAllow, DomainBlock, DomainLists, PurgeReport, SenderCheck, SenderLists, host_candidates,
    normalise_domain,
};
pub use settings::StoredSetting;
pub use shared_feed::{Boost, FeedEntry, FeedPage, ItemWrite};
pub use signature_schemes::{KnownScheme, SignatureScheme};
pub use users::{LoginAttempts, LoginFailures, NewUser, Role, Session, User, normalise_username};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone (pools inside).
#[derive(Clone, Debug)]
pub struct Store {
    /// Every read, and every write on PostgreSQL.
    pool: AnyPool,
    /// Writes on SQLite: one connection, so writers wait their turn in a
    /// queue inside the process instead of polling SQLite's write lock
    /// (its busy handler sleeps up to 100 ms between tries, which under
    /// many concurrent writers costs more than the writes). On PostgreSQL
    /// the same pool as `pool`.
    writer: AnyPool,
    backend: Backend,
    /// Member-article writes waiting for a shared transaction.
    items: std::sync::Arc<group_commit::ItemQueue>,
    /// The inbox's recent block-list answers ([`Store::sender_check`]).
    senders: std::sync::Arc<moment_cache::MomentCache<safety::SenderCheck, 6>>,
    /// The inbox's recent answers to "which member is on this host"
    /// ([`Store::member_on_host`]) and "where do the network actor's
    /// followers receive its boosts" ([`Store::follower_inboxes_of`]).
    members: std::sync::Arc<moment_cache::MomentCache<Option<gazette_core::Member>>>,
    follower_inboxes: std::sync::Arc<moment_cache::MomentCache<Vec<String>>>,
    /// Received likes and boosts waiting for a shared statement (SQLite).
    interactions: std::sync::Arc<received_interactions::InteractionQueue>,
    /// [`Store::announce_change`]'s notifications, shared by concurrent calls.
    announcer: std::sync::Arc<coalesce::Coalesced>,
    /// The SQLite write-ahead log, flushed by the group commits that set
    /// the writing connection not to (see [`wal_flush`]); `None` on
    /// PostgreSQL or without a log file.
    wal: Option<std::sync::Arc<wal_flush::WalFlush>>,
    /// Set while a group commit holds the writing connection so relaxed.
    relaxed: wal_flush::Relaxed,
    /// The URL connected to, for connections outside the pools (the
    /// PostgreSQL listener of [`Store::changes`]).
    url: ConnectUrl,
}

/// A database URL, kept out of `Debug` output (it may hold a password).
#[derive(Clone)]
struct ConnectUrl(std::sync::Arc<str>);

impl ConnectUrl {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ConnectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectUrl(…)")
    }
}

impl Store {
    /// Connects to `url` (`sqlite://FILE` or `postgres://…`). A SQLite file is
    /// created if missing and opened in WAL mode with foreign keys on, full
    /// fsync on commit, a busy timeout (for other processes: within this
    /// one, writes queue for the single writing connection), the writer
    /// reading through a memory map of up to 256 MiB with an 8 MiB page
    /// cache that may hold 32 MiB of changed pages (a batch of articles
    /// does not spill to the WAL before its commit), each reader through
    /// SQLite's default 2 MiB cache, and
    /// a checkpoint every 8,192 WAL pages rather than 1,000 (a page written
    /// again and again between checkpoints is copied once; `gazette serve`
    /// also copies the log beside the writes, see [`Store::checkpoint_wal`]).
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "database.url `{url}`: expected a sqlite:// or postgres:// URL"
            )));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options =
            AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Config(format!("database.url: {e}")))?;
        let relaxed = wal_flush::Relaxed::default();
        let pool_options = |connections: u32, writes: bool| {
            // No ping before handing out a connection: it was a round trip
            // to PostgreSQL (a hop to the connection's thread on SQLite) for
            // every statement, about a tenth of the server's CPU when member
            // articles pour in. A connection that broke meanwhile fails its
            // statement, is dropped by the pool, and the caller's error says
            // so (an inbox answers 500 and the sender retries).
            let pool = AnyPoolOptions::new()
                .max_connections(connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false);
            if backend != Backend::Sqlite {
                return pool;
            }
            let relaxed = relaxed.clone();
            let pool = if writes {
                pool.after_release(move |conn, _meta| {
                    let relaxed = relaxed.clone();
                    Box::pin(async move { Ok(wal_flush::restore_full_sync(conn, &relaxed).await) })
                })
            } else {
                pool
            };
            pool.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute(sqlx::raw_sql(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                         PRAGMA wal_autocheckpoint = 8192;",
                    ))
                    .await?;
                    // No connection maps the file: each copies the pages it
                    // reads into its own cache, the writer's 8 MiB (it
                    // writes a transaction's changed pages to the log
                    // early only past that), a reader's SQLite's default
                    // 2 MiB. Mapped, every page read stays in the process's
                    // resident memory up to the map's size: 137 MiB of a
                    // coordinator's 1.3 GB database under its benchmark
                    // when the writer mapped it, and a mapped page counts
                    // once for each connection that maps it.
                    if writes {
                        conn.execute("PRAGMA cache_size = -8192").await?;
                        // A statement that changes many rows inside a
                        // transaction (a batch of member articles) keeps
                        // the pages it changed, to undo itself alone if it
                        // fails: in memory, not in a temporary file past
                        // its first 64 KiB. Readers keep theirs on disk
                        // (a large sort would otherwise take memory).
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                    }
                    Ok(())
                })
            })
        };
        // The writer first: it creates the file and switches it to WAL.
        let writer = match backend {
            Backend::Sqlite => Some(pool_options(1, true).connect_with(options.clone()).await?),
            Backend::Postgres => None,
        };
        let pool = pool_options(max_connections, false).connect_with(options).await?;
        let wal = match &writer {
            Some(writer) => wal_flush::open(writer).await?.map(std::sync::Arc::new),
            None => None,
        };
        Ok(Store {
            wal,
            relaxed,
            writer: writer.unwrap_or_else(|| pool.clone()),
            pool,
            backend,
            items: std::sync::Arc::new(group_commit::ItemQueue::new(match backend {
                Backend::Sqlite => 1,
                Backend::Postgres => group_commit::POSTGRES_COMMITTERS,
            })),
            senders: Default::default(),
            members: Default::default(),
            follower_inboxes: Default::default(),
            announcer: Default::default(),
            interactions: Default::default(),
            url: ConnectUrl(url.into()),
        })
    }

    /// The pool writes go through (see [`Store::writer`]'s field).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections of the read pool: open, and of those idle (for `/metrics`).
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Answers when the database does (for `/healthz`).
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Rewrites one row of its own (for `/healthz`): fails when the
    /// database takes no writes (a read-only file, a full disk, a lock held
    /// past the busy timeout).
    pub async fn probe_write(&self) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO health_probe (id, written_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET written_at = $1",
        )
        .bind(crate::time::to_db(crate::time::now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Copies what the SQLite write-ahead log holds into the database file
    /// (a passive checkpoint, on a reading connection: it waits for no
    /// reader or writer), so the writing connection's own checkpoint, run
    /// as part of a commit once the log passes 8,192 pages, finds little
    /// left to copy and commits do not wait for the disk to take tens of
    /// megabytes. Returns the pages in the log and the pages copied so far;
    /// `None` on PostgreSQL, which checkpoints by itself.
    pub async fn checkpoint_wal(&self) -> StoreResult<Option<(i64, i64)>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((row.try_get(1)?, row.try_get(2)?)))
    }

    /// Starts a write transaction, on the writing connection. On SQLite it
    /// takes the write lock at once (`BEGIN IMMEDIATE`), so a writer in
    /// another process waits on the busy timeout instead of one failing
    /// when it upgrades from reading to writing.
    pub(crate) async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Closes every connection (after a checkpoint on SQLite).
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}
