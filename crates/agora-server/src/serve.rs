//! The accept loop: connections, their limits, and graceful shutdown.
//!
//! `axum::serve` has no limit on connections and no timer, so hyper's header-read timeout never
//! fires: a client could hold thousands of half-sent requests, or idle keep-alive connections,
//! for as long as it liked. This loop is axum's with those added:
//!
//! - at most `max_connections` at once: at the limit the loop stops accepting, and new
//!   connections wait in the kernel's backlog;
//! - `header_read_timeout`: a request's head must arrive within it, and an idle keep-alive
//!   connection is closed after it (hyper times the wait for the next request's head the same
//!   way);
//! - each connection's peer address in the request extensions (`ConnectInfo<Peer>`), for
//!   per-IP rate limits.
//!
//! A request's whole duration, body included, is bounded by `request_timeout` in the router's
//! stack (see `app::router`).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Layer, ServiceExt};

use crate::ratelimit::Peer;

/// Most bytes of one request head (request line and headers). hyper's default lets a head grow
/// to about 400 KiB; nothing a client of this API sends comes near 16 KiB, so a larger head is
/// refused `431` sooner and costs less memory per connection. A request line longer than
/// hyper's own limit (65,534 bytes) is refused `414` before this one applies.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;

/// Most header fields in one request (hyper's default, named here so the docs can cite it).
pub const MAX_HEADERS: usize = 100;

/// What a connection may take.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a request's head, and to start the next one on a kept-alive connection.
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits for
/// the open connections to finish their requests (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder.http2().timer(TokioTimer::new()).max_header_list_size(MAX_HEAD_BYTES as u32);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or memory: wait rather than spin. Errors of one
                    // connection (reset before accept) are not worth a pause.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                    ) {
                        tracing::error!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = axum::Extension(ConnectInfo(Peer::new(addr)))
            .layer(router.clone())
            .map_request(|req: hyper::Request<Incoming>| req.map(Body::new));
        let service = TowerToHyperService::new(service.map_err(|e: Infallible| match e {}));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
