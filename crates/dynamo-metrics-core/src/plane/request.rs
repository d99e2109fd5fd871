//! Calling an endpoint: one shared response subscription per connection (as nats.js muxes its
//! requests), numbered responses checked for gaps, and credit sent back as the caller reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, HeaderMap, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, OnceCell};
use tokio::task::JoinHandle;

use super::connect::{nats_err, NatsPlane, CLOSE_WAIT};
use super::subjects::{
    ack_payload, ack_subject, cancel_subject, DELIVERY_ERROR_CODE, FINAL_HEADER, REQUEST_ID_HEADER,
    SEQ_HEADER, SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER, WINDOW_HEADER,
};
use crate::error::{ErrorKind, MetricsError, Result};

type Routes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>>;

/// The callers' response subscription (`<inbox>.*`), routing each message to its request. One
/// subscription instead of one per request saves a SUB and an UNSUB round of the server per call.
pub(crate) struct Inbox {
    prefix: String,
    routes: Routes,
    next: AtomicU64,
    task: OnceCell<JoinHandle<()>>,
}

impl Inbox {
    pub(crate) fn new(prefix: String) -> Inbox {
        Inbox {
            prefix,
            routes: Arc::default(),
            next: AtomicU64::new(1),
            task: OnceCell::new(),
        }
    }

    async fn ensure(&self, client: &Client) -> Result<()> {
        self.task
            .get_or_try_init(|| async {
                let mut sub = client
                    .subscribe(format!("{}.*", self.prefix))
                    .await
                    .map_err(|e| nats_err(format!("NATS subscribe failed: {e}")))?;
                let routes = Arc::clone(&self.routes);
                Ok::<_, MetricsError>(tokio::spawn(async move {
                    while let Some(msg) = sub.next().await {
                        let tx = routes
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get(msg.subject.as_str())
                            .cloned();
                        // No route: a late message of a request that ended (cancelled, failed).
                        if let Some(tx) = tx {
                            let _ = tx.send(msg);
                        }
                    }
                }))
            })
            .await
            .map(|_| ())
    }

