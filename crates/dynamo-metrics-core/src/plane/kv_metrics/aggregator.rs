//! The KV metrics aggregator (Dynamo's `KvMetricsAggregator` plus the `metrics` component's
//! hit-rate listener): polls the endpoint's `$SRV.STATS` every `interval`, listens to
//! `LoadEvent`s and `KvHitRateEvent`s, and keeps the [`State`].
//!
//! Polls overlap: a round is sent every `interval` on one long-lived reply subscription
//! (`<inbox>.<round>`), and each answer is taken as it arrives, unless it comes later than
//! `timeout` after its round was sent. So a live worker is refreshed every `interval`, and one
//! that stops answering leaves after `stale_after` (default 3 × `timeout`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::Message;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::state::{worker_id_of, Processed, State};
use super::types::{ForwardPassMetrics, KvHitRateEvent, LoadEvent, Naming};
use super::{event_subject, export, KV_HIT_RATE_SUBJECT, KV_METRICS_SUBJECT};
use crate::error::{ErrorKind, MetricsError, Result};
use crate::names::nats_subject_token as token;
use crate::plane::subjects::service_name;
use crate::plane::NatsPlane;

/// The aggregator's timing, validated once by [`AggregatorOptions::new`].
#[derive(Clone, Copy, Debug)]
pub struct AggregatorOptions {
    /// How often a stats poll is sent (`pollIntervalMs`).
    pub interval: Duration,
    /// Answers later than this after their poll are dropped (`pollTimeoutMs`), which bounds how
    /// old a taken answer can be.
    pub timeout: Duration,
    /// A worker unheard of for this long leaves the aggregate (`staleAfterMs`).
    pub stale_after: Duration,
}

fn millis(name: &str, v: f64, min: f64) -> Result<Duration> {
    if !v.is_finite() || v.fract() != 0.0 || v < min || v > 3_600_000.0 {
        return Err(MetricsError::new(
            ErrorKind::Config,
            format!("KvMetricsAggregator option {name} must be an integer number of ms from {min} to 3600000 (got {v})"),
        ));
    }
    Ok(Duration::from_millis(v as u64))
}

impl AggregatorOptions {
    /// Dynamo's poll period.
    pub const DEFAULT_INTERVAL_MS: f64 = 100.0;
    /// Dynamo's `scrape_stats` timeout.
    pub const DEFAULT_TIMEOUT_MS: f64 = 300.0;

    /// Validates the options (ms); `stale_after` defaults to 3 × `timeout`, and must leave room
    /// for two polls (at least `2 × interval`).
    pub fn new(
        interval_ms: Option<f64>,
        timeout_ms: Option<f64>,
        stale_ms: Option<f64>,
    ) -> Result<Self> {
        let interval = millis(
            "pollIntervalMs",
            interval_ms.unwrap_or(Self::DEFAULT_INTERVAL_MS),
            1.0,
        )?;
        let timeout = millis(
            "pollTimeoutMs",
            timeout_ms.unwrap_or(Self::DEFAULT_TIMEOUT_MS),
            1.0,
        )?;
        let stale_after = match stale_ms {
            Some(v) => millis("staleAfterMs", v, 1.0)?,
            None => (timeout * 3).max(interval * 2 + timeout),
        };
        if stale_after < interval * 2 {
            return Err(MetricsError::new(
                ErrorKind::Config,
                format!(
                    "KvMetricsAggregator option staleAfterMs ({} ms) must be at least twice pollIntervalMs ({} ms), or live workers would flap",
                    stale_after.as_millis(),
                    interval.as_millis()
                ),
            ));
        }
        Ok(AggregatorOptions {
            interval,
            timeout,
            stale_after,
        })
    }
}

/// One aggregator of one endpoint: shared by the task that polls and listens ([`KvAggregator::run`])
/// and the readers (`getMetrics()`, renders) through its [`State`].
pub struct KvAggregator {
    state: Mutex<State>,
    namespace: String,
    service: String,
    /// Endpoint subjects of the watched endpoint start with this (`<service>.<endpoint>-`).
    prefix: String,
    opts: AggregatorOptions,
    stop: watch::Sender<bool>,
    ready: watch::Sender<Option<std::result::Result<(), MetricsError>>>,
}

impl KvAggregator {
    /// An aggregator of `endpoint` of `namespace`/`component`; nothing happens until
    /// [`KvAggregator::run`].
    pub fn new(
        namespace: &str,
        component: &str,
        endpoint: &str,
        opts: AggregatorOptions,
    ) -> Arc<KvAggregator> {
        let service = service_name(namespace, component);
        Arc::new(KvAggregator {
            state: Mutex::new(State::new(opts.stale_after, opts.timeout)),
            namespace: namespace.to_string(),
            prefix: format!("{service}.{}-", token(endpoint)),
            service,
            opts,
            stop: watch::channel(false).0,
            ready: watch::channel(None).0,
        })
    }

    /// The validated timing (JS reads `staleAfterMs` from it).
    pub fn options(&self) -> AggregatorOptions {
        self.opts
    }

