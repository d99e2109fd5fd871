//! The status server's routes, errors and shutdown phases, through the public API (moved here
//! from `server/mod.rs`'s unit tests; they share `tests/common`'s raw HTTP client).

mod common;

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use common::{local_cfg, parse_reply, request};
use dynamo_metrics_core::config::SystemConfig;
use dynamo_metrics_core::health::{Health, HealthStatus};
use dynamo_metrics_core::server::{ScrapeFn, StatusServer, METRICS_CONTENT_TYPE};
use dynamo_metrics_core::{ErrorKind, MetricsError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn scrape_ok(seen: Arc<StdMutex<Vec<Option<Duration>>>>) -> ScrapeFn {
    Arc::new(move |deadline| {
        seen.lock().unwrap().push(deadline);
        Box::pin(async { Ok("# TYPE up gauge\nup 1\n".to_string().into()) })
    })
}

async fn start_not_ready(cfg: &SystemConfig, scrape: ScrapeFn) -> (StatusServer, Arc<Health>) {
    let health = Arc::new(Health::new(HealthStatus::NotReady, vec![]));
    let server = StatusServer::start(cfg, health.clone(), scrape)
        .await
        .unwrap();
    (server, health)
}

#[tokio::test]
async fn routes() {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let (server, health) = start_not_ready(&local_cfg(), scrape_ok(seen.clone())).await;
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
    let (server, _) = start_not_ready(&local_cfg(), scrape).await;
    let r = request(server.local_addr(), "GET", "/metrics", "").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, "Failed to get metrics: runtime closed");
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    server.shutdown().await;
}

#[tokio::test]
async fn scrape_timeout_header_reaches_callback() {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let (server, _) = start_not_ready(&local_cfg(), scrape_ok(seen.clone())).await;
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

#[tokio::test]
async fn custom_health_path_replaces_default() {
    let cfg = SystemConfig {
        health_path: "/healthz".into(),
        live_path: "/livez".into(),
        ..local_cfg()
    };
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let (server, _) = start_not_ready(&cfg, scrape_ok(seen)).await;
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
    let (server, _) = start_not_ready(&cfg, scrape_ok(seen)).await;
    let addr = server.local_addr();
    assert_eq!(request(addr, "GET", "/%7Bid%7D", "").await.status, 404);
    assert_eq!(request(addr, "GET", "/x", "").await.status, 404);
    assert_eq!(request(addr, "GET", "/{id}", "").await.status, 503);
    server.shutdown().await;
}

#[tokio::test]
async fn taken_port_and_bad_host() {
    let seen = Arc::new(StdMutex::new(Vec::new()));
    let (server, _) = start_not_ready(&local_cfg(), scrape_ok(seen.clone())).await;
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
    let (server, _) = start_not_ready(&local_cfg(), scrape_ok(seen)).await;
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
    let (server, _) = start_not_ready(&local_cfg(), scrape).await;
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
    let (server, _) = start_not_ready(&local_cfg(), scrape_ok(seen.clone())).await;
    let server = Arc::new(server);
    let (a, b) = (server.clone(), server.clone());
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.shutdown().await }),
        tokio::spawn(async move { b.shutdown().await })
    );
    ra.unwrap();
    rb.unwrap();

    // Dropping without shutdown stops the server too.
    let (server, _) = start_not_ready(&local_cfg(), scrape_ok(seen)).await;
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
