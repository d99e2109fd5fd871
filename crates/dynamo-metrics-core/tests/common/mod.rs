//! The HTTP test client the integration tests share: raw HTTP/1.1 over a TCP stream, so a test
//! can also behave as a broken client (stop halfway, never read).
#![allow(dead_code)] // each test file uses its own part of it

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use dynamo_metrics_core::config::{ConfigOverrides, SystemConfig};
use dynamo_metrics_core::health::{Health, HealthStatus};
use dynamo_metrics_core::server::{ScrapeFn, StatusServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One parsed answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse_reply(raw: &str) -> Reply {
    let (head, body) = raw.split_once("\r\n\r\n").expect("complete head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status: status.parse().unwrap(),
        headers,
        body: body.to_string(),
    }
}

/// [`SystemConfig::resolve`] over `vars` instead of the process environment.
pub fn resolve(
    vars: &[(&str, &str)],
    o: &ConfigOverrides,
) -> dynamo_metrics_core::Result<SystemConfig> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SystemConfig::resolve(&|name| map.get(name).cloned(), o)
}

/// `GET path` with `extra` header lines (each ending in `\r\n`); a chunked body is de-chunked.
pub async fn get(addr: SocketAddr, path: &str, extra: &str) -> Reply {
    let mut r = request(addr, "GET", path, extra).await;
    if r.header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body);
    }
    r
}

/// The payload of a chunked body.
fn dechunk(mut b: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = b.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        b = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// One `Connection: close` request, read to EOF.
pub async fn request(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    parse_reply(&raw)
}

/// One keep-alive request on `s` whose answer has a Content-Length; returns the reply.
pub async fn keep_alive_get(s: &mut TcpStream, path: &str) -> Reply {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed mid-answer");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse().unwrap())
                .expect("content-length");
            if body.len() >= len {
                return parse_reply(&text);
            }
        }
    }
}

/// Whether the server closed `s` (EOF or reset) within `within`.
pub async fn closed_within(s: &mut TcpStream, within: std::time::Duration) -> bool {
    let mut buf = [0u8; 65536];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

pub fn local_cfg() -> SystemConfig {
    SystemConfig {
        enabled: true,
        host: [127, 0, 0, 1].into(),
        port: 0,
        ..SystemConfig::default()
    }
}

pub async fn start(cfg: &SystemConfig, scrape: ScrapeFn) -> StatusServer {
    let health = Arc::new(Health::new(HealthStatus::Ready, vec![]));
    StatusServer::start(cfg, health, scrape).await.unwrap()
}