    /// The NATS service it scrapes and the subject prefix it keeps (for log lines).
    pub fn service(&self) -> &str {
        &self.service
    }
    /// Stats answers whose subject starts with this are of the watched endpoint.
    pub fn subject_prefix(&self) -> &str {
        &self.prefix
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves once it listens (so no event sent after this is missed), or with why it cannot.
    pub async fn ready(&self) -> Result<()> {
        let mut rx = self.ready.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                return Err(MetricsError::new(
                    ErrorKind::Closed,
                    "the aggregator stopped",
                ));
            }
        }
    }

    /// The aggregate now (workers past `stale_after` already gone).
    pub fn processed(&self) -> Processed {
        self.state().processed(Instant::now())
    }

    /// The `llm_*` text of the aggregate now.
    pub fn render(&self, labels: &export::ExportLabels<'_>) -> String {
        export::render(&mut self.state(), Instant::now(), labels)
    }

    /// The malformed-input summary since the last call; the caller paces the warnings.
    pub fn take_warning(&self) -> Option<String> {
        self.state().take_warning()
    }

    /// Malformed events and stats ignored so far.
    pub fn malformed(&self) -> u64 {
        self.state().malformed
    }

    /// Ends [`KvAggregator::run`] (idempotent); the data read so far stays readable.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Subscribes, then polls and listens until [`KvAggregator::stop`] or the connection closes.
    pub async fn run(self: Arc<Self>, plane: Arc<NatsPlane>) {
        let client = plane.client().clone();
        let inbox = client.new_inbox();
        let subs = async {
            let e = |e: async_nats::SubscribeError| e.to_string();
            let answers = client.subscribe(format!("{inbox}.*")).await.map_err(e)?;
            let events = client
                .subscribe(event_subject(&self.namespace, KV_METRICS_SUBJECT))
                .await
                .map_err(e)?;
            let hits = client
                .subscribe(event_subject(&self.namespace, KV_HIT_RATE_SUBJECT))
                .await
                .map_err(e)?;
            // The server has the subscriptions once the flush returns: nothing sent later is missed.
            client.flush().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((answers, events, hits))
        };
        let (mut answers, mut events, mut hits) = match subs.await {
            Ok(s) => s,
            Err(e) => {
                self.ready.send_replace(Some(Err(MetricsError::new(
                    ErrorKind::Nats,
                    format!("the KV metrics aggregator cannot subscribe: {e}"),
                ))));
                return;
            }
        };
        // send_replace: stored even while nobody waits yet (send would drop it).
        self.ready.send_replace(Some(Ok(())));
        let stats_subject = format!("$SRV.STATS.{}", self.service);
        let mut tick = tokio::time::interval(self.opts.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut stop = self.stop.subscribe();
        let mut round: u64 = 0;
        // (round, sent at) of the rounds whose answers are still welcome.
        let mut sent: VecDeque<(u64, Instant)> = VecDeque::new();
        // Stopped before it got here: `changed` would not fire for a value already seen.
        let mut stopped = *stop.borrow_and_update();
        while !stopped {
            tokio::select! {
                _ = stop.changed() => stopped = true,
                _ = tick.tick() => {
                    round += 1;
                    let now = Instant::now();
                    while sent.front().is_some_and(|(_, t)| now.duration_since(*t) > self.opts.timeout) {
                        sent.pop_front();
                    }
                    // While NATS is down no poll is sent: the client's bounded buffer would fill,
                    // and a full one blocks this loop (and its stop) until the server is back.
                    if client.connection_state() == async_nats::connection::State::Connected {
                        sent.push_back((round, now));
                        let _ = client
                            .publish_with_reply(stats_subject.clone(), format!("{inbox}.{round}"), Bytes::new())
                            .await;
                    }
                }
                m = answers.next() => match m {
                    Some(m) => self.answer(&m, &sent),
                    None => break,
                },
                m = events.next() => match m {
                    Some(m) => self.load_event(&m.payload),
                    None => break,
                },
                m = hits.next() => match m {
                    Some(m) => self.hit_event(&m.payload),
                    None => break,
                },
            }
        }
        let _ = answers.unsubscribe().await;
        let _ = events.unsubscribe().await;
        let _ = hits.unsubscribe().await;
    }

    fn answer(&self, m: &Message, sent: &VecDeque<(u64, Instant)>) {
        // The server's "no responders" status (no instance is up) is not an answer.
        if m.status.is_some() || m.payload.is_empty() {
            return;
        }
        let now = Instant::now();
        let round = m
            .subject
            .rsplit('.')
            .next()
            .and_then(|r| r.parse::<u64>().ok());
        let in_time = sent
            .iter()
            .any(|(r, t)| Some(*r) == round && now.duration_since(*t) <= self.opts.timeout);
        if !in_time {
            return;
        }
        let Ok(stats) = serde_json::from_slice::<serde_json::Value>(&m.payload) else {
            self.state()
                .malformed("a $SRV.STATS answer is not JSON".into());
            return;
        };
        let Some(eps) = stats.get("endpoints").and_then(|e| e.as_array()) else {
            return;
        };
        for ep in eps {
            let subject = ep.get("subject").and_then(|s| s.as_str()).unwrap_or("");
            if !subject.starts_with(&self.prefix) {
                continue;
            }
            let Some(id) = worker_id_of(subject) else {
                continue;
            };
            // No data yet: the worker serves but has not published.
            let data = match ep.get("data") {
                None | Some(serde_json::Value::Null) => continue,
                Some(d) => d,
            };
            match ForwardPassMetrics::from_value(data, Naming::Wire) {
                Ok(fpm) => self.state().polled(id, fpm, now),
                Err(e) => self
                    .state()
                    .malformed(format!("stats of '{subject}': {}", e.message)),
            }
        }
    }

    fn load_event(&self, payload: &[u8]) {
        match LoadEvent::from_wire(payload) {
            Ok(ev) => {
                self.state().event(ev.worker_id, ev.data, Instant::now());
            }
            Err(e) => self
                .state()
                .malformed(format!("{KV_METRICS_SUBJECT}: {}", e.message)),
        }
    }

    fn hit_event(&self, payload: &[u8]) {
        match KvHitRateEvent::from_wire(payload) {
            Ok(ev) => self.state().hit_rate(&ev, Instant::now()),
            Err(e) => self
                .state()
                .malformed(format!("{KV_HIT_RATE_SUBJECT}: {}", e.message)),
        }
    }
}
