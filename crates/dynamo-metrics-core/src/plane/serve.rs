//! Serving an endpoint: each served endpoint is a NATS service endpoint (so `$SRV.PING`,
//! `$SRV.INFO` and `$SRV.STATS` discover and describe it). Requests go to a [`RequestSink`];
//! responses go back numbered, paced by the caller's credit, and end with a final message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::service::{Service, ServiceExt};
use async_nats::{Client, HeaderMap, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::connect::{nats_err, NatsPlane, CLOSE_WAIT};
use super::subjects::{
    control_wildcard, endpoint_subject, one_line, parse_ack, DELIVERY_ERROR_CODE, FINAL_HEADER,
    REQUEST_ID_HEADER, SEQ_HEADER, SERVICE_VERSION, WINDOW_HEADER,
};
use crate::error::{ErrorKind, MetricsError, Result};
use crate::names::nats_subject_token;

/// How long a response waits for the caller's credit before the send fails, unless
/// [`ServeSpec::credit_wait`] says otherwise: a caller that reads nothing for this long (and did
/// not cancel) is treated as gone.
pub const CREDIT_WAIT: Duration = Duration::from_secs(60);
/// How long the error final of a request abandoned on a disconnect may wait for the reconnect.
const ABANDON_WAIT: Duration = Duration::from_secs(10);
/// Longest handler error text carried in a header (a header line must fit the max payload).
const MAX_ERROR_TEXT: usize = 4096;
/// What a caller hears when the worker's connection dropped during its request.
const DISCONNECT_MESSAGE: &str = "the serving instance lost its NATS connection during the request";

/// What to serve: names as the hierarchy has them.
pub struct ServeSpec {
    /// The NATS service name ([`super::subjects::service_name`]).
    pub service: String,
    /// The endpoint's name.
    pub endpoint: String,
    /// This instance's id (lowercase hex).
    pub instance: String,
    /// How long a response waits for the caller's credit ([`CREDIT_WAIT`] by default).
    pub credit_wait: Duration,
}

/// One request for the handler.
pub struct IncomingRequest {
    /// Names the request in [`ServedEndpoint::send`] and [`ServedEndpoint::finish`].
    pub token: u64,
    /// The caller's request id (empty when the request had none).
    pub request_id: String,
    /// The request body.
    pub payload: Bytes,
}

/// Receives requests for a served endpoint (the binding forwards them to the JS handler).
pub trait RequestSink: Send + Sync + 'static {
    /// A new request.
    fn deliver(&self, req: IncomingRequest);
    /// Request `token` is cancelled: the caller cancelled it, or the connection dropped.
    fn cancel(&self, token: u64);
}

/// A request in flight.
struct Pending {
    request_id: String,
    req: async_nats::service::Request,
    /// Messages sent so far; the next one's sequence number is `sent + 1`.
    sent: u64,
    /// The caller's credit (highest sequence number it allows), or `None` without flow control.
    /// Dropping it (the request ended) wakes a send waiting for credit.
    credit: Option<watch::Sender<u64>>,
}

#[derive(Default)]
struct Table {
    by_token: HashMap<u64, Pending>,
    /// Cancellations and acknowledgements name the request id.
    by_id: HashMap<String, u64>,
}

impl Table {
    fn remove(&mut self, token: u64) -> Option<Pending> {
        let p = self.by_token.remove(&token)?;
        if self.by_id.get(&p.request_id) == Some(&token) {
            self.by_id.remove(&p.request_id);
        }
        Some(p)
    }
}

/// One served endpoint: requests in flight and the service that announces it.
pub struct ServedEndpoint {
    client: Client,
    subject: String,
    table: Mutex<Table>,
    next: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    service: tokio::sync::Mutex<Option<Service>>,
    stop_tx: watch::Sender<bool>,
    stats: Arc<Mutex<serde_json::Value>>,
    credit_wait: Duration,
}

/// The last message of a request, built (and checked) synchronously; [`FinalMessage::publish`]
/// sends it.
pub struct FinalMessage {
    req: async_nats::service::Request,
    headers: HeaderMap,
    response: std::result::Result<Bytes, async_nats::service::error::Error>,
}

impl FinalMessage {
    /// Publishes the final message (and counts the request in the service stats).
    pub async fn publish(self) -> Result<()> {
        self.req
            .respond_with_headers(self.response, self.headers)
            .await
            .map_err(|e| nats_err(format!("NATS publish failed: {e}")))
    }
}

/// Header block and its wire size (as the server counts it against the max payload).
fn headers_of(pairs: &[(&str, &str)]) -> (HeaderMap, usize) {
    let mut h = HeaderMap::new();
    let mut len = "NATS/1.0\r\n\r\n".len();
    for (k, v) in pairs {
        h.insert(*k, *v);
        len += k.len() + 2 + v.len() + 2;
    }
    (h, len)
}

