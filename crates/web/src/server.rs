//! The HTTP/1 server under the router: one task per connection, a bound on
//! open connections (one more gets a single 503 with `Retry-After`, then is
//! closed), a deadline for each request's headers (so a client that sends a
//! byte now and then cannot hold a connection), and a graceful shutdown that
//! lets requests in progress finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::limits::Limits;

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
                let slot = slots.clone().try_acquire_owned().ok();
                connections.spawn(connection(stream, peer, app.clone(), limits.clone(), slot, stopped.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection. Without a `slot` (too many open), every request
/// on it answers 503 and the connection closes after the first.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    slot: Option<OwnedSemaphorePermit>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let full = slot.is_none();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let app = app.clone();
        async move {
            if full {
                return Ok::<_, Infallible>(crate::limits::busy(2, "too many connections; try again shortly"));
            }
            req.extensions_mut().insert(ConnectInfo(peer));
            app.oneshot(req.map(Body::new)).await
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
    }
    drop(slot);
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and clients going away are routine.
        tracing::debug!(error = %e, "connection ended");
    }
}
