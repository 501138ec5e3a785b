//! Throw-away databases for tests: a SQLite file in the temp dir, or a fresh
//! PostgreSQL database created through `GAZETTE_TEST_POSTGRES_URL` (an admin
//! connection URL). `GAZETTE_TEST_REQUIRE_POSTGRES=1` makes a missing URL an
//! error instead of a skip, so CI can never pass without PostgreSQL.

use std::path::PathBuf;

use sqlx::AnyConnection;
use sqlx::Connection;
use sqlx::Executor;

use gazette_core::{FollowStatus, RemoteActor};

use crate::ids::new_id;
use crate::sql::{Sql, Value};
use crate::time::to_db;
use crate::{Backend, Store, StoreResult};

/// Takes the write lock of the database at `url` on a connection of its
/// own, as another process writing would, and holds it until the returned
/// connection is dropped: for tests of what happens when writes cannot get
/// through.
pub async fn hold_write_lock(url: &str) -> StoreResult<AnyConnection> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await?;
    if url.starts_with("sqlite:") {
        conn.execute("BEGIN IMMEDIATE").await?;
    } else {
        conn.execute("BEGIN").await?;
        conn.execute("LOCK TABLE health_probe IN EXCLUSIVE MODE").await?;
    }
    Ok(conn)
}

/// On SQLite, how many times the group commits flushed the write-ahead log
/// so far, and the writing connection's `synchronous` setting now (2 is
/// `FULL`, what every write outside a group commit gets); `None` on
/// PostgreSQL.
pub async fn wal_flush_state(store: &Store) -> StoreResult<Option<(u64, i64)>> {
    store.wal_flush_state().await
}

/// Runs the SQL script `sql` (several statements) on the database at `url`,
/// creating a SQLite file if there is none, without migrating anything: for
/// tests that build a database as an older release left it.
pub async fn run_script(url: &str, sql: &str) -> StoreResult<()> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") && !url.contains("mode=") {
        format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
    } else {
        url.to_owned()
    };
    let mut conn = AnyConnection::connect(&url).await?;
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))).await?;
    conn.close().await?;
    Ok(())
}

/// Rows per multi-row `INSERT` in [`seed_followers`]: 13 columns stay well
/// under SQLite's and PostgreSQL's limits on bound parameters.
const SEED_BATCH: usize = 500;

/// Stores `actors` as remote actors following `local_actor` with `status`,
/// in multi-row inserts, one transaction per [`SEED_BATCH`]: seeding tens
/// of thousands of followers for benchmarks takes seconds instead of one
/// commit each, and the per-host counts the triggers update are not left
/// with one dead row version per follower on PostgreSQL, as one huge
/// transaction would (a table that grew follow by follow has no such bloat).
/// Actors already stored are left as they are.
pub async fn seed_followers(
    store: &Store,
    local_actor: &str,
    actors: &[RemoteActor],
    status: FollowStatus,
) -> StoreResult<()> {
    for chunk in actors.chunks(SEED_BATCH) {
        let mut tx = store.begin_write().await?;
        let mut q = Sql::new(
            "INSERT INTO remote_actors (id, kind, preferred_username, name, host, inbox, shared_inbox, url, icon,
                                        public_key_id, public_key_pem, moved_to, refreshed_at, search_key)
             VALUES ",
        );
        for (i, a) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .bind_list([
                    Value::from(&a.id),
                    Value::from(&a.kind),
                    Value::from(&a.preferred_username),
                    Value::from(&a.name),
                    Value::from(&a.host),
                    Value::from(&a.inbox),
                    Value::from(a.shared_inbox.clone()),
                    Value::from(a.url.clone()),
                    Value::from(a.icon.clone()),
                    Value::from(&a.public_key_id),
                    Value::from(&a.public_key_pem),
                    Value::from(a.moved_to.clone()),
                    Value::from(to_db(a.refreshed_at)),
                    Value::from(crate::follower_pages::actor_search_key(
                        &a.name,
                        &a.preferred_username,
                        &a.host,
                    )),
                ])
                .push(")");
        }
        q.push(" ON CONFLICT (id) DO NOTHING");
        q.query().execute(&mut *tx).await?;
        let mut q = Sql::new("INSERT INTO followers (local_actor, follower, status, follow_id, created_at) VALUES ");
        for (i, a) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .bind_list([
                    Value::from(local_actor),
                    Value::from(&a.id),
                    Value::from(status.as_str()),
                    Value::from(format!("{}#follow", a.id)),
                    Value::from(to_db(a.refreshed_at)),
                ])
                .push(")");
        }
        q.push(" ON CONFLICT (local_actor, follower) DO NOTHING");
        q.query().execute(&mut *tx).await?;
        tx.commit().await?;
        store.follower_inboxes.clear();
    }
    Ok(())
}

