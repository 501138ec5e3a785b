//! The HTTP/1 server under the router: one task per connection, a bound on
//! open connections, a deadline for each request's headers (so a client
//! that sends a byte now and then cannot hold a connection), and a graceful
//! shutdown that lets requests in progress finish.
//!
//! When every slot is taken, a new connection first reclaims one from a
//! connection that is not answering anything (kept alive between requests,
//! or still sending its headers), oldest first, and waits a moment for it:
//! a thousand servers fetching a boosted article's preview each keep a
//! connection open afterwards, and those must not turn the next server
//! away. Only when every connection is busy answering does the new one get
//! a single 503 with `Retry-After`, then is closed.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::limits::Limits;

/// How long a connection waits for the slot it reclaimed.
const RECLAIM_WAIT: Duration = Duration::from_secs(1);

/// The open connections, by the order they came in.
#[derive(Default)]
struct Open {
    next: std::sync::atomic::AtomicU64,
    by_age: Mutex<BTreeMap<u64, Arc<Conn>>>,
}

/// One open connection, as the others see it.
#[derive(Default)]
struct Conn {
    /// A request is being answered.
    busy: AtomicBool,
    /// Asked to close (after what it is answering, if anything).
    close: Notify,
}

impl Open {
    fn register(&self) -> (u64, Arc<Conn>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::default());
        if let Ok(mut map) = self.by_age.lock() {
            map.insert(id, conn.clone());
        }
        (id, conn)
    }

    fn remove(&self, id: u64) {
        if let Ok(mut map) = self.by_age.lock() {
            map.remove(&id);
        }
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
                conn.close.notify_one();
                true
            }
            None => false,
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
    let mut connections = JoinSet::new();
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
                connections.spawn(connection(stream, peer, app.clone(), limits.clone(), slot, open.clone(), stopped.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// A free slot, or (when there is none) a wait for the one a connection
/// answering nothing is asked to give back.
enum Slot {
    Free(OwnedSemaphorePermit),
    Reclaimed(Arc<Semaphore>),
    None,
}

fn take_slot(slots: &Arc<Semaphore>, open: &Open) -> Slot {
    match slots.clone().try_acquire_owned() {
        Ok(permit) => Slot::Free(permit),
        Err(_) if open.reclaim_one() => Slot::Reclaimed(slots.clone()),
        Err(_) => Slot::None,
    }
}

/// Serves one connection. Without a slot (too many open, all of them
/// busy), every request on it answers 503 and the connection closes after
/// the first.
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
        Slot::Reclaimed(slots) => tokio::time::timeout(RECLAIM_WAIT, slots.acquire_owned())
            .await
            .ok()
            .and_then(Result::ok),
        Slot::None => None,
    };
    let full = slot.is_none();
    let (id, me) = open.register();
    let state = me.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let app = app.clone();
        let state = state.clone();
        async move {
            if full {
                return Ok::<_, Infallible>(crate::limits::busy(2, "too many connections; try again shortly"));
            }
            state.busy.store(true, Ordering::Release);
            req.extensions_mut().insert(ConnectInfo(peer));
            let resp = app.oneshot(req.map(Body::new)).await;
            state.busy.store(false, Ordering::Release);
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
            // Answering nothing: closes now (or after the answer that just began).
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
    }
    open.remove(id);
    drop(slot);
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and clients going away are routine.
        tracing::debug!(error = %e, "connection ended");
    }
}