    /// A new reply subject and the receiving end of its messages. The queue is unbounded, but
    /// the worker sends at most the caller's window ahead of what the caller has read.
    fn route(&self) -> Route {
        let key = format!(
            "{}.{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), tx);
        Route {
            key,
            routes: Arc::clone(&self.routes),
            rx,
        }
    }

    /// Stops routing: every open stream ends at once ("closed") instead of at its idle timeout.
    pub(crate) fn stop(&self) {
        if let Some(t) = self.task.get() {
            t.abort();
        }
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// One request's reply subject; dropping it stops routing (late messages are discarded).
struct Route {
    key: String,
    routes: Routes,
    rx: mpsc::UnboundedReceiver<Message>,
}

impl Drop for Route {
    fn drop(&mut self) {
        self.routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl NatsPlane {
    /// Sends a request; its responses arrive on the returned stream. `window` > 0 turns on flow
    /// control: the worker sends at most `window` messages beyond what the caller has read.
    pub async fn request(
        &self,
        subject: &str,
        request_id: &str,
        payload: Bytes,
        window: u32,
    ) -> Result<ResponseStream> {
        self.inbox.ensure(&self.client).await?;
        let route = self.inbox.route();
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, request_id);
        if window > 0 {
            headers.insert(WINDOW_HEADER, window.to_string().as_str());
        }
        self.client
            .publish_with_reply_and_headers(
                subject.to_string(),
                route.key.clone(),
                headers,
                payload,
            )
            .await
            .map_err(|e| nats_err(format!("NATS publish to '{subject}' failed: {e}")))?;
        // Seen now, so a disconnect any time after the request was sent fails the stream.
        let mut disconnects = self.disconnects.clone();
        disconnects.borrow_and_update();
        Ok(ResponseStream {
            route,
            client: self.client.clone(),
            subject: subject.to_string(),
            request_id: request_id.to_string(),
            url: self.url().to_string(),
            disconnects,
            done: false,
            received: 0,
            window: u64::from(window),
            granted: u64::from(window),
        })
    }

    /// Tells the worker serving `subject` to cancel request `request_id`.
    pub async fn cancel(&self, subject: &str, request_id: &str) -> Result<()> {
        self.client
            .publish(cancel_subject(subject), Bytes::from(request_id.to_string()))
            .await
            .map_err(|e| nats_err(format!("NATS cancel publish failed: {e}")))?;
        let _ = tokio::time::timeout(CLOSE_WAIT, self.client.flush()).await;
        Ok(())
    }
}

/// The responses of one request, ending after the final message.
pub struct ResponseStream {
    route: Route,
    client: Client,
    subject: String,
    request_id: String,
    url: String,
    disconnects: watch::Receiver<u64>,
    done: bool,
    /// Sequence number of the last message received.
    received: u64,
    window: u64,
    /// The highest sequence number the worker was allowed so far.
    granted: u64,
}

impl ResponseStream {
    /// True once the stream has ended (final message, error); `next` then returns `Ok(None)`.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn end(&mut self, e: MetricsError) -> Result<Option<Bytes>> {
        self.done = true;
        Err(e)
    }

    /// The next response payload; `Ok(None)` after the final message. Fails when the handler
    /// failed, when a message was lost (a gap in the sequence numbers), when no answer comes
    /// within `idle`, or when the NATS connection drops.
    pub async fn next(&mut self, idle: Duration) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        let msg = tokio::select! {
            m = tokio::time::timeout(idle, self.route.rx.recv()) => m,
            _ = self.disconnects.changed() => {
                let e = nats_err(format!(
                    "the NATS connection to {} was lost while waiting for a response from '{}'",
                    self.url, self.subject
                ));
                return self.end(e);
            }
        };
        let msg = match msg {
            Ok(Some(m)) => m,
            Ok(None) => {
                let e = nats_err(format!(
                    "the response stream from '{}' closed",
                    self.subject
                ));
                return self.end(e);
            }
            Err(_) => {
                let e = nats_err(format!(
                    "no response from '{}' within {} ms",
                    self.subject,
                    idle.as_millis()
                ));
                return self.end(e);
            }
        };
        if msg.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            let e = MetricsError::new(
                ErrorKind::Endpoint,
                format!("no instance serves '{}' any more", self.subject),
            );
            return self.end(e);
        }
        let headers = msg.headers.as_ref();
        let seq = headers
            .and_then(|h| h.get(SEQ_HEADER))
            .and_then(|v| v.as_str().parse::<u64>().ok());
        let expected = self.received + 1;
        match seq {
            Some(s) if s != expected => {
                let e = nats_err(format!(
                    "response stream of request '{}' from '{}' lost messages {expected} to {} \
                     (message {s} arrived after {}); the responses are incomplete",
                    self.request_id,
                    self.subject,
                    s.saturating_sub(1).max(expected),
                    self.received
                ));
                return self.end(e);
            }
            _ => self.received = expected,
        }
        if let Some(err) = headers.and_then(|h| h.get(SERVICE_ERROR_HEADER)) {
            let delivery = headers
                .and_then(|h| h.get(SERVICE_ERROR_CODE_HEADER))
                .is_some_and(|c| c.as_str() == DELIVERY_ERROR_CODE.to_string());
            let kind = if delivery {
                ErrorKind::Nats
            } else {
                ErrorKind::Handler
            };
            return self.end(MetricsError::new(kind, err.as_str().to_string()));
        }
        if headers.and_then(|h| h.get(FINAL_HEADER)).is_some() {
            self.done = true;
            return Ok((!msg.payload.is_empty()).then_some(msg.payload));
        }
        if self.window > 0 && self.granted - self.received <= self.window / 2 {
            // Cumulative credit: a lost acknowledgement is made good by the next one.
            self.granted = self.received + self.window;
            let _ = self
                .client
                .publish(
                    ack_subject(&self.subject),
                    Bytes::from(ack_payload(&self.request_id, self.granted)),
                )
                .await;
        }
        Ok(Some(msg.payload))
    }
}
