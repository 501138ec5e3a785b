//! What a sysadmin's commands need from the database beside the content:
//! a consistent copy of a running SQLite database (`gazette backup`), and
//! whether a database is still blank (`gazette restore` writes only into one).

use std::path::Path;

use sqlx::Row;

use crate::error::{StoreError, StoreResult};
use crate::{Backend, Store};

impl Store {
    /// Writes a consistent copy of the SQLite database to `path` while
    /// others keep reading and writing (`VACUUM INTO`, inside one read
    /// transaction: the copy is the database as of one commit, compacted).
    /// `path` must not exist. PostgreSQL is copied with `pg_dump` instead:
    /// this refuses it.
    pub async fn backup_sqlite_into(&self, path: &Path) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config(
                "a PostgreSQL database is copied with pg_dump, not by the store".into(),
            ));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Config(format!("backup file {}: not valid UTF-8", path.display())))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await?;
        Ok(())
    }

    /// True when the database holds no table at all (not even Gazette's
    /// migration record): what `gazette restore` writes into.
    pub async fn is_blank(&self) -> StoreResult<bool> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            }
        };
        let n: i64 = sqlx::query(sql).fetch_one(&self.pool).await?.try_get("n")?;
        Ok(n == 0)
    }
}
