//! The worker side of Method 1: serves the `load_metrics` endpoint (its `$SRV.STATS` data is the
//! latest `ForwardPassMetrics`) and sends `LoadEvent`s and `KvHitRateEvent`s. The debounce rule
//! lives in the caller (JS), which calls [`KvPublisher::update`] once per debounced change.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use tokio::sync::watch;
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

pub struct KvPublisher {
    served: Arc<ServedEndpoint>,
    worker_id: i64,
    /// The latest `LoadEvent`: it is state, not a delta, so when sending lags (a NATS outage)
    /// only the newest is kept and the queue cannot grow.
    events: Mutex<Option<watch::Sender<Bytes>>>,
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
        // One task sends the events in order; `update` only stores (it runs on the JS thread).
        let (tx, mut rx) = watch::channel(Bytes::new());
        let client = plane.client().clone();
        let subject = event_subject(namespace, KV_METRICS_SUBJECT);
        let sender = tokio::spawn(async move {
            // Ok while a value is unseen, even after the sender is gone: the last event still goes.
            while rx.changed().await.is_ok() {
                let b = rx.borrow_and_update().clone();
                // While NATS is down the client buffers and reconnects; an error here means the
                // connection is closed for good, and later events cannot go either.
                if client.publish(subject.clone(), b).await.is_err() {
                    break;
                }
            }
            let _ = client.flush().await;
        });
        Ok(Arc::new(KvPublisher {
            served,
            worker_id,
            events: Mutex::new(Some(tx)),
            sender: Mutex::new(Some(sender)),
        }))
    }

    pub fn worker_id(&self) -> i64 {
        self.worker_id
    }

    pub fn subject(&self) -> &str {
        self.served.subject()
    }

    /// Makes `metrics` the stats data and, when `send_event`, queues a `LoadEvent` with them.
    pub fn update(&self, metrics: ForwardPassMetrics, send_event: bool) -> Result<()> {
        let json = metrics.to_json();
        self.served.set_stats_json(&json)?;
        if send_event {
            let ev = LoadEvent {
                worker_id: self.worker_id,
                data: metrics,
            };
            let bytes = Bytes::from(serde_json::to_vec(&ev).expect("plain data serializes"));
            let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            match events.as_ref() {
                Some(tx) if !tx.is_closed() => {
                    tx.send_replace(bytes);
                }
                _ => {
                    return Err(MetricsError::new(
                        ErrorKind::Closed,
                        "the WorkerMetricsPublisher was stopped",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Sends the queued events, then stops serving.
    pub async fn stop(&self) {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).take();
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(s) = sender {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), s).await;
        }
        self.served.stop().await;
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
