//! Group commit (member articles here, on both backends; received likes
//! and boosts on SQLite in [`crate::received_interactions`]): the writes
//! that arrive while a batch is committing wait, then share the next
//! transaction. Each commit waits for a flush to disk (`synchronous =
//! FULL`), a few milliseconds whatever it carries, and SQLite has one
//! writer, so a coordinator's inbox would be bound by the disk's flush
//! latency unless concurrent articles share it. PostgreSQL writes from
//! several connections at once, but there a statement, a transaction and
//! a flush per article cost the database more CPU than the article's own
//! rows: a batch of new articles is one statement and one commit.
//!
//! Every caller queues its write, then waits for its answer or for a
//! committer's permit, whichever comes first (one permit on SQLite, two on
//! PostgreSQL, so that a batch is written while the one before waits for
//! its flush). Whoever gets a permit drains the queue in a task of its own
//! (so a dropped request cannot abandon the others' writes half-way),
//! answering each batch's writes as soon as it commits; a caller that gets
//! the permit and finds its answer waiting returns it. A batch of new
//! articles is written in one statement on PostgreSQL
//! ([`Store::insert_new_items_json`]) and in three multi-row statements sent
//! at once on SQLite ([`Store::insert_new_items`]), any other batch article
//! by article. On SQLite the batch's writes are answered once the log is
//! flushed, which happens beside the next batch ([`crate::wal_flush`]). A
//! batch that fails is rolled back and its writes are retried one
//! transaction each, so one bad article costs only itself.

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

pub(crate) struct Job {
    item: NetworkItem,
    boost: QueuedBoost,
    /// The item's search text, and on PostgreSQL its row for a batch
    /// ([`crate::shared_feed::new_item_json`]): made by the writer's own
    /// task, while the batch before commits, not by the committer's.
    text: String,
    row: Option<String>,
    answer: oneshot::Sender<Answer>,
}

/// A write that waits in a [`GroupQueue`] for a transaction it shares.
pub(crate) trait Grouped: Send + Sized + 'static {
    /// The queue of this kind of write in `store`.
    fn queue(store: &Store) -> &Arc<GroupQueue<Self>>;
    /// Writes `jobs` and answers each of them.
    fn commit(store: &Store, jobs: Vec<Self>) -> impl std::future::Future<Output = ()> + Send;
}

/// The queue of one kind of grouped write of one [`Store`] (shared by its clones).
pub(crate) struct GroupQueue<J> {
    pending: Mutex<Vec<J>>,
    /// A permit per batch being written at once: one on SQLite (one
    /// writer); on PostgreSQL, [`POSTGRES_COMMITTERS`], so that the next
    /// batch is written while one waits for its flush to disk.
    committers: Arc<tokio::sync::Semaphore>,
    /// The size of the last batch committed and when it was.
    last: Mutex<Option<(usize, std::time::Instant)>>,
}

/// The queue of member-article writes.
pub(crate) type ItemQueue = GroupQueue<Job>;

/// Batches of member articles written at once on PostgreSQL.
pub(crate) const POSTGRES_COMMITTERS: usize = 2;

impl<J> GroupQueue<J> {
    /// A queue whose batches are written by up to `committers` at once.
    pub(crate) fn new(committers: usize) -> Self {
        GroupQueue {
            pending: Mutex::new(Vec::new()),
            committers: Arc::new(tokio::sync::Semaphore::new(committers.max(1))),
            last: Mutex::new(None),
        }
    }
}

impl<J> Default for GroupQueue<J> {
    /// One batch at a time.
    fn default() -> Self {
        GroupQueue::new(1)
    }
}

impl<J> std::fmt::Debug for GroupQueue<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.pending.lock().map(|p| p.len()).unwrap_or(0);
        f.debug_struct("GroupQueue").field("queued", &queued).finish()
    }
}

