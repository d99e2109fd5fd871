//! The system status server: `/metrics` for Prometheus plus the health and liveness routes.
//!
//! It runs as one task on the caller's tokio runtime. [`routes`] answers requests, [`listener`]
//! accepts connections and enforces the per-connection limits of [`ServerLimits`] (connection cap,
//! header-read, idle and write timeouts), and [`shutdown`] stops it in phases: drain gracefully
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
    use crate::health::HealthStatus;
    use axum::http::{HeaderMap, HeaderValue};
    use std::sync::Mutex as StdMutex;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    fn parse_reply(raw: &str) -> Reply {
        let (head, body) = raw.split_once("\r\n\r\n").expect("complete head");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect();
        Reply {
            status: status.parse().unwrap(),
            headers,
            body: body.to_string(),
        }
    }

    /// A minimal HTTP/1.1 client: one request, `Connection: close`, read to EOF.
    async fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Reply {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req =
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        parse_reply(&raw)
    }

    fn scrape_ok(seen: Arc<StdMutex<Vec<Option<Duration>>>>) -> ScrapeFn {
        Arc::new(move |deadline| {
            seen.lock().unwrap().push(deadline);
            Box::pin(async { Ok("# TYPE up gauge\nup 1\n".to_string().into()) })
        })
    }

    fn local_cfg() -> SystemConfig {
        SystemConfig {
            enabled: true,
            host: [127, 0, 0, 1].into(),
            port: 0,
            ..SystemConfig::default()
        }
    }

    async fn start(cfg: &SystemConfig, scrape: ScrapeFn) -> (StatusServer, Arc<Health>) {
        let health = Arc::new(Health::new(HealthStatus::NotReady, vec![]));
        let server = StatusServer::start(cfg, health.clone(), scrape)
            .await
            .unwrap();
        (server, health)
    }

    #[tokio::test]
    async fn routes() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, health) = start(&local_cfg(), scrape_ok(seen.clone())).await;
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);

        let r = request(addr, "GET", "/metrics", "").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some(METRICS_CONTENT_TYPE));
        assert_eq!(r.body, "# TYPE up gauge\nup 1\n");

        let r = request(addr, "GET", "/health", "").await;
        assert_eq!(r.status, 503);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["status"], "notready");

        health.set_status(HealthStatus::Ready);
        for path in ["/health", "/live", "/live?probe=1"] {
            let r = request(addr, "GET", path, "").await;
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.header("content-type"), Some("application/json"));
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(v["status"], "ready");
        }

        for path in ["/", "/nope", "/metrics/", "/healthz"] {
            let r = request(addr, "GET", path, "").await;
            assert_eq!(r.status, 404, "{path}");
            assert_eq!(r.body, "Route not found");
            assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        }

        let r = request(addr, "POST", "/metrics", "Content-Length: 0\r\n").await;
        assert_eq!(r.status, 405);

        let r = request(addr, "HEAD", "/health", "").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "");

        server.shutdown().await;
    }

    #[tokio::test]
    async fn scrape_error_is_500() {
        let scrape: ScrapeFn = Arc::new(|_| {
            Box::pin(async { Err(MetricsError::new(ErrorKind::Closed, "runtime closed")) })
        });
        let (server, _) = start(&local_cfg(), scrape).await;
        let r = request(server.local_addr(), "GET", "/metrics", "").await;
        assert_eq!(r.status, 500);
        assert_eq!(r.body, "Failed to get metrics: runtime closed");
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        server.shutdown().await;
    }

    #[tokio::test]
    async fn scrape_timeout_header_reaches_callback() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, _) = start(&local_cfg(), scrape_ok(seen.clone())).await;
        let addr = server.local_addr();
        let h = |v: &str| format!("X-Prometheus-Scrape-Timeout-Seconds: {v}\r\n");
        request(addr, "GET", "/metrics", &h("2.5")).await;
        request(addr, "GET", "/metrics", &h("10")).await;
        request(addr, "GET", "/metrics", &h("soon")).await;
        request(addr, "GET", "/metrics", &h("-1")).await;
        request(addr, "GET", "/metrics", "").await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                Some(Duration::from_millis(2500)),
                Some(Duration::from_secs(10)),
                None,
                None,
                None
            ]
        );
        server.shutdown().await;
    }

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

    #[tokio::test]
    async fn custom_health_path_replaces_default() {
        let cfg = SystemConfig {
            health_path: "/healthz".into(),
            live_path: "/livez".into(),
            ..local_cfg()
        };
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, _) = start(&cfg, scrape_ok(seen)).await;
        let addr = server.local_addr();
        assert_eq!(request(addr, "GET", "/healthz", "").await.status, 503);
        assert_eq!(request(addr, "GET", "/livez", "").await.status, 503);
        let r = request(addr, "GET", "/health", "").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body, "Route not found");
        assert_eq!(request(addr, "GET", "/live", "").await.status, 404);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn literal_paths_are_not_patterns() {
        let cfg = SystemConfig {
            health_path: "/{id}".into(),
            live_path: "/{id}".into(),
            ..local_cfg()
        };
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, _) = start(&cfg, scrape_ok(seen)).await;
        let addr = server.local_addr();
        assert_eq!(request(addr, "GET", "/%7Bid%7D", "").await.status, 404);
        assert_eq!(request(addr, "GET", "/x", "").await.status, 404);
        assert_eq!(request(addr, "GET", "/{id}", "").await.status, 503);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn taken_port_and_bad_host() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, _) = start(&local_cfg(), scrape_ok(seen.clone())).await;
        let cfg = SystemConfig {
            port: server.local_addr().port(),
            ..local_cfg()
        };
        let health = Arc::new(Health::new(HealthStatus::Ready, vec![]));
        let e = StatusServer::start(&cfg, health.clone(), scrape_ok(seen.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server);
        assert_eq!(
            e.message,
            format!(
                "cannot bind the system status server to {}: address in use",
                server.local_addr()
            )
        );

        // TEST-NET-1 is never a local address.
        let foreign = SystemConfig {
            host: [192, 0, 2, 1].into(),
            ..local_cfg()
        };
        let e = StatusServer::start(&foreign, health, scrape_ok(seen))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.contains("192.0.2.1:0"), "{}", e.message);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_closes_idle_keep_alive_and_frees_port() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, _) = start(&local_cfg(), scrape_ok(seen)).await;
        let addr = server.local_addr();

        // Leave a keep-alive connection idle after one exchange, as Prometheus does.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 503"));

        let t = Instant::now();
        server.shutdown().await;
        assert!(
            t.elapsed() < Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );
        // The idle connection was closed by the server.
        let n = tokio::time::timeout(Duration::from_secs(1), idle.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0);
        TcpListener::bind(addr).await.expect("port free again");

        // Idempotent.
        server.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_aborts_stuck_scrape_and_stalled_client() {
        let scrape: ScrapeFn = Arc::new(|_| Box::pin(std::future::pending()));
        let (server, _) = start(&local_cfg(), scrape).await;
        let addr = server.local_addr();

        let mut stuck = TcpStream::connect(addr).await.unwrap();
        stuck
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // A client that stops halfway through its request head.
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled.write_all(b"GET /metr").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;

        let t = Instant::now();
        server.shutdown().await;
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(900), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");

        let mut raw = String::new();
        tokio::time::timeout(Duration::from_secs(1), stuck.read_to_string(&mut raw))
            .await
            .unwrap()
            .unwrap();
        let r = parse_reply(&raw);
        assert_eq!(r.status, 500);
        assert!(r.body.contains("shutting down"), "{}", r.body);

        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(1), stalled.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0);
        TcpListener::bind(addr).await.expect("port free again");
    }

    #[tokio::test]
    async fn concurrent_shutdowns_and_drop() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let (server, _) = start(&local_cfg(), scrape_ok(seen.clone())).await;
        let server = Arc::new(server);
        let (a, b) = (server.clone(), server.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { a.shutdown().await }),
            tokio::spawn(async move { b.shutdown().await })
        );
        ra.unwrap();
        rb.unwrap();

        // Dropping without shutdown stops the server too.
        let (server, _) = start(&local_cfg(), scrape_ok(seen)).await;
        let addr = server.local_addr();
        drop(server);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if TcpListener::bind(addr).await.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "port still taken after drop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
