//! The NATS request plane: each served endpoint is a NATS service endpoint (so `$SRV.PING`,
//! `$SRV.INFO` and `$SRV.STATS` discover and describe it); responses stream back to the caller's
//! inbox and end with a final message.
//!
//! Subjects (names sanitized to `[A-Za-z0-9_-]`):
//! - service name: `<namespace>_<component>`; one service instance per serving process;
//! - endpoint subject: `<namespace>_<component>.<endpoint>-<instance id hex>` (one per instance);
//! - cancellation: `<endpoint subject>.cancel`, payload = the request id;
//! - every response message carries the request id header; the last one carries `Dynamo-Final`,
//!   and a failed request ends with `Nats-Service-Error` (the handler's message).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::service::{Service, ServiceExt};
use async_nats::{Client, HeaderMap, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{ErrorKind, MetricsError, Result};

pub const REQUEST_ID_HEADER: &str = "Dynamo-Request-Id";
pub const FINAL_HEADER: &str = "Dynamo-Final";
const SERVICE_ERROR_HEADER: &str = "Nats-Service-Error";
const SERVICE_VERSION: &str = "0.1.0";
/// Longest a flush may take while stopping or closing (the server may be unreachable).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

fn nats_err(what: impl std::fmt::Display) -> MetricsError {
    MetricsError::new(ErrorKind::Nats, what.to_string())
}

/// A NATS subject token from a hierarchy name.
pub fn token(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn service_name(namespace: &str, component: &str) -> String {
    format!("{}_{}", token(namespace), token(component))
}

pub fn endpoint_subject(service: &str, endpoint: &str, instance: &str) -> String {
    format!("{service}.{}-{instance}", token(endpoint))
}

/// A connection shared by the worker and client sides of one runtime.
pub struct NatsPlane {
    client: Client,
    url: String,
    /// Bumped on every disconnect, so waiting callers fail instead of hanging.
    disconnects: watch::Receiver<u64>,
}

impl NatsPlane {
    /// Connects or fails within `timeout` with an error naming the URL.
    pub async fn connect(url: &str, timeout: Duration) -> Result<NatsPlane> {
        let (tx, rx) = watch::channel(0u64);
        let connect = async_nats::ConnectOptions::new()
            .connection_timeout(timeout)
            .event_callback(move |event| {
                let tx = tx.clone();
                async move {
                    if let async_nats::Event::Disconnected = event {
                        tx.send_modify(|n| *n += 1);
                    }
                }
            })
            .connect(url);
        let client = match tokio::time::timeout(timeout + Duration::from_millis(500), connect).await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(nats_err(format!("cannot connect to NATS at {url}: {e}"))),
            Err(_) => {
                return Err(nats_err(format!(
                    "cannot connect to NATS at {url}: no answer within {} ms",
                    timeout.as_millis()
                )))
            }
        };
        Ok(NatsPlane {
            client,
            url: url.to_string(),
            disconnects: rx,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection, for the KV metrics pub/sub (`kv_metrics/`).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Starts a service endpoint; `sink` gets each request and cancellation.
    pub async fn serve(
        &self,
        spec: ServeSpec,
        sink: Arc<dyn RequestSink>,
    ) -> Result<Arc<ServedEndpoint>> {
        let service_name = spec.service.clone();
        let endpoint_name = token(&spec.endpoint);
        let subject = endpoint_subject(&spec.service, &spec.endpoint, &spec.instance);
        // What `$SRV.STATS` reports for this endpoint: see [`ServedEndpoint::set_stats_json`].
        let stats = Arc::new(Mutex::new(serde_json::Value::Null));
        let stats_for_handler = Arc::clone(&stats);
        let mut metadata = HashMap::new();
        metadata.insert("instance_id".to_string(), spec.instance.clone());
        metadata.insert("endpoint".to_string(), spec.endpoint.clone());
        let service: Service = self
            .client
            .service_builder()
            .description(format!("dynamo-metrics endpoint {}", spec.endpoint))
            .metadata(metadata.clone())
            .stats_handler(move |_endpoint, _stats| {
                stats_for_handler
                    .lock()
                    .map(|v| v.clone())
                    .unwrap_or(serde_json::Value::Null)
            })
            .start(&service_name, SERVICE_VERSION)
            .await
            .map_err(|e| nats_err(format!("cannot start NATS service '{service_name}': {e}")))?;
        let mut endpoint = service
            .endpoint_builder()
            .name(&endpoint_name)
            .metadata(metadata)
            .add(&subject)
            .await
            .map_err(|e| nats_err(format!("cannot serve NATS subject '{subject}': {e}")))?;
        let mut cancels: Subscriber = self
            .client
            .subscribe(format!("{subject}.cancel"))
            .await
            .map_err(|e| nats_err(format!("cannot subscribe to '{subject}.cancel': {e}")))?;

        let served = Arc::new(ServedEndpoint {
            client: self.client.clone(),
            subject: subject.clone(),
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            tasks: Mutex::new(Vec::new()),
            service: tokio::sync::Mutex::new(Some(service)),
            stop_tx: watch::channel(false).0,
            stats,
        });
        let weak = Arc::downgrade(&served);
        let sink_req = Arc::clone(&sink);
        let mut stop_requests = served.stop_tx.subscribe();
        let requests = tokio::spawn(async move {
            loop {
                let req = tokio::select! {
                    r = endpoint.next() => r,
                    _ = stop_requests.changed() => None,
                };
                let Some(req) = req else { break };
                let Some(served) = weak.upgrade() else { break };
                let request_id = req
                    .message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(REQUEST_ID_HEADER))
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default();
                let payload = req.message.payload.clone();
                let token = served.next.fetch_add(1, Ordering::Relaxed);
                served
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(token, (request_id.clone(), req));
                sink_req.deliver(IncomingRequest {
                    token,
                    request_id,
                    payload,
                });
            }
        });
        let weak = Arc::downgrade(&served);
        let mut stop_cancels = served.stop_tx.subscribe();
        let cancels_task = tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    m = cancels.next() => m,
                    _ = stop_cancels.changed() => None,
                };
                let Some(msg) = msg else { break };
                let Some(served) = weak.upgrade() else { break };
                let id = String::from_utf8_lossy(&msg.payload).to_string();
                let token = served
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .find(|(_, (rid, _))| *rid == id)
                    .map(|(t, _)| *t);
                if let Some(t) = token {
                    sink.cancel(t);
                }
            }
        });
        served
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend([requests, cancels_task]);
        Ok(served)
    }

    /// Instances of `endpoint` in `service`, from `$SRV.INFO` answers gathered for `wait`.
    pub async fn discover(
        &self,
        service: &str,
        endpoint: &str,
        wait: Duration,
    ) -> Result<Vec<Instance>> {
        let infos = self.gather(&format!("$SRV.INFO.{service}"), wait).await?;
        let want = token(endpoint);
        let mut out = Vec::new();
        for info in infos {
            let Some(eps) = info.get("endpoints").and_then(|e| e.as_array()) else {
                continue;
            };
            for ep in eps {
                if ep.get("name").and_then(|n| n.as_str()) != Some(want.as_str()) {
                    continue;
                }
                let subject = ep.get("subject").and_then(|s| s.as_str()).unwrap_or("");
                let id = ep
                    .get("metadata")
                    .and_then(|m| m.get("instance_id"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                if !subject.is_empty() && !id.is_empty() {
                    out.push(Instance {
                        id: id.to_string(),
                        subject: subject.to_string(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    /// The `$SRV.STATS` answers of `service`'s instances gathered for `wait`.
    pub async fn stats(&self, service: &str, wait: Duration) -> Result<Vec<serde_json::Value>> {
        self.gather(&format!("$SRV.STATS.{service}"), wait).await
    }

    /// Every answer to `subject` that arrives within `wait` (the micro-service discovery pattern).
    pub async fn gather(&self, subject: &str, wait: Duration) -> Result<Vec<serde_json::Value>> {
        let inbox = self.client.new_inbox();
        let mut sub = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| nats_err(format!("NATS subscribe failed: {e}")))?;
        self.client
            .publish_with_reply(subject.to_string(), inbox, Bytes::new())
            .await
            .map_err(|e| nats_err(format!("NATS publish to '{subject}' failed: {e}")))?;
        self.client
            .flush()
            .await
            .map_err(|e| nats_err(format!("NATS flush failed: {e}")))?;
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
            if let Ok(v) = serde_json::from_slice(&msg.payload) {
                out.push(v);
            }
        }
        let _ = sub.unsubscribe().await;
        Ok(out)
    }

    /// Sends a request; its responses arrive on the returned stream.
    pub async fn request(
        &self,
        subject: &str,
        request_id: &str,
        payload: Bytes,
    ) -> Result<ResponseStream> {
        let inbox = self.client.new_inbox();
        let sub = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| nats_err(format!("NATS subscribe failed: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, request_id);
        self.client
            .publish_with_reply_and_headers(subject.to_string(), inbox, headers, payload)
            .await
            .map_err(|e| nats_err(format!("NATS publish to '{subject}' failed: {e}")))?;
        // Seen now, so a disconnect any time after the request was sent fails the stream.
        let mut disconnects = self.disconnects.clone();
        disconnects.borrow_and_update();
        Ok(ResponseStream {
            sub,
            subject: subject.to_string(),
            url: self.url.clone(),
            disconnects,
            done: false,
        })
    }

    /// Tells the worker serving `subject` to cancel request `request_id`.
    pub async fn cancel(&self, subject: &str, request_id: &str) -> Result<()> {
        self.client
            .publish(
                format!("{subject}.cancel"),
                Bytes::from(request_id.to_string()),
            )
            .await
            .map_err(|e| nats_err(format!("NATS cancel publish failed: {e}")))?;
        let _ = tokio::time::timeout(CLOSE_WAIT, self.client.flush()).await;
        Ok(())
    }

    /// Flushes and closes the connection; bounded, so shutdown never waits on a NATS outage.
    pub async fn close(&self) {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            let _ = self.client.flush().await;
            let _ = self.client.drain().await;
        })
        .await;
    }
}

pub struct ServeSpec {
    pub service: String,
    pub endpoint: String,
    pub instance: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub id: String,
    pub subject: String,
}

pub struct IncomingRequest {
    pub token: u64,
    pub request_id: String,
    pub payload: Bytes,
}

/// Receives requests for a served endpoint (the binding forwards them to the JS handler).
pub trait RequestSink: Send + Sync + 'static {
    fn deliver(&self, req: IncomingRequest);
    fn cancel(&self, token: u64);
}

/// One served endpoint: requests in flight and the service that announces it.
pub struct ServedEndpoint {
    client: Client,
    subject: String,
    pending: Mutex<HashMap<u64, (String, async_nats::service::Request)>>,
    next: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    service: tokio::sync::Mutex<Option<Service>>,
    stop_tx: watch::Sender<bool>,
    stats: Arc<Mutex<serde_json::Value>>,
}

impl ServedEndpoint {
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Sets the data `$SRV.STATS` reports for this endpoint from the `statsHandler`'s JSON text.
    pub fn set_stats_json(&self, json: &str) -> Result<()> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            MetricsError::new(
                ErrorKind::InvalidValue,
                format!("statsHandler must return a JSON value: {e}"),
            )
        })?;
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = v;
        Ok(())
    }

    fn reply_of(&self, token: u64) -> Result<(String, String)> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (rid, req) = pending
            .get(&token)
            .ok_or_else(|| nats_err(format!("request {token} is no longer pending")))?;
        let reply = req
            .message
            .reply
            .as_ref()
            .ok_or_else(|| nats_err("the request has no reply subject"))?;
        Ok((reply.to_string(), rid.clone()))
    }

    /// Publishes one response message of request `token`.
    pub async fn send(&self, token: u64, payload: Bytes) -> Result<()> {
        let (reply, rid) = self.reply_of(token)?;
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, rid.as_str());
        self.client
            .publish_with_headers(reply, headers, payload)
            .await
            .map_err(|e| nats_err(format!("NATS publish failed: {e}")))
    }

    /// Ends request `token` with a final message (or the handler's error); counts it in the
    /// service stats.
    pub async fn finish(&self, token: u64, payload: Bytes, error: Option<String>) -> Result<()> {
        let entry = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&token);
        let Some((rid, req)) = entry else {
            return Err(nats_err(format!("request {token} is no longer pending")));
        };
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, rid.as_str());
        headers.insert(FINAL_HEADER, "1");
        let response = match error {
            None => Ok(payload),
            Some(msg) => Err(async_nats::service::error::Error {
                status: one_line(&msg),
                code: 500,
            }),
        };
        req.respond_with_headers(response, headers)
            .await
            .map_err(|e| nats_err(format!("NATS publish failed: {e}")))?;
        let _ = tokio::time::timeout(CLOSE_WAIT, self.client.flush()).await;
        Ok(())
    }

    /// Stops announcing and receiving; pending requests are dropped. When it returns, the
    /// server has seen the unsubscriptions (unless it is unreachable), so no request reaches a
    /// stopped endpoint.
    pub async fn stop(&self) {
        let _ = self.stop_tx.send(true);
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for t in tasks {
            // The tasks own the subscriptions; their end drops (unsubscribes) them.
            let _ = t.await;
        }
        if let Some(service) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(CLOSE_WAIT, service.stop()).await;
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, self.client.flush()).await;
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// Headers cannot hold newlines.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// The responses of one request, ending after the final message.
pub struct ResponseStream {
    sub: Subscriber,
    subject: String,
    url: String,
    disconnects: watch::Receiver<u64>,
    done: bool,
}