fn delivery_err(what: String) -> MetricsError {
    MetricsError::new(ErrorKind::Nats, what)
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl NatsPlane {
    /// Starts a service endpoint; `sink` gets each request and cancellation.
    pub async fn serve(
        &self,
        spec: ServeSpec,
        sink: Arc<dyn RequestSink>,
    ) -> Result<Arc<ServedEndpoint>> {
        let service_name = spec.service.clone();
        let endpoint_name = nats_subject_token(&spec.endpoint);
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
        let control_subject = control_wildcard(&subject);
        let mut control: Subscriber = self
            .client
            .subscribe(control_subject.clone())
            .await
            .map_err(|e| nats_err(format!("cannot subscribe to '{control_subject}': {e}")))?;

        let served = Arc::new(ServedEndpoint {
            client: self.client.clone(),
            subject: subject.clone(),
            table: Mutex::new(Table::default()),
            next: AtomicU64::new(1),
            tasks: Mutex::new(Vec::new()),
            service: tokio::sync::Mutex::new(Some(service)),
            stop_tx: watch::channel(false).0,
            stats,
            credit_wait: spec.credit_wait,
        });

        let weak = Arc::downgrade(&served);
        let sink_req = Arc::clone(&sink);
        let mut stop = served.stop_tx.subscribe();
        let requests = tokio::spawn(async move {
            loop {
                let req = tokio::select! {
                    r = endpoint.next() => r,
                    _ = stop.changed() => None,
                };
                let Some(req) = req else { break };
                let Some(served) = weak.upgrade() else { break };
                sink_req.deliver(served.admit(req));
            }
        });

        let weak = Arc::downgrade(&served);
        let sink_ctl = Arc::clone(&sink);
        let mut stop = served.stop_tx.subscribe();
        let control_task = tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    m = control.next() => m,
                    _ = stop.changed() => None,
                };
                let Some(msg) = msg else { break };
                let Some(served) = weak.upgrade() else { break };
                if msg.subject.ends_with(".ack") {
                    if let Some((id, limit)) = parse_ack(&msg.payload) {
                        served.grant(id, limit);
                    }
                } else if msg.subject.ends_with(".cancel") {
                    let id = String::from_utf8_lossy(&msg.payload);
                    let token = served.lock().by_id.get(id.as_ref()).copied();
                    if let Some(t) = token {
                        sink_ctl.cancel(t);
                    }
                }
            }
        });

        // A dropped connection loses what was in flight: cancel the handlers now (their
        // `signal` fires) rather than let them produce for a caller that cannot hear them.
        let weak = Arc::downgrade(&served);
        let mut disconnects = self.disconnects.clone();
        disconnects.borrow_and_update();
        let mut stop = served.stop_tx.subscribe();
        let disconnect_task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = disconnects.changed() => if r.is_err() { break },
                    _ = stop.changed() => break,
                }
                let Some(served) = weak.upgrade() else { break };
                served.abandon_all(sink.as_ref());
            }
        });
        served
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend([requests, control_task, disconnect_task]);
        Ok(served)
    }
}

impl ServedEndpoint {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The subject this endpoint serves.
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

    /// Records a new request and what the handler needs of it.
    fn admit(&self, req: async_nats::service::Request) -> IncomingRequest {
        let headers = req.message.headers.as_ref();
        let request_id = headers
            .and_then(|h| h.get(REQUEST_ID_HEADER))
            .map(|v| v.as_str().to_string())
            .unwrap_or_default();
        let window = headers
            .and_then(|h| h.get(WINDOW_HEADER))
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .filter(|w| *w > 0);
        let payload = req.message.payload.clone();
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let mut t = self.lock();
        t.by_id.insert(request_id.clone(), token);
        t.by_token.insert(
            token,
            Pending {
                request_id: request_id.clone(),
                req,
                sent: 0,
                credit: window.map(|w| watch::channel(w).0),
            },
        );
        IncomingRequest {
            token,
            request_id,
            payload,
        }
    }

    /// The caller of request `id` allows messages up to sequence number `limit`.
    fn grant(&self, id: &str, limit: u64) {
        let t = self.lock();
        let Some(token) = t.by_id.get(id) else { return };
        if let Some(credit) = t.by_token.get(token).and_then(|p| p.credit.as_ref()) {
            credit.send_if_modified(|l| {
                let more = limit > *l;
                if more {
                    *l = limit;
                }
                more
            });
        }
    }

