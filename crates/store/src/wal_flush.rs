//! Batched writes on SQLite whose flush to disk runs beside the next batch.
//! With `synchronous = FULL` each commit waits for the write-ahead log to
//! reach the disk (about 5 ms here, whatever the commit carries), and the
//! one writing connection can do nothing else meanwhile: a busy inbox's
//! batches would be bound by the disk's flush latency. A group commit
//! ([`crate::group_commit`]) instead commits with `synchronous = NORMAL`
//! (the log is written, not yet flushed), then flushes the log itself, on
//! a blocking thread, while the writer goes on with the next batch; the
//! batch's writers are answered only after that flush. An answered write
//! is as durable as with `FULL` (the flush covers every frame written
//! before it, in log order); a reader may see a batch a few milliseconds
//! before it is on disk. Every other write keeps `FULL`: the writing
//! connection is set back before anyone else gets it.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::Executor;

use crate::Store;
use crate::coalesce::Coalesced;
use crate::error::{StoreError, StoreResult};

/// The write-ahead log of one SQLite database and the flushes made of it.
#[derive(Debug)]
pub(crate) struct WalFlush {
    path: PathBuf,
    /// The log, kept open (so a failed write-back is reported to the next
    /// flush through it) with its inode, to reopen should the file change.
    file: std::sync::Mutex<Option<(std::fs::File, u64)>>,
    flushes: Coalesced,
    /// Flushes done so far (for tests: commits share them).
    done: std::sync::atomic::AtomicU64,
}

impl WalFlush {
    /// Flushes the log's written pages to disk (blocking).
    fn sync(&self) -> std::io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let inode = std::fs::metadata(&self.path)?.ino();
        if file.as_ref().is_none_or(|(_, open)| *open != inode) {
            let log = std::fs::File::open(&self.path)?;
            let opened = log.metadata()?.ino();
            *file = Some((log, opened));
        }
        if let Some((log, _)) = file.as_ref() {
            log.sync_data()?;
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Flushes done so far.
    #[cfg(feature = "test-util")]
    pub(crate) fn flushes(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

/// Whether the writing connection was left committing without a flush, for
/// the pool to set it back when it is returned (shared with that hook).
pub(crate) type Relaxed = Arc<AtomicBool>;

/// What the writing pool runs on a connection given back: `synchronous =
/// FULL` again if a group commit relaxed it. `false` (the connection is
/// closed) if that fails.
pub(crate) async fn restore_full_sync(conn: &mut sqlx::AnyConnection, relaxed: &AtomicBool) -> bool {
    if !relaxed.swap(false, Ordering::AcqRel) {
        return true;
    }
    conn.execute("PRAGMA synchronous = FULL").await.is_ok()
}

/// The log of the database the writing pool `writer` opened, if it has
/// one: a file in WAL mode (not an in-memory database).
pub(crate) async fn open(writer: &sqlx::AnyPool) -> StoreResult<Option<WalFlush>> {
    use sqlx::Row;
    let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(writer).await?.try_get(0)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(None);
    }
    let file: String = sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .fetch_one(writer)
        .await?
        .try_get(0)?;
    if file.is_empty() {
        return Ok(None);
    }
    Ok(Some(WalFlush {
        path: PathBuf::from(format!("{file}-wal")),
        file: std::sync::Mutex::new(None),
        flushes: Coalesced::default(),
        done: Default::default(),
    }))
}

impl Store {
    /// The flushes of the SQLite log made for group commits so far, and the
    /// writing connection's `synchronous` setting now (2 is `FULL`); `None`
    /// without a log file to flush (PostgreSQL).
    #[cfg(feature = "test-util")]
    pub(crate) async fn wal_flush_state(&self) -> StoreResult<Option<(u64, i64)>> {
        use sqlx::Row;
        let Some(wal) = &self.wal else {
            return Ok(None);
        };
        let sync: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(self.writer())
            .await?
            .try_get(0)?;
        Ok(Some((wal.flushes(), sync)))
    }

    /// The writing connection, for a group commit whose writers wait for
    /// [`Store::flush_wal`] before they are answered: on a SQLite file in
    /// WAL mode, its commits no longer wait for the disk until it is given
    /// back. As [`Store::begin_write`] otherwise.
    pub(crate) async fn batch_writer(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        let mut conn = self.writer().acquire().await?;
        if self.wal.is_some() {
            // Set while this call holds the connection: the pool's hook
            // sets it back whoever gives the connection back, however.
            self.relaxed.store(true, Ordering::Release);
            conn.execute("PRAGMA synchronous = NORMAL").await?;
        }
        Ok(conn)
    }

    /// Sends each write of a committed batch its answer: on SQLite once the
    /// log is flushed, from a task of its own so that the writer goes on
    /// with the next batch meanwhile; at once where the commit flushed.
    pub(crate) fn answer_when_flushed<T: Send + 'static>(
        &self,
        answers: impl IntoIterator<Item = (tokio::sync::oneshot::Sender<StoreResult<T>>, StoreResult<T>)>,
    ) {
        fn send<T>(
            flushed: &StoreResult<()>,
            answers: impl IntoIterator<Item = (tokio::sync::oneshot::Sender<StoreResult<T>>, StoreResult<T>)>,
        ) {
            for (to, done) in answers {
                let _ = to.send(match (flushed, done) {
                    (Err(e), Ok(_)) => Err(unflushed(e)),
                    (_, done) => done,
                });
            }
        }
        if self.wal.is_none() {
            return send(&Ok(()), answers);
        }
        let answers: Vec<_> = answers.into_iter().collect();
        let store = self.clone();
        tokio::spawn(async move { send(&store.flush_wal().await, answers) });
    }

    /// Returns once every commit made before the call is on disk: the
    /// write-ahead log flushed by this call or by one that began after it
    /// (see [`Coalesced`]). Nothing to do on PostgreSQL or when commits
    /// flush by themselves.
    pub(crate) async fn flush_wal(&self) -> StoreResult<()> {
        let Some(wal) = &self.wal else {
            return Ok(());
        };
        wal.flushes
            .run(|| {
                let wal = wal.clone();
                async move {
                    tokio::task::spawn_blocking(move || wal.sync())
                        .await
                        .map_err(|_| StoreError::Interrupted("the flush of the write-ahead log stopped"))?
                        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))
                }
            })
            .await
    }
}

/// The error a write of a committed batch gets when the log could not be
/// flushed after it: it may not survive a crash, so its sender should try
/// again (a write repeated is recognised).
fn unflushed(e: &StoreError) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "committed but not flushed to disk: {e}"
    ))))
}
