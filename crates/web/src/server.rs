//! The HTTP/1 server under the router: one task per connection, a bound on
//! open connections, a deadline for each request's headers (so a client
//! that sends a byte now and then cannot hold a connection), and a graceful
//! shutdown that lets requests in progress finish.
//!
//! Past `keep_alive_connections` open, a connection closes once it has
//! answered, so a crowd of clients that each ask once (servers fetching a
//! preview) does not stay connected with its buffers.
//!
//! When every slot is taken, a new connection first reclaims one from a
//! connection that is not answering anything (kept alive between requests,
//! or still sending its headers), oldest first; when all are answering, it
//! asks for the next one to finish to close after its answer. Either way it
//! waits a moment for the slot: a thousand servers fetching a boosted
//! article's preview each keep a connection open afterwards, and those must
//! not turn the next server away. Only when no slot came within that moment
//! does the new one get a single 503 with `Retry-After`, then is closed.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::limits::Limits;

/// How long a new connection waits for a slot when all are taken.
const RECLAIM_WAIT: Duration = Duration::from_secs(5);
/// While it waits, how often it looks again for a connection gone idle.
const RECHECK_EVERY: Duration = Duration::from_millis(100);
/// How long a reclaimed connection that never carried a request is given
/// for one that may be arriving.
const SPARE_GRACE: Duration = Duration::from_millis(50);

/// The open connections, by the order they came in.
#[derive(Default)]
struct Open {
    next: std::sync::atomic::AtomicU64,
    by_age: Mutex<BTreeMap<u64, Arc<Conn>>>,
    /// How many `by_age` holds, read without its lock.
    count: AtomicUsize,
    /// New connections waiting for a connection that is answering to
    /// close once its answer is given.
    wanted: AtomicUsize,
}

/// One open connection, as the others see it.
#[derive(Default)]
struct Conn {
    /// A request is being answered.
    busy: AtomicBool,
    /// A request came on it (else it is a client pool's spare, opened
    /// beside another and never used).
    served: AtomicBool,
    /// Asked to close (after what it is answering, if anything).
    close: Notify,
}