    /// Cancels every request in flight (the connection dropped) and tells each caller why once
    /// the connection is back.
    fn abandon_all(&self, sink: &dyn RequestSink) {
        let abandoned: Vec<(u64, Pending)> = {
            let mut t = self.lock();
            t.by_id.clear();
            t.by_token.drain().collect()
        };
        for (token, p) in abandoned {
            sink.cancel(token);
            let (headers, _) = headers_of(&[
                (REQUEST_ID_HEADER, &p.request_id),
                (SEQ_HEADER, &(p.sent + 1).to_string()),
                (FINAL_HEADER, "1"),
            ]);
            let msg = FinalMessage {
                req: p.req,
                headers,
                response: Err(async_nats::service::error::Error {
                    status: DISCONNECT_MESSAGE.to_string(),
                    code: DELIVERY_ERROR_CODE as usize,
                }),
            };
            tokio::spawn(async move {
                let _ = tokio::time::timeout(ABANDON_WAIT, msg.publish()).await;
            });
        }
    }

    fn too_large(&self, what: &str, seq: u64, size: usize) -> Result<()> {
        let max = self.client.max_payload();
        if size > max {
            return Err(delivery_err(format!(
                "{what} {seq} is {size} bytes with its headers, over the NATS server's max payload \
                 of {max} bytes (raise max_payload in the server's configuration, or send smaller \
                 items)"
            )));
        }
        Ok(())
    }

    /// Publishes response message `payload` of request `token`, once the caller's credit allows
    /// it. Fails (and sends nothing) when the message exceeds the server's max payload, when the
    /// caller grants no credit within the credit wait, or when the request ended meanwhile.
    pub async fn send(&self, token: u64, payload: Bytes) -> Result<()> {
        let (reply, rid, seq, credit) = {
            let t = self.lock();
            let p = t
                .by_token
                .get(&token)
                .ok_or_else(|| nats_err(format!("request {token} is no longer pending")))?;
            let reply = p
                .req
                .message
                .reply
                .clone()
                .ok_or_else(|| nats_err("the request has no reply subject"))?;
            (
                reply,
                p.request_id.clone(),
                p.sent + 1,
                p.credit.as_ref().map(|c| c.subscribe()),
            )
        };
        let seq_text = seq.to_string();
        let (headers, header_len) =
            headers_of(&[(REQUEST_ID_HEADER, &rid), (SEQ_HEADER, &seq_text)]);
        self.too_large("response", seq, header_len + payload.len())?;
        if let Some(mut credit) = credit {
            let wait = async {
                loop {
                    if *credit.borrow_and_update() >= seq {
                        return Ok(());
                    }
                    if credit.changed().await.is_err() {
                        return Err(nats_err(format!(
                            "request {token} ended while response {seq} waited for credit"
                        )));
                    }
                }
            };
            tokio::time::timeout(self.credit_wait, wait)
                .await
                .map_err(|_| {
                    delivery_err(format!(
                    "the caller read nothing for {} ms: response {seq} of request '{rid}' had no \
                     credit",
                    self.credit_wait.as_millis()
                ))
                })??;
        }
        self.client
            .publish_with_headers(reply, headers, payload)
            .await
            .map_err(|e| delivery_err(format!("NATS publish of response {seq} failed: {e}")))?;
        if let Some(p) = self.lock().by_token.get_mut(&token) {
            p.sent = seq;
        }
        Ok(())
    }

    /// Builds the last message of request `token`: `payload` (a last response, or empty), or
    /// the error `(message, code)`. Fails, keeping the request pending, when it would exceed
    /// the server's max payload; else the request is no longer pending.
    pub fn final_message(
        &self,
        token: u64,
        payload: Bytes,
        error: Option<(&str, u16)>,
    ) -> Result<FinalMessage> {
        let mut t = self.lock();
        let p = t
            .by_token
            .get(&token)
            .ok_or_else(|| nats_err(format!("request {token} is no longer pending")))?;
        let seq = (p.sent + 1).to_string();
        let (headers, header_len) = headers_of(&[
            (REQUEST_ID_HEADER, &p.request_id),
            (SEQ_HEADER, &seq),
            (FINAL_HEADER, "1"),
        ]);
        let response = match error {
            None => {
                self.too_large("response", p.sent + 1, header_len + payload.len())?;
                Ok(payload)
            }
            Some((msg, code)) => Err(async_nats::service::error::Error {
                status: one_line(cut(msg, MAX_ERROR_TEXT)),
                code: code as usize,
            }),
        };
        let Some(p) = t.remove(token) else {
            return Err(nats_err(format!("request {token} is no longer pending")));
        };
        Ok(FinalMessage {
            req: p.req,
            headers,
            response,
        })
    }

    /// Ends request `token` with a final message (or an error); counts it in the service stats.
    pub async fn finish(
        &self,
        token: u64,
        payload: Bytes,
        error: Option<(&str, u16)>,
    ) -> Result<()> {
        self.final_message(token, payload, error)?.publish().await
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
        *self.lock() = Table::default();
    }
}
