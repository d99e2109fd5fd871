//! End to end through the public API: configuration from a (fake) environment, health state and
//! the status server, on a multi-threaded runtime like the Node binding's.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dynamo_metrics_core::config::{ConfigOverrides, SystemConfig};
use dynamo_metrics_core::health::{Health, HealthStatus};
use dynamo_metrics_core::server::{ScrapeFn, StatusServer, METRICS_CONTENT_TYPE};
use dynamo_metrics_core::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn resolve(
    vars: &[(&str, &str)],
    o: &ConfigOverrides,
) -> dynamo_metrics_core::Result<SystemConfig> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SystemConfig::resolve(&|name| map.get(name).cloned(), o)
}

/// One `Connection: close` GET through the shared client; returns (status, content type, body).
async fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    let r = common::request(addr, "GET", path, extra).await;
    let content_type = r.header("content-type").unwrap_or_default().to_string();
    (r.status, content_type, r.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_server_end_to_end() {
    let cfg = resolve(
        &[
            ("DYN_SYSTEM_ENABLED", "true"),
            ("DYN_SYSTEM_HOST", "127.0.0.1"),
            ("DYN_SYSTEM_HEALTH_PATH", "/healthz"),
            ("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", "[\"generate\"]"),
            ("DYN_SYSTEM_STARTING_HEALTH_STATUS", "ready"),
        ],
        &ConfigOverrides {
            system_port: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(cfg.enabled);
    assert_eq!(cfg.port, 0);

    let health = Arc::new(Health::new(
        cfg.starting_health,
        cfg.use_endpoint_health_status.clone(),
    ));
    let deadlines = Arc::new(Mutex::new(Vec::new()));
    let seen = deadlines.clone();
    let scrape: ScrapeFn = Arc::new(move |deadline| {
        seen.lock().unwrap().push(deadline);
        Box::pin(async { Ok("requests_total 3\n".to_string().into()) })
    });
    let server = StatusServer::start(&cfg, health.clone(), scrape)
        .await
        .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    let (code, ct, body) = get(
        addr,
        "/metrics",
        "X-Prometheus-Scrape-Timeout-Seconds: 0.25\r\n",
    )
    .await;
    assert_eq!(
        (code, ct.as_str(), body.as_str()),
        (200, METRICS_CONTENT_TYPE, "requests_total 3\n")
    );
    assert_eq!(
        *deadlines.lock().unwrap(),
        vec![Some(Duration::from_millis(250))]
    );

    // The listed endpoint is unknown, so the worker is not ready despite starting "ready".
    let (code, ct, body) = get(addr, "/healthz", "").await;
    assert_eq!((code, ct.as_str()), (503, "application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "notready");

    health.set_endpoint("generate", HealthStatus::Ready);
    let (code, _, body) = get(addr, "/live", "").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["endpoints"]["generate"], "ready");

    let (code, ct, body) = get(addr, "/health", "").await;
    assert_eq!((code, body.as_str()), (404, "Route not found"));
    assert!(ct.starts_with("text/plain"));

    // A second server on the same port is refused with a clear error.
    let taken = SystemConfig {
        port: addr.port(),
        ..cfg.clone()
    };
    let noop: ScrapeFn = Arc::new(|_| Box::pin(async { Ok(String::new().into()) }));
    let err = StatusServer::start(&taken, health.clone(), noop)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    assert!(err.message.contains(&addr.to_string()), "{}", err.message);
    assert!(err.message.contains("address in use"), "{}", err.message);

    // Shutdown is prompt with an idle keep-alive connection open, and frees the port.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));

    let t = Instant::now();
    server.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    TcpListener::bind(addr)
        .await
        .expect("port free after shutdown");
    server.shutdown().await;
}
