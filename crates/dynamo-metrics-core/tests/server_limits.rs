//! Each limit of the status server, tried as a hostile or broken client would: a slowloris, a
//! silent connection, an idle keep-alive, a connection over the cap, a reader that never reads,
//! scrapes past the render bound, HEAD /metrics, and a tiny Prometheus scrape timeout.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use dynamo_metrics_core::config::{ConfigOverrides, SystemConfig};
use dynamo_metrics_core::server::{ScrapeBody, ScrapeFn, ServerLimits, METRICS_CONTENT_TYPE};
use dynamo_metrics_core::ErrorKind;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

fn with_limits(limits: ServerLimits) -> SystemConfig {
    SystemConfig {
        limits,
        ..local_cfg()
    }
}

fn counting_scrape(runs: Arc<AtomicUsize>) -> ScrapeFn {
    Arc::new(move |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok("up 1\n".to_string().into()) })
    })
}

/// A scrape whose body is `chunks` chunks of 64 KiB, produced as the connection takes them.
fn big_scrape(chunks: usize) -> ScrapeFn {
    Arc::new(move |_| {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                for _ in 0..chunks {
                    if tx
                        .send(bytes::Bytes::from(vec![b'x'; 65536]))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
            Ok(ScrapeBody::Chunks(rx))
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_silent_connections_close_after_the_header_timeout() {
    let cfg = with_limits(ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    });
    let server = start(&cfg, counting_scrape(Arc::default())).await;
    let addr = server.local_addr();

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let drip = tokio::spawn(async move {
        // One byte of the head every 50 ms: never a complete head.
        for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        closed_within(&mut slow, Duration::from_secs(5)).await
    });
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert!(drip.await.unwrap(), "the slowloris was not closed");
    // The server still answers.
    assert_eq!(request(addr, "GET", "/metrics", "").await.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_closes_after_the_idle_timeout() {
    let cfg = with_limits(ServerLimits {
        idle_timeout: Duration::from_millis(300),
        header_read_timeout: Duration::from_secs(30),
        ..ServerLimits::default()
    });
    let server = start(&cfg, counting_scrape(Arc::default())).await;
    let mut s = TcpStream::connect(server.local_addr()).await.unwrap();
    // Two requests on the connection, then silence.
    assert_eq!(keep_alive_get(&mut s, "/metrics").await.status, 200);
    assert_eq!(keep_alive_get(&mut s, "/live").await.status, 200);
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_close_while_open_ones_go_on() {
    let cfg = with_limits(ServerLimits {
        max_connections: 3,
        ..ServerLimits::default()
    });
    let server = start(&cfg, counting_scrape(Arc::default())).await;
    let addr = server.local_addr();
    let mut scraper = TcpStream::connect(addr).await.unwrap();
    assert_eq!(keep_alive_get(&mut scraper, "/metrics").await.status, 200);
    let idle1 = TcpStream::connect(addr).await.unwrap();
    let _idle2 = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The fourth is closed without an answer.
    let mut over = TcpStream::connect(addr).await.unwrap();
    let _ = over
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(closed_within(&mut over, Duration::from_secs(2)).await);
    // The scrape already connected goes on.
    for _ in 0..3 {
        let r = keep_alive_get(&mut scraper, "/metrics").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "up 1\n");
    }
    // A freed place is taken again.
    drop(idle1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(request(addr, "GET", "/metrics", "").await.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stalls_is_dropped_after_the_write_timeout_and_frees_its_render() {
    let cfg = with_limits(ServerLimits {
        write_timeout: Duration::from_millis(300),
        max_concurrent_renders: 1,
        render_wait: Duration::from_millis(50),
        ..ServerLimits::default()
    });
    // 64 MiB: far more than the socket buffers hold.
    let server = start(&cfg, big_scrape(1024)).await;
    let addr = server.local_addr();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Its render holds the only permit meanwhile.
    let r = request(addr, "HEAD", "/metrics", "").await;
    assert_eq!(r.status, 200, "HEAD needs no render");

    // Once dropped, the permit is free: a full scrape of the same size goes through.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut raw)
            .await
            .unwrap();
        let head = String::from_utf8_lossy(&raw[..raw.len().min(200)]).to_string();
        if head.starts_with("HTTP/1.1 200") {
            assert!(raw.len() > 64 << 20, "whole body");
            break;
        }
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled render was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The stalled connection was closed short of the body.
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    while let Ok(Ok(n)) = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::io::AsyncReadExt::read(&mut stalled, &mut buf),
    )
    .await
    {
        if n == 0 {
            break;
        }
        got += n;
    }
    assert!(
        got < 64 << 20,
        "the stalled reader got the whole body ({got} bytes)"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_render_bound_a_scrape_gets_503_with_retry_after() {
    let cfg = with_limits(ServerLimits {
        max_concurrent_renders: 1,
        render_wait: Duration::from_millis(100),
        ..ServerLimits::default()
    });
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let scrape: ScrapeFn = Arc::new(move |_| {
        let g = g.clone();
        Box::pin(async move {
            let _ = g.acquire().await.unwrap();
            Ok("up 1\n".to_string().into())
        })
    });
    let server = start(&cfg, scrape).await;
    let addr = server.local_addr();
    let first = tokio::spawn(async move { request(addr, "GET", "/metrics", "").await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let r = request(addr, "GET", "/metrics", "").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    // Health is not a render and still answers.
    assert_eq!(request(addr, "GET", "/health", "").await.status, 200);

    gate.add_permits(10);
    assert_eq!(first.await.unwrap().status, 200);
    assert_eq!(request(addr, "GET", "/metrics", "").await.status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_metrics_answers_headers_only_without_a_render() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = start(&local_cfg(), counting_scrape(runs.clone())).await;
    let r = request(server.local_addr(), "HEAD", "/metrics", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(METRICS_CONTENT_TYPE));
    assert_eq!(r.body, "");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        request(server.local_addr(), "GET", "/metrics", "")
            .await
            .body,
        "up 1\n"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_prometheus_timeout_is_raised_to_the_minimum() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let scrape: ScrapeFn = Arc::new(move |d| {
        s2.lock().unwrap().push(d);
        Box::pin(async { Ok("up 1\n".to_string().into()) })
    });
    let server = start(&local_cfg(), scrape).await;
    let h = "X-Prometheus-Scrape-Timeout-Seconds: 1e-9\r\n";
    assert_eq!(
        request(server.local_addr(), "GET", "/metrics", h)
            .await
            .status,
        200
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Some(
            dynamo_metrics_core::server::limits::MIN_PROMETHEUS_TIMEOUT
        )]
    );
    server.shutdown().await;
}

fn resolve(
    vars: &[(&str, &str)],
    o: &ConfigOverrides,
) -> dynamo_metrics_core::Result<SystemConfig> {
    let map: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SystemConfig::resolve(&|name| map.get(name).cloned(), o)
}

#[test]
fn limits_come_from_the_environment_and_options() {
    let c = resolve(&[], &ConfigOverrides::default()).unwrap();
    assert_eq!(c.limits, ServerLimits::default());
    let c = resolve(
        &[
            ("DYN_SYSTEM_HEADER_READ_TIMEOUT_MS", "1000"),
            ("DYN_SYSTEM_IDLE_TIMEOUT_MS", "2000"),
            ("DYN_SYSTEM_WRITE_TIMEOUT_MS", "3000"),
            ("DYN_SYSTEM_MAX_CONNECTIONS", "40"),
            ("DYN_SYSTEM_MAX_CONCURRENT_RENDERS", "5"),
            ("DYN_SYSTEM_RENDER_WAIT_MS", "0"),
        ],
        &ConfigOverrides {
            max_connections: Some(50.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        c.limits,
        ServerLimits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(3),
            max_connections: 50,
            max_concurrent_renders: 5,
            render_wait: Duration::ZERO,
        }
    );
    for (var, bad) in [
        ("DYN_SYSTEM_HEADER_READ_TIMEOUT_MS", "0"),
        ("DYN_SYSTEM_IDLE_TIMEOUT_MS", "-1"),
        ("DYN_SYSTEM_WRITE_TIMEOUT_MS", "1.5"),
        ("DYN_SYSTEM_MAX_CONNECTIONS", "0"),
        ("DYN_SYSTEM_MAX_CONCURRENT_RENDERS", "many"),
        ("DYN_SYSTEM_RENDER_WAIT_MS", "99999999999"),
    ] {
        let e = resolve(&[(var, bad)], &ConfigOverrides::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(
            e.message.contains(var) && e.message.contains(bad),
            "{}",
            e.message
        );
    }
    let e = resolve(
        &[],
        &ConfigOverrides {
            max_concurrent_renders: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.message.contains("maxConcurrentRenders"), "{}", e.message);
}

#[test]
fn a_path_no_request_can_have_is_refused() {
    for bad in ["/a b", "/ü", "/a?b", "/a#b", "/tab\there"] {
        let e = resolve(
            &[],
            &ConfigOverrides {
                health_path: Some(bad.into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config, "{bad}");
        assert!(
            e.message.contains("healthPath") && e.message.contains("no request"),
            "{}",
            e.message
        );
        let e = resolve(
            &[("DYN_SYSTEM_LIVE_PATH", bad)],
            &ConfigOverrides::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("DYN_SYSTEM_LIVE_PATH"), "{}", e.message);
    }
    for good in ["/a%20b", "/v1/health", "/{id}", "/a:b@c"] {
        let c = resolve(
            &[],
            &ConfigOverrides {
                health_path: Some(good.into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.health_path, good);
    }
}
