//! Schema migrations, embedded in the binary: the same version numbers for
//! SQLite and PostgreSQL, applied in order, each in its own transaction, with
//! a checksum so an edited migration is noticed instead of silently skipped.

use sqlx::{Acquire, Executor, Row};

use crate::error::{StoreError, StoreResult};
use crate::ids::sha256_hex;
use crate::{Backend, Store};

/// One schema change in both dialects.
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "init",
        sqlite: include_str!("../../../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        description: "federation",
        sqlite: include_str!("../../../migrations/sqlite/0002_federation.sql"),
        postgres: include_str!("../../../migrations/postgres/0002_federation.sql"),
    },
    Migration {
        version: 3,
        description: "deliveries",
        sqlite: include_str!("../../../migrations/sqlite/0003_deliveries.sql"),
        postgres: include_str!("../../../migrations/postgres/0003_deliveries.sql"),
    },
    Migration {
        version: 4,
        description: "network",
        sqlite: include_str!("../../../migrations/sqlite/0004_network.sql"),
        postgres: include_str!("../../../migrations/postgres/0004_network.sql"),
    },
    Migration {
        version: 5,
        description: "safety",
        sqlite: include_str!("../../../migrations/sqlite/0005_safety.sql"),
        postgres: include_str!("../../../migrations/postgres/0005_safety.sql"),
    },
    Migration {
        version: 6,
        description: "reports",
        sqlite: include_str!("../../../migrations/sqlite/0006_reports.sql"),
        postgres: include_str!("../../../migrations/postgres/0006_reports.sql"),
    },
    Migration {
        version: 7,
        description: "outbox",
        sqlite: include_str!("../../../migrations/sqlite/0007_outbox.sql"),
        postgres: include_str!("../../../migrations/postgres/0007_outbox.sql"),
    },
    Migration {
        version: 8,
        description: "accounts",
        sqlite: include_str!("../../../migrations/sqlite/0008_accounts.sql"),
        postgres: include_str!("../../../migrations/postgres/0008_accounts.sql"),
    },
    Migration {
        version: 9,
        description: "network coordinator",
        sqlite: include_str!("../../../migrations/sqlite/0009_network_coordinator.sql"),
        postgres: include_str!("../../../migrations/postgres/0009_network_coordinator.sql"),
    },
    Migration {
        version: 10,
        description: "admin indexes",
        sqlite: include_str!("../../../migrations/sqlite/0010_admin_indexes.sql"),
        postgres: include_str!("../../../migrations/postgres/0010_admin_indexes.sql"),
    },
    Migration {
        version: 11,
        description: "user email",
        sqlite: include_str!("../../../migrations/sqlite/0011_user_email.sql"),
        postgres: include_str!("../../../migrations/postgres/0011_user_email.sql"),
    },
    Migration {
        version: 12,
        description: "admin search and settings",
        sqlite: include_str!("../../../migrations/sqlite/0012_admin_search_settings.sql"),
        postgres: include_str!("../../../migrations/postgres/0012_admin_search_settings.sql"),
    },
    Migration {
        version: 13,
        description: "network rate limits",
        sqlite: include_str!("../../../migrations/sqlite/0013_network_rate_limits.sql"),
        postgres: include_str!("../../../migrations/postgres/0013_network_rate_limits.sql"),
    },
    Migration {
        version: 14,
        description: "shared feed indexes",
        sqlite: include_str!("../../../migrations/sqlite/0014_shared_feed_indexes.sql"),
        postgres: include_str!("../../../migrations/postgres/0014_shared_feed_indexes.sql"),
    },
    Migration {
        version: 15,
        description: "shared feed search key",
        sqlite: include_str!("../../../migrations/sqlite/0015_shared_feed_search_key.sql"),
        postgres: include_str!("../../../migrations/postgres/0015_shared_feed_search_key.sql"),
    },
    // 16 and 17 were never released: they were numbers set aside for work
    // done in parallel that ended up in other migrations. Versions only need
    // to increase; a gap is harmless, and no database has ever recorded them.
    Migration {
        version: 18,
        description: "time zones and follower search",
        sqlite: include_str!("../../../migrations/sqlite/0018_time_zones_follower_search.sql"),
        postgres: include_str!("../../../migrations/postgres/0018_time_zones_follower_search.sql"),
    },
    Migration {
        version: 19,
        description: "article counts",
        sqlite: include_str!("../../../migrations/sqlite/0019_article_counts.sql"),
        postgres: include_str!("../../../migrations/postgres/0019_article_counts.sql"),
    },
    Migration {
        version: 20,
        description: "feed tag and language dates",
        sqlite: include_str!("../../../migrations/sqlite/0020_feed_tag_language_dates.sql"),
        postgres: include_str!("../../../migrations/postgres/0020_feed_tag_language_dates.sql"),
    },
    Migration {
        version: 21,
        description: "article media refs",
        sqlite: include_str!("../../../migrations/sqlite/0021_article_media_refs.sql"),
        postgres: include_str!("../../../migrations/postgres/0021_article_media_refs.sql"),
    },
    Migration {
        version: 22,
        description: "follower search trigrams",
        sqlite: include_str!("../../../migrations/sqlite/0022_follower_search_trigrams.sql"),
        postgres: include_str!("../../../migrations/postgres/0022_follower_search_trigrams.sql"),
    },
    Migration {
        version: 23,
        description: "feed search vectors",
        sqlite: include_str!("../../../migrations/sqlite/0023_feed_search_vectors.sql"),
        postgres: include_str!("../../../migrations/postgres/0023_feed_search_vectors.sql"),
    },
    Migration {
        version: 24,
        description: "feed text index",
        sqlite: include_str!("../../../migrations/sqlite/0024_feed_text_index.sql"),
        postgres: include_str!("../../../migrations/postgres/0024_feed_text_index.sql"),
    },
    Migration {
        version: 25,
        description: "tag labels",
        sqlite: include_str!("../../../migrations/sqlite/0025_tag_labels.sql"),
        postgres: include_str!("../../../migrations/postgres/0025_tag_labels.sql"),
    },
    Migration {
        version: 26,
        description: "hostile clients: sign-in counters, token owners and expiry, health probe",
        sqlite: include_str!("../../../migrations/sqlite/0026_hostile_clients.sql"),
        postgres: include_str!("../../../migrations/postgres/0026_hostile_clients.sql"),
    },
    Migration {
        version: 27,
        description: "instance identity",
        sqlite: include_str!("../../../migrations/sqlite/0027_instance_identity.sql"),
        postgres: include_str!("../../../migrations/postgres/0027_instance_identity.sql"),
    },
    Migration {
        version: 29,
        description: "member retries: failed backfills retried with backoff",
        sqlite: include_str!("../../../migrations/sqlite/0029_member_retries.sql"),
        postgres: include_str!("../../../migrations/postgres/0029_member_retries.sql"),
    },
    Migration {
        version: 30,
        description: "newsletter: subscribers, issues, outbox, link key",
        sqlite: include_str!("../../../migrations/sqlite/0030_newsletter.sql"),
        postgres: include_str!("../../../migrations/postgres/0030_newsletter.sql"),
    },
    Migration {
        version: 31,
        description: "imports: imported posts and images, images that need alt text",
        sqlite: include_str!("../../../migrations/sqlite/0031_imports.sql"),
        postgres: include_str!("../../../migrations/postgres/0031_imports.sql"),
    },
    Migration {
        version: 32,
        description: "feed change signal: the shared feed's writes notify every server on PostgreSQL",
        sqlite: include_str!("../../../migrations/sqlite/0032_feed_change_signal.sql"),
        postgres: include_str!("../../../migrations/postgres/0032_feed_change_signal.sql"),
    },
    Migration {
        version: 33,
        description: "signature schemes: the HTTP signature profile each remote host accepted",
        sqlite: include_str!("../../../migrations/sqlite/0033_signature_schemes.sql"),
        postgres: include_str!("../../../migrations/postgres/0033_signature_schemes.sql"),
    },
    Migration {
        version: 34,
        description: "content version: only writes readers can see empty the servers' page caches",
        sqlite: include_str!("../../../migrations/sqlite/0034_content_version.sql"),
        postgres: include_str!("../../../migrations/postgres/0034_content_version.sql"),
    },
    Migration {
        version: 35,
        description: "key rotation: key generations and the old keys served during their grace period",
        sqlite: include_str!("../../../migrations/sqlite/0035_key_rotation.sql"),
        postgres: include_str!("../../../migrations/postgres/0035_key_rotation.sql"),
    },
    Migration {
        version: 36,
        description: "integrity proofs: local actors' Ed25519 keys, other servers' Multikeys, signed member articles",
        sqlite: include_str!("../../../migrations/sqlite/0036_integrity_proofs.sql"),
        postgres: include_str!("../../../migrations/postgres/0036_integrity_proofs.sql"),
    },
    Migration {
        version: 37,
        description: "quotes: FEP-044f quote requests answered, their stamps, and per-article quote policies",
        sqlite: include_str!("../../../migrations/sqlite/0037_quotes.sql"),
        postgres: include_str!("../../../migrations/postgres/0037_quotes.sql"),
    },
    Migration {
        version: 38,
        description: "follower synchronisation: the followers digest of each delivery, and when each remote actor's followers were last compared",
        sqlite: include_str!("../../../migrations/sqlite/0038_follower_sync.sql"),
        postgres: include_str!("../../../migrations/postgres/0038_follower_sync.sql"),
    },
    Migration {
        version: 39,
        description: "key rotation: an old key keeps its private half during its grace period, to sign the Update announcing the new one",
        sqlite: include_str!("../../../migrations/sqlite/0039_rotation_update_key.sql"),
        postgres: include_str!("../../../migrations/postgres/0039_rotation_update_key.sql"),
    },
    Migration {
        version: 40,
        description: "threads: a local reply keeps the context (FEP-7888) of the object it answers",
        sqlite: include_str!("../../../migrations/sqlite/0040_reply_context.sql"),
        postgres: include_str!("../../../migrations/postgres/0040_reply_context.sql"),
    },
    Migration {
        version: 41,
        description: "Ed25519 keys rotate with the RSA keys: generations, and the replaced keys kept for their grace period",
        sqlite: include_str!("../../../migrations/sqlite/0041_ed25519_key_rotation.sql"),
        postgres: include_str!("../../../migrations/postgres/0041_ed25519_key_rotation.sql"),
    },
    Migration {
        version: 42,
        description: "a coordinator's kept copy names the key of its proof, to be replaced when that key retires",
        sqlite: include_str!("../../../migrations/sqlite/0042_kept_copy_keys.sql"),
        postgres: include_str!("../../../migrations/postgres/0042_kept_copy_keys.sql"),
    },
];