impl ResponseStream {
    /// The next response payload; `Ok(None)` after the final message. Fails when the handler
    /// failed, when no answer comes within `idle`, or when the NATS connection drops.
    pub async fn next(&mut self, idle: Duration) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        let msg = tokio::select! {
            m = tokio::time::timeout(idle, self.sub.next()) => m,
            _ = self.disconnects.changed() => {
                self.done = true;
                return Err(nats_err(format!(
                    "the NATS connection to {} was lost while waiting for a response from '{}'",
                    self.url, self.subject
                )));
            }
        };
        let msg = match msg {
            Ok(Some(m)) => m,
            Ok(None) => {
                self.done = true;
                return Err(nats_err(format!(
                    "the response stream from '{}' closed",
                    self.subject
                )));
            }
            Err(_) => {
                self.done = true;
                return Err(nats_err(format!(
                    "no response from '{}' within {} ms",
                    self.subject,
                    idle.as_millis()
                )));
            }
        };
        if msg.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            self.done = true;
            return Err(MetricsError::new(
                ErrorKind::Endpoint,
                format!("no instance serves '{}' any more", self.subject),
            ));
        }
        let headers = msg.headers.as_ref();
        if let Some(err) = headers.and_then(|h| h.get(SERVICE_ERROR_HEADER)) {
            self.done = true;
            let _ = self.sub.unsubscribe().await;
            return Err(MetricsError::new(
                ErrorKind::Handler,
                err.as_str().to_string(),
            ));
        }
        if headers.and_then(|h| h.get(FINAL_HEADER)).is_some() {
            self.done = true;
            let _ = self.sub.unsubscribe().await;
            return Ok(if msg.payload.is_empty() {
                None
            } else {
                Some(msg.payload)
            });
        }
        Ok(Some(msg.payload))
    }
}
