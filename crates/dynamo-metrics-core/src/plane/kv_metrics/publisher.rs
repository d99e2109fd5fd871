//! The worker side of Method 1: serves the `load_metrics` endpoint (its `$SRV.STATS` data is the
//! latest `ForwardPassMetrics`) and sends `LoadEvent`s and `KvHitRateEvent`s. The debounce rule
//! lives in the caller (JS), which calls [`KvPublisher::update`] once per debounced change and
//! counts the events it reports as replaced unsent.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use async_nats::connection::State;
use bytes::Bytes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::types::{ForwardPassMetrics, KvHitRateEvent, LoadEvent};
use super::{event_subject, KV_HIT_RATE_SUBJECT, KV_METRICS_SUBJECT};
use crate::error::{ErrorKind, MetricsError, Result};
use crate::plane::serve::CREDIT_WAIT;
use crate::plane::subjects::service_name;
use crate::plane::{IncomingRequest, NatsPlane, RequestSink, ServeSpec, ServedEndpoint};

/// Answers requests to `load_metrics` at once with an empty final message (it is pull-only:
/// what matters is its stats).
struct AckSink(OnceLock<Weak<ServedEndpoint>>);

impl RequestSink for AckSink {
    fn deliver(&self, req: IncomingRequest) {
        if let Some(served) = self.0.get().and_then(Weak::upgrade) {
            tokio::spawn(async move {
                let _ = served.finish(req.token, Bytes::new(), None).await;
            });
        }
    }
    fn cancel(&self, _token: u64) {}
}

/// How often the sender looks at the connection while NATS is unreachable (it only waits then).
const RECONNECT_POLL: Duration = Duration::from_millis(20);
/// How long `stop` waits for the last event to go.
const STOP_WAIT: Duration = Duration::from_secs(1);

/// The newest `LoadEvent` not yet handed to NATS. An event is state, not a delta, so while NATS
/// is unreachable only the newest is kept (nothing queues up, and the aggregator gets the
/// current load, not a backlog, on reconnect); each one replaced unsent is reported to the
/// caller, which counts it.
#[derive(Default)]
struct Latest {
    /// The unsent event, and whether the publisher stopped.
    slot: Mutex<(Option<Bytes>, bool)>,
    changed: Notify,
}

impl Latest {
    fn slot(&self) -> std::sync::MutexGuard<'_, (Option<Bytes>, bool)> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `event`; true when it replaced one not sent yet.
    fn put(&self, event: Bytes) -> Result<bool> {
        let mut slot = self.slot();
        if slot.1 {
            return Err(MetricsError::new(
                ErrorKind::Closed,
                "the WorkerMetricsPublisher was stopped",
            ));
        }
        let replaced = slot.0.replace(event).is_some();
        drop(slot);
        self.changed.notify_one();
        Ok(replaced)
    }

    /// Takes no more events; the one stored still goes.
    fn close(&self) {
        self.slot().1 = true;
        self.changed.notify_one();
    }

    /// Waits for an event or the close; None once closed with nothing left.
    async fn next(&self) -> Option<()> {
        loop {
            match &*self.slot() {
                (Some(_), _) => return Some(()),
                (None, true) => return None,
                (None, false) => {}
            }
            self.changed.notified().await;
        }
    }

    fn take(&self) -> Option<Bytes> {
        self.slot().0.take()
    }
}

/// Sends the events in order, one at a time, taking the newest only once NATS is connected.
async fn send_events(latest: Arc<Latest>, client: async_nats::Client, subject: String) {
    while latest.next().await.is_some() {
        // Polled, not evented: this only runs during an outage, and newer events replace the
        // stored one meanwhile rather than piling up in the client's buffer.
        while client.connection_state() != State::Connected {
            tokio::time::sleep(RECONNECT_POLL).await;
        }
        let Some(event) = latest.take() else { continue };
        // An error means the connection is closed for good; later events cannot go either.
        if client.publish(subject.clone(), event).await.is_err() {
            return;
        }
    }
    let _ = client.flush().await;
}

/// One worker's publisher: serves its `load_metrics` endpoint and sends its `LoadEvent`s.
pub struct KvPublisher {
    served: Arc<ServedEndpoint>,
    worker_id: i64,
    latest: Arc<Latest>,
    sender: Mutex<Option<JoinHandle<()>>>,
}