/// Stores `emails` as confirmed newsletter subscribers in `language`, in
/// multi-row inserts (for benchmarks: tens of thousands in seconds).
pub async fn seed_subscribers(store: &Store, emails: &[String], language: &str) -> StoreResult<()> {
    let t = to_db(chrono::Utc::now());
    for chunk in emails.chunks(SEED_BATCH) {
        let mut tx = store.begin_write().await?;
        let mut q = Sql::new(
            "INSERT INTO newsletter_subscribers (id, email, language, status, created_at, confirmed_at, asked_at)
             VALUES ",
        );
        for (i, email) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .bind_list([Value::from(new_id()), Value::from(email), Value::from(language)])
                .push(&format!(", 'confirmed', {t}, {t}, {t})"));
        }
        q.push(" ON CONFLICT (email) DO NOTHING");
        q.query().execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// After a bulk seed, what PostgreSQL's autovacuum does on a live
/// instance: `VACUUM ANALYZE` (the visibility map index-only scans need,
/// the planner's statistics). SQLite has no such upkeep, and Gazette does
/// not run `ANALYZE` on it, so nothing is done there.
pub async fn settle(store: &Store) -> StoreResult<()> {
    if store.backend() == Backend::Postgres {
        sqlx::query("VACUUM ANALYZE").execute(&store.pool).await?;
    }
    Ok(())
}

/// A migrated database that is removed when dropped.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("gazette-test-{}", new_id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}/gazette.db", dir.display());
        let store = Store::connect(&url, 4).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb {
            store,
            url,
            cleanup: Cleanup::File(dir),
        }
    }

    /// `None` when no PostgreSQL is configured (and none is required).
    pub async fn postgres() -> Option<TestDb> {
        let url = Self::postgres_url()?;
        let (store, url, name) = Self::create_pg(&url).await.expect("create postgres test database");
        Some(TestDb {
            store,
            url,
            cleanup: Cleanup::Database {
                admin_url: Self::postgres_url()?,
                name,
            },
        })
    }

    /// The admin URL, if configured; panics when it is required but missing.
    pub fn postgres_url() -> Option<String> {
        match std::env::var("GAZETTE_TEST_POSTGRES_URL") {
            Ok(u) if !u.is_empty() => Some(u),
            _ => {
                if std::env::var("GAZETTE_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("GAZETTE_TEST_REQUIRE_POSTGRES=1 but GAZETTE_TEST_POSTGRES_URL is not set");
                }
                eprintln!("skipping PostgreSQL: GAZETTE_TEST_POSTGRES_URL is not set");
                None
            }
        }
    }

    /// Creates an empty database next to the admin one and returns its URL.
    pub async fn create_pg_database(admin_url: &str) -> StoreResult<(String, String)> {
        sqlx::any::install_default_drivers();
        let name = format!("gazette_test_{}", new_id());
        let mut admin = AnyConnection::connect(admin_url).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        admin.close().await?;
        Ok((replace_db_name(admin_url, &name), name))
    }

    /// Takes ownership of a database made by [`TestDb::create_pg_database`]
    /// without migrating it (the code under test does), so it is dropped at the end.
    pub async fn postgres_existing(admin_url: &str, url: &str, name: &str) -> TestDb {
        let store = Store::connect(url, 1).await.expect("connect to postgres test database");
        TestDb {
            store,
            url: url.to_owned(),
            cleanup: Cleanup::Database {
                admin_url: admin_url.to_owned(),
                name: name.to_owned(),
            },
        }
    }

    async fn create_pg(admin_url: &str) -> StoreResult<(Store, String, String)> {
        let (url, name) = Self::create_pg_database(admin_url).await?;
        let store = Store::connect(&url, 4).await?;
        store.migrate().await?;
        Ok((store, url, name))
    }
}

/// `postgres://h/db?x` → `postgres://h/NAME?x`.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                // Dropping needs async I/O; do it on a short-lived thread so it works
                // inside and outside a runtime. FORCE ends the pool's connections.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut admin) = AnyConnection::connect(&admin_url).await {
                            let _ = admin
                                .execute(sqlx::AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                )))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Instantiates each named async test function twice, in a module `sqlite`
/// and a module `postgres`, each on a fresh [`TestDb`] of that backend (a
/// backend that is not configured is skipped, unless
/// `GAZETTE_TEST_REQUIRE_POSTGRES` makes that an error).
///
/// `each_backend!(a, b)` calls `a(&Store)`; `each_backend!(db: a, b)` calls
/// `a(&TestDb)`; `each_backend!(threads 4; db: a, b)` does the same on a
/// multi-thread runtime of that many workers.
#[macro_export]
macro_rules! each_backend {
    (threads $n:literal; db: $($name:ident),* $(,)?) => {
        $crate::each_backend!(@each [tokio::test(flavor = "multi_thread", worker_threads = $n)] db => &db; $($name),*);
    };
    (db: $($name:ident),* $(,)?) => {
        $crate::each_backend!(@each [tokio::test] db => &db; $($name),*);
    };
    (@each [$attr:meta] $db:ident => $arg:expr; $($name:ident),*) => {
        mod sqlite {
            $(#[$attr] async fn $name() {
                if let Some($db) = $crate::testing::TestDb::new($crate::Backend::Sqlite).await {
                    super::$name($arg).await
                }
            })*
        }
        mod postgres {
            $(#[$attr] async fn $name() {
                if let Some($db) = $crate::testing::TestDb::new($crate::Backend::Postgres).await {
                    super::$name($arg).await
                }
            })*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::each_backend!(@each [tokio::test] db => &db.store; $($name),*);
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_db_name() {
        assert_eq!(
            super::replace_db_name("postgres:///postgres?host=/var/run/postgresql", "t1"),
            "postgres:///t1?host=/var/run/postgresql"
        );
        assert_eq!(
            super::replace_db_name("postgres://u:p@localhost:5432/x", "t1"),
            "postgres://u:p@localhost:5432/t1"
        );
    }
}
