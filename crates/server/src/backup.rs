//! `gazette backup`, `gazette restore` and `gazette migrate --check`: the
//! sysadmin's copies and upgrades. A SQLite backup is a database file
//! written by `VACUUM INTO` (one consistent snapshot, taken beside a running
//! server); a PostgreSQL backup is a `pg_dump` custom-format archive, and
//! restoring it runs `pg_restore`. A restore writes only into an empty data
//! directory or an empty database, and migrates the copy to this version.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use gazette_store::Store;

use crate::config::Config;
use crate::error::CliError;

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// The first bytes of a `pg_dump` custom-format archive.
const PG_DUMP_MAGIC: &[u8] = b"PGDMP";

/// `gazette backup FILE`.
pub async fn backup(config: &Config, file: &Path) -> Result<(), CliError> {
    if file.exists() {
        return Err(CliError::Usage(format!(
            "backup: {} already exists; give a new file name (a backup never overwrites)",
            file.display()
        )));
    }
    let url = config.database_url();
    // Written beside the target and renamed, so FILE is whole or absent.
    let partial = partial_name(file);
    let _ = std::fs::remove_file(&partial);
    if let Some(db) = sqlite_file(&url).filter(|db| !db.exists()) {
        return Err(CliError::Usage(format!(
            "backup: there is no database at {} (check --data-dir or database.url)",
            db.display()
        )));
    }
    let written = if url.starts_with("sqlite:") {
        // Not migrated: the running server (perhaps an older version) owns the schema.
        let store = Store::connect(&url, 1).await?;
        let result = store.backup_sqlite_into(&partial).await;
        store.close().await;
        result.map_err(CliError::from)
    } else {
        run_tool(
            Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&partial)
                .arg("--dbname")
                .arg(&url),
            "pg_dump",
        )
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, file).map_err(|e| CliError::Io {
        what: format!("cannot rename {} to {}", partial.display(), file.display()),
        source: e,
    })?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!("backup written: {} ({size} bytes)", file.display());
    Ok(())
}

/// `gazette restore FILE`.
pub async fn restore(config: &Config, file: &Path) -> Result<(), CliError> {
    let magic = read_magic(file)?;
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        if magic.starts_with(PG_DUMP_MAGIC) {
            return Err(CliError::Usage(format!(
                "restore: {} is a PostgreSQL archive (pg_dump); set database.url to an empty PostgreSQL database to restore it",
                file.display()
            )));
        }
        if !magic.starts_with(SQLITE_MAGIC) {
            return Err(CliError::Usage(format!(
                "restore: {} is not a Gazette backup (neither a SQLite database nor a pg_dump archive)",
                file.display()
            )));
        }
        restore_sqlite(config, &url, file).await
    } else {
        if !magic.starts_with(PG_DUMP_MAGIC) {
            return Err(CliError::Usage(format!(
                "restore: {} is not a pg_dump archive; a SQLite backup is restored with database.url unset \
                 (or sqlite://…) into an empty data directory",
                file.display()
            )));
        }
        restore_postgres(config, &url, file).await
    }
}

