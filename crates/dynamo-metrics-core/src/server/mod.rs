//! The system status server: `/metrics` for Prometheus plus the health and liveness routes.
//!
//! It runs as one task on the caller's tokio runtime. `routes` answers requests, `listener`
//! accepts connections and enforces the per-connection limits of [`ServerLimits`] (connection cap,
//! header-read, idle and write timeouts), and `shutdown` stops it in phases: drain gracefully
//! (stop accepting, close idle keep-alive connections, let in-flight requests finish), then after
//! a grace period cancel stuck scrapes (they answer 500), then fail every connection's I/O, so a
//! slow metrics callback or a lingering client can never hold the process open.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::config::SystemConfig;
use crate::error::{ErrorKind, MetricsError};
use crate::health::Health;

pub mod health;
pub mod limits;
mod listener;
mod routes;
mod shutdown;

pub use limits::ServerLimits;
use listener::{AbortableListener, ConnInfo};
use shutdown::{reached, Phase};

/// What a [`ScrapeFn`] returns: the body of one `/metrics` answer, once rendered.
pub type ScrapeFuture = Pin<Box<dyn Future<Output = crate::Result<ScrapeBody>> + Send>>;

/// A `/metrics` body: whole text, or chunks streamed as they are encoded (a large exposition is
/// then never held in memory at once, and the first bytes leave before the last are written).
pub enum ScrapeBody {
    /// The whole exposition text.
    Text(String),
    /// Chunks of the exposition, in order; the channel closes after the last one.
    Chunks(tokio::sync::mpsc::Receiver<bytes::Bytes>),
}

impl From<String> for ScrapeBody {
    fn from(s: String) -> Self {
        ScrapeBody::Text(s)
    }
}

/// Renders /metrics; the argument is the deadline Prometheus asked for (from the
/// X-Prometheus-Scrape-Timeout-Seconds header, clamped to [`limits::MIN_PROMETHEUS_TIMEOUT`]), if any.
pub type ScrapeFn = Arc<dyn Fn(Option<Duration>) -> ScrapeFuture + Send + Sync>;

/// The Content-Type of a `/metrics` answer (Prometheus text format 0.0.4).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running status server; stop it with [`StatusServer::shutdown`].
pub struct StatusServer {
    addr: SocketAddr,
    phase: watch::Sender<Phase>,
    // A tokio mutex so concurrent shutdown calls wait for the first one rather than return early;
    // the handle stays in place until the task is gone, so a cancelled shutdown can be retried.
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for StatusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl StatusServer {
    /// Binds host:port (port 0 = free port) and serves in a spawned tokio task. Must be called
    /// inside a tokio runtime. Dropping the server without [`StatusServer::shutdown`] aborts it.
    pub async fn start(
        cfg: &SystemConfig,
        health: Arc<Health>,
        scrape: ScrapeFn,
    ) -> crate::Result<StatusServer> {
        let addr = SocketAddr::new(cfg.host, cfg.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| bind_error(addr, &e))?;
        let addr = listener.local_addr().map_err(|e| bind_error(addr, &e))?;

        let (phase_tx, phase_rx) = watch::channel(Phase::Serving);
        let limits = Arc::new(cfg.limits.clone());
        let app = Arc::new(routes::App::new(cfg, health, scrape, phase_rx.clone()));
        // One fallback handler instead of axum routes: configured paths are matched literally,
        // so a path containing `{` or `*` is neither a pattern nor a panic, and equal health and
        // live paths do not collide.
        let router = Router::new().fallback(routes::dispatch).with_state(app);
        let listener = AbortableListener::new(listener, phase_rx.clone(), limits);
        let drained = reached(phase_rx, Phase::Draining);
        let task = tokio::spawn(async move {
            // The serve future only ends after the signal, and accept errors are retried
            // inside the listener, so there is no error worth reporting.
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<ConnInfo>(),
            )
            .with_graceful_shutdown(drained)
            .await;
        });

        Ok(StatusServer {
            addr,
            phase: phase_tx,
            task: Mutex::new(Some(task)),
        })
    }

    /// The address the server is bound to (with the port the OS picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes idle keep-alive connections, waits at most ~1 s for in-flight
    /// requests, then aborts; returns when the listener socket is closed. Idempotent.
    pub async fn shutdown(&self) {
        let mut task = self.task.lock().await;
        let Some(handle) = task.as_mut() else {
            return;
        };
        shutdown::run(handle, |to| self.advance(to)).await;
        *task = None;
    }

    fn advance(&self, to: Phase) {
        self.phase.send_if_modified(|p| {
            let later = *p < to;
            if later {
                *p = to;
            }
            later
        });
    }
}

fn bind_error(addr: SocketAddr, e: &io::Error) -> MetricsError {
    let reason = match e.kind() {
        io::ErrorKind::AddrInUse => "address in use".to_string(),
        io::ErrorKind::AddrNotAvailable => "address not available on this host".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    MetricsError::new(
        ErrorKind::Server,
        format!("cannot bind the system status server to {addr}: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::routes::{scrape_deadline, SCRAPE_TIMEOUT_HEADER};
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn deadline_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(scrape_deadline(&h), None);
        for (v, want) in [
            ("0.5", Some(Duration::from_millis(500))),
            (" 3 ", Some(Duration::from_secs(3))),
            ("0", None),
            // Raised to the minimum, so no client can force every scrape past its deadline.
            ("1e-9", Some(limits::MIN_PROMETHEUS_TIMEOUT)),
            ("0.1", Some(limits::MIN_PROMETHEUS_TIMEOUT)),
            ("NaN", None),
            ("inf", None),
            ("1e400", None),
            ("", None),
        ] {
            h.insert(SCRAPE_TIMEOUT_HEADER, HeaderValue::from_str(v).unwrap());
            assert_eq!(scrape_deadline(&h), want, "{v:?}");
        }
    }
}