/// Arbitrary constant naming Gazette's migration lock on PostgreSQL.
const PG_LOCK_KEY: i64 = 0x0067_617a_6574_7465;

impl Store {
    /// Applies every migration not yet applied; returns the versions applied now.
    /// Safe to call from several processes at once on PostgreSQL (advisory lock).
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        let mut conn = self.writer().acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        let result = self.migrate_locked(&mut conn).await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        let done = result?;
        drop(conn);
        // Data that SQL alone cannot write (accent folding), for rows from
        // before the migration that added it; nothing to do after the first start.
        let keyed = self.fill_actor_search_keys().await?;
        if keyed > 0 {
            tracing::info!(actors = keyed, "wrote follower search keys");
        }
        let indexed = self.fill_feed_search_vectors().await?;
        if indexed > 0 {
            tracing::info!(items = indexed, "indexed shared feed items for search");
        }
        Ok(done)
    }

    /// The migrations [`Store::migrate`] would apply now, in order, without
    /// applying any (nor creating the table that records them).
    pub async fn pending_migrations(&self) -> StoreResult<Vec<&'static Migration>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'gazette_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables
                 WHERE table_name = 'gazette_migrations' AND table_schema = current_schema()"
            }
        };
        let n: i64 = sqlx::query(sql).fetch_one(&self.pool).await?.try_get("n")?;
        let mut applied = Vec::new();
        if n > 0 {
            for row in sqlx::query("SELECT version FROM gazette_migrations")
                .fetch_all(&self.pool)
                .await?
            {
                let version: i64 = row.try_get("version")?;
                if !MIGRATIONS.iter().any(|m| m.version == version) {
                    return Err(StoreError::Migration(format!(
                        "the database is at schema version {version}, newer than this Gazette knows; upgrade Gazette"
                    )));
                }
                applied.push(version);
            }
        }
        Ok(MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)).collect())
    }

    async fn migrate_locked(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<Vec<i64>> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS gazette_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .await?;
        let rows = sqlx::query("SELECT version, checksum FROM gazette_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
        let mut applied = Vec::new();
        for row in &rows {
            let version: i64 = row.try_get("version")?;
            let checksum: String = row.try_get("checksum")?;
            match MIGRATIONS.iter().find(|m| m.version == version) {
                None => {
                    return Err(StoreError::Migration(format!(
                        "the database is at schema version {version}, newer than this Gazette knows; upgrade Gazette"
                    )));
                }
                Some(m) if sha256_hex(self.sql_of(m).as_bytes()) != checksum => {
                    return Err(StoreError::Migration(format!(
                        "migration {version} ({}) changed after it was applied",
                        m.description
                    )));
                }
                Some(_) => applied.push(version),
            }
        }
        let mut done = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let sql = self.sql_of(m);
            let mut tx = conn.begin().await?;
            tx.execute(sqlx::raw_sql(sql)).await.map_err(|e| {
                StoreError::Migration(format!("migration {} ({}) failed: {e}", m.version, m.description))
            })?;
            sqlx::query(
                "INSERT INTO gazette_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.description)
            .bind(sha256_hex(sql.as_bytes()))
            .bind(crate::time::to_db(crate::time::now()))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, description = m.description, "applied migration");
            done.push(m.version);
        }
        Ok(done)
    }

    fn sql_of(&self, m: &Migration) -> &'static str {
        match self.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        }
    }
}