impl Open {
    fn register(&self) -> (u64, Arc<Conn>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::default());
        if let Ok(mut map) = self.by_age.lock() {
            map.insert(id, conn.clone());
            self.count.store(map.len(), Ordering::Relaxed);
        }
        (id, conn)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut map) = self.by_age.lock() {
            map.remove(&id);
            self.count.store(map.len(), Ordering::Relaxed);
        }
    }

    /// More connections open (holding a slot) than `keep_alive` may stay.
    fn crowded(&self, keep_alive: usize) -> bool {
        self.count.load(Ordering::Relaxed) > keep_alive
    }

    /// One fewer connection wanted; false when none was.
    fn take_wanted(&self) -> bool {
        self.wanted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| w.checked_sub(1))
            .is_ok()
    }

    /// Asks the oldest connection answering nothing to close; false when
    /// every one is busy.
    fn reclaim_one(&self) -> bool {
        let Ok(mut map) = self.by_age.lock() else {
            return false;
        };
        let idle = map
            .iter()
            .find(|(_, c)| !c.busy.load(Ordering::Acquire))
            .map(|(id, c)| (*id, c.clone()));
        match idle {
            Some((id, conn)) => {
                // Out of the list at once, so two newcomers do not pick it both.
                map.remove(&id);
                self.count.store(map.len(), Ordering::Relaxed);
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// How many connections are being served, and a wake-up for the shutdown
/// once none is. Lighter than a `JoinSet`, which wakes the accepting task
/// each time a connection ends: here a connection that leaves none open
/// stores a wake-up, which only a shutdown waiting for it takes.
#[derive(Default)]
struct Live {
    count: AtomicUsize,
    none_left: Notify,
}

/// One connection counted in [`Live`] until dropped (also when its task
/// panics).
struct Counted(Arc<Live>);

impl Live {
    fn enter(self: &Arc<Self>) -> Counted {
        self.count.fetch_add(1, Ordering::AcqRel);
        Counted(self.clone())
    }

    /// Returns once no connection is counted.
    async fn all_ended(&self) {
        // A wake-up stored from an earlier moment at zero only makes this
        // look again.
        while self.count.load(Ordering::Acquire) > 0 {
            self.none_left.notified().await;
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_one();
        }
    }
}

/// Accepts connections on `listener` and serves `app` on each until
/// `shutdown` resolves; then stops accepting and waits for the connections
/// to finish what they are answering.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let open = Arc::new(Open::default());
    let (stop, stopped) = watch::channel(false);
    let live = Arc::new(Live::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: the
                        // listener itself is fine, so keep accepting.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::task::yield_now().await;
                        continue;
                    }
                };
                let slot = take_slot(&slots, &open);
                let counted = live.enter();
                let serve = connection(stream, peer, app.clone(), limits.clone(), slot, open.clone(), stopped.clone());
                tokio::spawn(async move {
                    let _counted = counted;
                    serve.await;
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    live.all_ended().await;
    Ok(())
}

/// A free slot, or (when there is none) a wait for the one a connection
/// answering nothing is asked to give back.
enum Slot {
    Free(OwnedSemaphorePermit),
    /// An idle connection was asked to close.
    Reclaimed(Arc<Semaphore>),
    /// Every connection is answering: the next to finish closes.
    Wanted(Arc<Semaphore>),
}

fn take_slot(slots: &Arc<Semaphore>, open: &Open) -> Slot {
    match slots.clone().try_acquire_owned() {
        Ok(permit) => Slot::Free(permit),
        Err(_) if open.reclaim_one() => Slot::Reclaimed(slots.clone()),
        Err(_) => {
            open.wanted.fetch_add(1, Ordering::AcqRel);
            Slot::Wanted(slots.clone())
        }
    }
}

/// Serves one connection. Without a slot (all taken, and none given back
/// within [`RECLAIM_WAIT`]), every request on it answers 503 and the
/// connection closes after the first.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    slot: Slot,
    open: Arc<Open>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let slot = match slot {
        Slot::Free(permit) => Some(permit),
        Slot::Reclaimed(slots) => wait_for(&slots, &open, false).await,
        Slot::Wanted(slots) => wait_for(&slots, &open, true).await,
    };
    let full = slot.is_none();
    // Only connections holding a slot can give one back.
    let (id, me) = if full {
        (None, Arc::new(Conn::default()))
    } else {
        let (id, me) = open.register();
        (Some(id), me)
    };
    let state = me.clone();
    let others = open.clone();
    let keep_alive = limits.keep_alive_connections;
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let app = app.clone();
        let state = state.clone();
        let others = others.clone();
        async move {
            if full {
                return Ok::<_, Infallible>(crate::limits::busy(2, "too many connections; try again shortly"));
            }
            state.busy.store(true, Ordering::Release);
            state.served.store(true, Ordering::Release);
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut resp = app.oneshot(req.map(Body::new)).await;
            state.busy.store(false, Ordering::Release);
            // A new connection waits for a slot, or more are open than may
            // stay open between requests: this answer says `Connection:
            // close`, so hyper closes the connection once it is written and
            // the client sends nothing more down it (and it is no one
            // else's to reclaim).
            if others.take_wanted() || others.crowded(keep_alive) {
                if let Some(id) = id {
                    others.remove(id);
                }
                if let Ok(resp) = resp.as_mut() {
                    resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
                }
            }
            resp
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(!full);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let stop = async move {
        // Ends when shutdown begins (or the server is gone).
        let _ = stopped.wait_for(|s| *s).await;
    };
    tokio::select! {
        result = conn.as_mut() => log_end(result),
        () = stop => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
        () = me.close.notified() => {
            // Closes once nothing is being answered: at once when idle
            // between requests, after the answer being written otherwise.
            conn.as_mut().graceful_shutdown();
            if !me.served.load(Ordering::Acquire) {
                // Never asked anything: hyper would wait for a first
                // request before closing. One may be arriving this instant
                // (the pool's spare taken into use): a moment for it, then
                // the connection is dropped.
                if let Ok(result) = tokio::time::timeout(SPARE_GRACE, conn.as_mut()).await {
                    log_end(result);
                    return finish(&open, id, slot);
                }
            }
            if me.served.load(Ordering::Acquire)
                && let Ok(result) = tokio::time::timeout(RECLAIM_WAIT, conn.as_mut()).await
            {
                log_end(result);
            }
        }
    }
    finish(&open, id, slot);
}

/// A connection's end: out of the list, its slot given back.
fn finish(open: &Open, id: Option<u64>, slot: Option<OwnedSemaphorePermit>) {
    if let Some(id) = id {
        open.remove(id);
    }
    drop(slot);
}

/// A slot within [`RECLAIM_WAIT`], or none. Freed slots go to the
/// connections waiting in the order they came, so while it waits it also
/// looks again for a connection gone idle. `wanted`: this connection
/// counts in [`Open::wanted`] (every connection was answering when it
/// came) and takes its count back once it reclaimed one, got a slot or
/// gave up; a count taken twice (its slot came from the connection that
/// counted it down) only leaves the next waiter to its own rechecks.
async fn wait_for(slots: &Arc<Semaphore>, open: &Open, mut wanted: bool) -> Option<OwnedSemaphorePermit> {
    let deadline = tokio::time::Instant::now() + RECLAIM_WAIT;
    // One acquire all along: it keeps its place in the semaphore's queue.
    let acquire = slots.clone().acquire_owned();
    let mut acquire = std::pin::pin!(acquire);
    let slot = loop {
        tokio::select! {
            permit = &mut acquire => break permit.ok(),
            () = tokio::time::sleep(RECHECK_EVERY) => {
                if tokio::time::Instant::now() >= deadline {
                    break None;
                }
                // The slot freed for this one may have gone to another
                // waiting before it, and everyone may have finished since:
                // a connection gone idle is asked again.
                if open.reclaim_one() && wanted {
                    open.take_wanted();
                    wanted = false;
                }
            }
        }
    };
    if wanted {
        open.take_wanted();
    }
    slot
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and clients going away are routine.
        tracing::debug!(error = %e, "connection ended");
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};

    use super::*;

    #[test]
    fn the_shutdown_waits_for_the_last_connection_only() {
        let live = Arc::new(Live::default());
        let mut cx = Context::from_waker(Waker::noop());
        // Back to zero once before: the wake-up it stored must not end the wait.
        drop(live.enter());
        let (a, b) = (live.enter(), live.enter());
        let mut wait = std::pin::pin!(live.all_ended());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        drop(a);
        assert!(wait.as_mut().poll(&mut cx).is_pending(), "ended with a connection open");
        drop(b);
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        // Nothing open: at once.
        assert!(std::pin::pin!(live.all_ended()).poll(&mut cx).is_ready());
    }
}
