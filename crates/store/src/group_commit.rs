//! Group commit of member articles on SQLite: the writes that arrive while
//! a batch is committing wait, then share the next transaction. Each commit
//! waits for a flush to disk (`synchronous = FULL`), a few milliseconds
//! whatever it carries, and SQLite has one writer, so a coordinator's inbox
//! would be bound by the disk's flush latency unless concurrent articles
//! share it. (PostgreSQL writes from several connections at once and
//! flushes the commits that wait together by itself.)
//!
//! Every caller queues its write, then takes the committer lock. Whoever
//! holds it drains the queue in a task of its own (so a dropped request
//! cannot abandon the others' writes half-way) and answers every write
//! before giving the lock up; a caller that gets the lock and finds its
//! answer waiting returns it. A batch of new articles is written in a few
//! multi-row statements ([`Store::insert_new_items`]), any other batch
//! article by article. A batch that fails is rolled back and its writes
//! are retried one transaction each, so one bad article costs only itself.

use std::sync::{Arc, Mutex};

use gazette_core::NetworkItem;
use tokio::sync::oneshot;

use crate::Store;
use crate::error::{StoreError, StoreResult};
use crate::shared_feed::{Boost, ItemWrite};

/// Most writes in one transaction (its locks and its undo are bounded).
const MAX_BATCH: usize = 256;

/// A batch of at least this many writes means articles are pouring in...
const BUSY_BATCH: usize = 16;
/// ...so fewer than this many waiting right after it are the first of the
/// next wave (their senders were answered moments ago, or the requests are
/// still being verified), and the committer waits [`GATHER`] for the rest
/// rather than paying a flush to disk for one or two articles. Like
/// PostgreSQL's `commit_delay`, it only applies when writes crowd in: a
/// lone article on a quiet inbox is committed at once.
const STRAGGLERS: usize = 4;
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

type Answer = StoreResult<(ItemWrite, bool)>;

/// [`Boost`] with its own `Announce` id, to wait in the queue.
#[derive(Debug, Clone)]
enum QueuedBoost {
    Never,
    IfNew(String),
    IfNotYet(String),
}

impl QueuedBoost {
    /// The `Announce` id a new article is stored with (and boosted by).
    fn announce_id(&self) -> Option<&str> {
        match self {
            QueuedBoost::Never => None,
            QueuedBoost::IfNew(id) | QueuedBoost::IfNotYet(id) => Some(id),
        }
    }

    fn borrow(&self) -> Boost<'_> {
        match self {
            QueuedBoost::Never => Boost::Never,
            QueuedBoost::IfNew(id) => Boost::IfNew(id),
            QueuedBoost::IfNotYet(id) => Boost::IfNotYet(id),
        }
    }
}

struct Job {
    item: NetworkItem,
    boost: QueuedBoost,
    answer: oneshot::Sender<Answer>,
}

/// The queue of member-article writes of one [`Store`] (shared by its clones).
#[derive(Default)]
pub(crate) struct ItemQueue {
    pending: Mutex<Vec<Job>>,
    committer: Arc<tokio::sync::Mutex<()>>,
    /// The size of the last batch committed and when it was.
    last: Mutex<Option<(usize, std::time::Instant)>>,
}

impl std::fmt::Debug for ItemQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.pending.lock().map(|p| p.len()).unwrap_or(0);
        f.debug_struct("ItemQueue").field("queued", &queued).finish()
    }
}

impl ItemQueue {
    fn push(&self, job: Job) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(job);
    }

    fn take(&self) -> Vec<Job> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let n = pending.len().min(MAX_BATCH);
        pending.drain(..n).collect()
    }

    fn queued(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the next batch should wait [`GATHER`] for more writes: a few
    /// are queued just after a busy batch (see [`BUSY_BATCH`]).
    fn worth_gathering(&self) -> bool {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        let queued = self.queued();
        queued > 0
            && queued < STRAGGLERS
            && last.is_some_and(|(size, at)| size >= BUSY_BATCH && at.elapsed() < GATHER * 4)
    }

    fn committed(&self, size: usize) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((size, std::time::Instant::now()));
    }
}

impl Store {
    /// Queues `item`'s write and waits for the transaction that carries it.
    pub(crate) async fn write_item_grouped(&self, item: &NetworkItem, boost: Boost<'_>) -> Answer {
        let (answer, mut answered) = oneshot::channel();
        self.items.push(Job {
            item: item.clone(),
            boost: match boost {
                Boost::Never => QueuedBoost::Never,
                Boost::IfNew(id) => QueuedBoost::IfNew(id.to_owned()),
                Boost::IfNotYet(id) => QueuedBoost::IfNotYet(id.to_owned()),
            },
            answer,
        });
        let lock = self.items.committer.clone().lock_owned().await;
        match answered.try_recv() {
            Ok(done) => return done,
            Err(oneshot::error::TryRecvError::Closed) => return Err(interrupted()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        // Still queued: this caller commits everything queued so far.
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                if store.items.worth_gathering() {
                    tokio::time::sleep(GATHER).await;
                }
                let jobs = store.items.take();
                if jobs.is_empty() {
                    break;
                }
                let size = jobs.len();
                store.commit_batch(jobs).await;
                store.items.committed(size);
            }
            drop(lock);
        });
        answered.await.unwrap_or_else(|_| Err(interrupted()))
    }

    async fn commit_batch(&self, jobs: Vec<Job>) {
        let started = std::time::Instant::now();
        match self.try_batch(&jobs).await {
            Ok(answers) => {
                tracing::debug!(
                    writes = jobs.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "member articles committed"
                );
                for (job, done) in jobs.into_iter().zip(answers) {
                    let _ = job.answer.send(Ok(done));
                }
            }
            Err(e) => {
                if jobs.len() > 1 {
                    tracing::debug!(error = %e, writes = jobs.len(), "batch of member articles failed; writing them one by one");
                }
                for job in jobs {
                    let done = async {
                        let mut tx = self.begin_write().await?;
                        let done = self.write_item_boosting(&mut tx, &job.item, job.boost.borrow()).await?;
                        tx.commit().await?;
                        Ok(done)
                    }
                    .await;
                    let _ = job.answer.send(done);
                }
            }
        }
    }

    async fn try_batch(&self, jobs: &[Job]) -> StoreResult<Vec<(ItemWrite, bool)>> {
        let mut tx = self.begin_write().await?;
        let new: Vec<(&NetworkItem, Option<&str>)> =
            jobs.iter().map(|job| (&job.item, job.boost.announce_id())).collect();
        let answers = if self.insert_new_items(&mut tx, &new).await? {
            // New articles: each boosted when its write asks for a boost.
            jobs.iter()
                .map(|job| (ItemWrite::Inserted, job.boost.announce_id().is_some()))
                .collect()
        } else {
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                answers.push(self.write_item_boosting(&mut tx, &job.item, job.boost.borrow()).await?);
            }
            answers
        };
        let written = std::time::Instant::now();
        tx.commit().await?;
        tracing::trace!(commit_ms = written.elapsed().as_secs_f64() * 1e3, "batch committed");
        Ok(answers)
    }
}

fn interrupted() -> StoreError {
    StoreError::Interrupted("the transaction carrying this write stopped before it answered")
}