async fn restore_sqlite(config: &Config, url: &str, file: &Path) -> Result<(), CliError> {
    let db = sqlite_file(url).ok_or_else(|| {
        CliError::Usage(format!(
            "restore: database.url `{url}` names no database file to restore into"
        ))
    })?;
    let dir = db.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let taken = match std::fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(CliError::Io {
                what: format!("cannot read {}", dir.display()),
                source: e,
            });
        }
    };
    if taken {
        return Err(CliError::Usage(format!(
            "restore: {} is not empty; restore into an empty data directory (--data-dir NEW_DIR), \
             so nothing there is overwritten",
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Io {
        what: format!("cannot create {}", dir.display()),
        source: e,
    })?;
    let partial = partial_name(&db);
    std::fs::copy(file, &partial).map_err(|e| CliError::Io {
        what: format!("cannot copy {} to {}", file.display(), partial.display()),
        source: e,
    })?;
    let checked = check_and_migrate(&format!("sqlite://{}", partial.display()), config).await;
    if let Err(e) = checked {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    std::fs::rename(&partial, &db).map_err(|e| CliError::Io {
        what: format!("cannot rename {} to {}", partial.display(), db.display()),
        source: e,
    })?;
    println!("restored {} into {}", file.display(), db.display());
    Ok(())
}

async fn restore_postgres(config: &Config, url: &str, file: &Path) -> Result<(), CliError> {
    let store = Store::connect(url, 1).await?;
    let blank = store.is_blank().await;
    store.close().await;
    if !blank? {
        return Err(CliError::Usage(
            "restore: the PostgreSQL database is not empty; create an empty one (createdb) and point \
             database.url at it, so nothing there is overwritten"
                .into(),
        ));
    }
    run_tool(
        Command::new("pg_restore")
            .args(["--no-owner", "--no-privileges", "--exit-on-error", "--dbname"])
            .arg(url)
            .arg(file),
        "pg_restore",
    )?;
    check_and_migrate(url, config).await?;
    println!("restored {} into the PostgreSQL database", file.display());
    Ok(())
}

/// Opens the restored copy, checks it is a Gazette database and brings its
/// schema to this version.
async fn check_and_migrate(url: &str, config: &Config) -> Result<(), CliError> {
    let store = Store::connect(url, config.database.connections(url)).await?;
    let result = async {
        if store.pending_migrations().await?.len() == gazette_store::MIGRATIONS.len() {
            return Err(CliError::Usage(
                "restore: the copy holds no Gazette data (no migration was ever applied to it)".into(),
            ));
        }
        store.migrate().await?;
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// `gazette migrate --check`.
pub async fn migrate_check(config: &Config) -> Result<(), CliError> {
    let url = config.database_url();
    if let Some(file) = sqlite_file(&url).filter(|f| !f.exists()) {
        println!(
            "no database at {} yet: all {} migrations would run",
            file.display(),
            gazette_store::MIGRATIONS.len()
        );
        return Ok(());
    }
    let store = Store::connect(&url, 1).await?;
    let pending = store.pending_migrations().await;
    store.close().await;
    let pending = pending?;
    if pending.is_empty() {
        println!("database is up to date: no migration would run");
        return Ok(());
    }
    for m in &pending {
        println!("would apply migration {} ({})", m.version, m.description);
    }
    println!(
        "{} migration(s) would run; `gazette migrate` (or the next start) applies them",
        pending.len()
    );
    Ok(())
}

/// The database file of a SQLite URL.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    (!file.is_empty() && file != ":memory:").then(|| PathBuf::from(file))
}

fn partial_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn read_magic(file: &Path) -> Result<Vec<u8>, CliError> {
    let io = |e| CliError::Io {
        what: format!("cannot read {}", file.display()),
        source: e,
    };
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(file)
        .map_err(io)?
        .take(16)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(head)
}

/// Runs a PostgreSQL client tool; its own error output goes to stderr.
fn run_tool(cmd: &mut Command, name: &str) -> Result<(), CliError> {
    let status = cmd.status().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CliError::Usage(format!(
            "{name} was not found in PATH: install PostgreSQL's client tools (Debian: postgresql-client, \
             of the server's major version or newer), or run `pg_dump --format=custom` yourself"
        )),
        _ => CliError::Io {
            what: format!("cannot run {name}"),
            source: e,
        },
    })?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "{name} failed ({status}); its message is above"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_files() {
        assert_eq!(
            super::sqlite_file("sqlite:///var/lib/g/g.db?mode=rwc"),
            Some("/var/lib/g/g.db".into())
        );
        assert_eq!(super::sqlite_file("sqlite::memory:"), None);
        assert_eq!(super::sqlite_file("postgres://h/db"), None);
    }
}