impl<J> GroupQueue<J> {
    fn push(&self, job: J) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push(job);
    }

    fn take(&self) -> Vec<J> {
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
    /// Queues `job` and waits for the transaction that carries it, whose
    /// answer arrives on `answered`.
    pub(crate) async fn write_grouped<J: Grouped, A>(
        &self,
        job: J,
        mut answered: oneshot::Receiver<StoreResult<A>>,
    ) -> StoreResult<A> {
        J::queue(self).push(job);
        let committers = J::queue(self).committers.clone();
        // Answered as soon as the batch carrying this write commits, not
        // when the committer's turn ends: while it goes on to the next
        // batches, this write's sender can already send the next one.
        let permit = tokio::select! {
            biased;
            done = &mut answered => return done.unwrap_or_else(|_| Err(interrupted())),
            permit = committers.acquire_owned() => permit.map_err(|_| interrupted())?,
        };
        match answered.try_recv() {
            Ok(done) => return done,
            Err(oneshot::error::TryRecvError::Closed) => return Err(interrupted()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        // Still queued: this caller commits everything queued so far.
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                let queue = J::queue(&store);
                if queue.worth_gathering() {
                    tokio::time::sleep(GATHER).await;
                }
                let jobs = queue.take();
                if jobs.is_empty() {
                    break;
                }
                let size = jobs.len();
                J::commit(&store, jobs).await;
                J::queue(&store).committed(size);
            }
            drop(permit);
        });
        answered.await.unwrap_or_else(|_| Err(interrupted()))
    }

    /// Queues `item`'s write and waits for the transaction that carries it.
    pub(crate) async fn write_item_grouped(&self, item: &NetworkItem, boost: Boost<'_>) -> Answer {
        let (answer, answered) = oneshot::channel();
        let boost = match boost {
            Boost::Never => QueuedBoost::Never,
            Boost::IfNew(id) => QueuedBoost::IfNew(id.to_owned()),
            Boost::IfNotYet(id) => QueuedBoost::IfNotYet(id.to_owned()),
        };
        let text = item.search_text();
        // An edit usually finds its article stored: it is not tried as new.
        let row = (self.backend == crate::Backend::Postgres && !matches!(boost, QueuedBoost::IfNew(_)))
            .then(|| crate::shared_feed::new_item_json(item, &text, boost.announce_id()));
        let job = Job {
            item: item.clone(),
            boost,
            text,
            row,
            answer,
        };
        self.write_grouped(job, answered).await
    }
}

impl Grouped for Job {
    fn queue(store: &Store) -> &Arc<GroupQueue<Job>> {
        &store.items
    }

    async fn commit(store: &Store, jobs: Vec<Job>) {
        store.commit_batch(jobs).await
    }
}

impl Store {
    async fn commit_batch(&self, jobs: Vec<Job>) {
        let started = std::time::Instant::now();
        match self.try_batch(&jobs).await {
            Ok(answers) => {
                tracing::debug!(
                    writes = jobs.len(),
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "member articles committed"
                );
                self.answer_when_flushed(jobs.into_iter().zip(answers).map(|(job, done)| (job.answer, Ok(done))));
            }
            Err(e) => {
                if jobs.len() > 1 {
                    tracing::debug!(error = %e, writes = jobs.len(), "batch of member articles failed; writing them one by one");
                }
                for job in jobs {
                    let done = async {
                        let mut tx = self.begin_write().await?;
                        let done = self
                            .write_item_boosting(&mut tx, &job.item, &job.text, job.boost.borrow())
                            .await?;
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
        // On SQLite the commit does not wait for the disk: see `commit_batch`.
        let mut writer = None;
        let mut tx = match self.backend {
            crate::Backend::Postgres => self.begin_write().await?,
            crate::Backend::Sqlite => {
                sqlx::Connection::begin_with(&mut **writer.insert(self.batch_writer().await?), "BEGIN IMMEDIATE")
                    .await?
            }
        };
        let answers = if self.backend == crate::Backend::Postgres {
            // The new articles in one statement (an edit, without a row,
            // goes the long way at once), then the rest.
            let fresh: Vec<(&str, &str)> = jobs
                .iter()
                .filter_map(|job| Some((job.item.id.as_str(), job.row.as_deref()?)))
                .collect();
            let mut written = self.insert_new_items_json(&mut tx, &fresh).await?;
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                answers.push(if written.remove(&job.item.id) {
                    (ItemWrite::Inserted, job.boost.announce_id().is_some())
                } else {
                    self.write_item_boosting(&mut tx, &job.item, &job.text, job.boost.borrow())
                        .await?
                });
            }
            answers
        } else if self
            .insert_new_items(
                &mut tx,
                &jobs
                    .iter()
                    .map(|job| (&job.item, job.text.as_str(), job.boost.announce_id()))
                    .collect::<Vec<_>>(),
            )
            .await?
        {
            // New articles: each boosted when its write asks for a boost.
            jobs.iter()
                .map(|job| (ItemWrite::Inserted, job.boost.announce_id().is_some()))
                .collect()
        } else {
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                answers.push(
                    self.write_item_boosting(&mut tx, &job.item, &job.text, job.boost.borrow())
                        .await?,
                );
            }
            answers
        };
        let written = std::time::Instant::now();
        tx.commit().await?;
        tracing::trace!(commit_ms = written.elapsed().as_secs_f64() * 1e3, "batch committed");
        Ok(answers)
    }
}

pub(crate) fn interrupted() -> StoreError {
    StoreError::Interrupted("the transaction carrying this write stopped before it answered")
}