impl KvPublisher {
    /// Serves `endpoint` of `namespace`/`component` as instance `instance` (hex of a positive
    /// i64: the worker id, as Dynamo's aggregator parses it from the subject).
    pub async fn start(
        plane: &NatsPlane,
        namespace: &str,
        component: &str,
        endpoint: &str,
        instance: &str,
    ) -> Result<Arc<KvPublisher>> {
        let worker_id = i64::from_str_radix(instance, 16).map_err(|_| {
            MetricsError::new(
                ErrorKind::InvalidValue,
                format!("worker instance id '{instance}' must be the hex of a positive i64"),
            )
        })?;
        let sink = Arc::new(AckSink(OnceLock::new()));
        let served = plane
            .serve(
                ServeSpec {
                    service: service_name(namespace, component),
                    endpoint: endpoint.to_string(),
                    instance: instance.to_string(),
                    credit_wait: CREDIT_WAIT,
                },
                sink.clone(),
            )
            .await?;
        let _ = sink.0.set(Arc::downgrade(&served));
        // One task sends; `update` only stores (it runs on the JS thread).
        let latest = Arc::new(Latest::default());
        let sender = tokio::spawn(send_events(
            latest.clone(),
            plane.client().clone(),
            event_subject(namespace, KV_METRICS_SUBJECT),
        ));
        Ok(Arc::new(KvPublisher {
            served,
            worker_id,
            latest,
            sender: Mutex::new(Some(sender)),
        }))
    }

    /// The worker id: the i64 whose hex ends the endpoint subject, as Dynamo parses it.
    pub fn worker_id(&self) -> i64 {
        self.worker_id
    }

    /// The served endpoint's subject.
    pub fn subject(&self) -> &str {
        self.served.subject()
    }

    /// Makes `metrics` the stats data and, when `send_event`, queues a `LoadEvent` with them.
    /// True when that event replaced one still unsent (NATS unreachable or slow): the caller
    /// counts it.
    pub fn update(&self, metrics: ForwardPassMetrics, send_event: bool) -> Result<bool> {
        let json = metrics.to_json();
        self.served.set_stats_json(&json)?;
        if !send_event {
            return Ok(false);
        }
        let ev = LoadEvent {
            worker_id: self.worker_id,
            data: metrics,
        };
        self.latest.put(Bytes::from(
            serde_json::to_vec(&ev).expect("plain data serializes"),
        ))
    }

    /// Sends the queued event (waiting at most a second for NATS), then stops serving. True
    /// when that event could not go (NATS unreachable): the caller counts it.
    pub async fn stop(&self) -> bool {
        self.latest.close();
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(s) = sender {
            let abort = s.abort_handle();
            if tokio::time::timeout(STOP_WAIT, s).await.is_err() {
                abort.abort();
            }
        }
        let dropped = self.latest.take().is_some();
        self.served.stop().await;
        dropped
    }
}

/// Sends `ev` to `namespace.<ns>.kv-hit-rate`.
pub async fn publish_hit_rate(
    plane: &NatsPlane,
    namespace: &str,
    ev: &KvHitRateEvent,
) -> Result<()> {
    let bytes = Bytes::from(serde_json::to_vec(ev).expect("plain data serializes"));
    let subject = event_subject(namespace, KV_HIT_RATE_SUBJECT);
    plane
        .client()
        .publish(subject.clone(), bytes)
        .await
        .map_err(|e| {
            MetricsError::new(
                ErrorKind::Nats,
                format!("NATS publish to '{subject}' failed: {e}"),
            )
        })?;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), plane.client().flush()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_replaced_unsent_is_reported_and_a_sent_one_is_not() {
        let l = Latest::default();
        assert!(!l.put(Bytes::from_static(b"1")).unwrap());
        assert!(l.put(Bytes::from_static(b"2")).unwrap());
        assert!(l.put(Bytes::from_static(b"3")).unwrap());
        assert_eq!(l.take().as_deref(), Some(&b"3"[..]));
        assert!(!l.put(Bytes::from_static(b"4")).unwrap());
    }

    #[tokio::test]
    async fn after_close_the_stored_event_still_goes_and_no_new_one_is_taken() {
        let l = Latest::default();
        l.put(Bytes::from_static(b"1")).unwrap();
        l.close();
        assert_eq!(
            l.put(Bytes::from_static(b"2")).unwrap_err().kind,
            ErrorKind::Closed
        );
        assert!(l.next().await.is_some());
        assert_eq!(l.take().as_deref(), Some(&b"1"[..]));
        assert!(l.next().await.is_none());
    }
}
