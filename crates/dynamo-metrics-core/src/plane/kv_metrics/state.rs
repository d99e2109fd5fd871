//! What the KV metrics aggregator knows: the live workers of one endpoint with their latest
//! `ForwardPassMetrics`, the hit-rate totals, and the count of malformed input. Pure data, so
//! the rules (who is live, which data wins, mean and standard deviation) are unit-tested here.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::types::{ForwardPassMetrics, KvHitRateEvent};

struct Worker {
    metrics: ForwardPassMetrics,
    /// Last poll answer or event from it: it is live while this is within `stale_after`.
    seen: Instant,
    /// Last event: while recent, event data wins over poll answers (those may be older, since
    /// the two arrive on different subscriptions and can be processed out of order).
    event_at: Option<Instant>,
}

/// One worker's `KvHitRateEvent` totals.
#[derive(Clone, Copy, Debug)]
pub struct HitTotals {
    /// `isl_blocks` summed.
    pub isl: u64,
    /// `overlap_blocks` summed.
    pub overlap: u64,
    /// Its last event.
    seen: Instant,
}

/// The aggregate (Dynamo's `ProcessedEndpoints`).
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    /// The live workers by id, ascending, so renders and `getMetrics()` are stable.
    pub endpoints: Vec<(i64, ForwardPassMetrics)>,
    /// Mean `kv_active_blocks` of the live workers (0 with none).
    pub load_avg: f64,
    /// Their population standard deviation, as Dynamo computes it (0 with none).
    pub load_std: f64,
}

/// The aggregator's data, behind one lock: poll answers, events and renders each take it briefly.
pub struct State {
    workers: BTreeMap<i64, Worker>,
    stale_after: Duration,
    event_priority: Duration,
    /// The `KvHitRateEvent` totals per worker id. They are counters, so a worker's stay while it
    /// is live or sent one within `stale_after`; then they go with its other series, so worker
    /// churn cannot grow them without bound.
    pub hits: HashMap<i64, HitTotals>,
    /// Malformed events or stats data ignored so far.
    pub malformed: u64,
    malformed_unreported: u64,
    last_malformed: String,
}

impl State {
    /// A worker unheard of for `stale_after` leaves; an event's data wins over poll answers for
    /// `event_priority` after it (a poll answer may have been sent before the event).
    pub fn new(stale_after: Duration, event_priority: Duration) -> State {
        State {
            workers: BTreeMap::new(),
            stale_after,
            event_priority,
            hits: HashMap::new(),
            malformed: 0,
            malformed_unreported: 0,
            last_malformed: String::new(),
        }
    }

    /// A poll answer: admits the worker, refreshes it, and takes its data unless an event
    /// brought (newer) data within `event_priority`.
    pub fn polled(&mut self, worker_id: i64, metrics: ForwardPassMetrics, now: Instant) {
        match self.workers.get_mut(&worker_id) {
            Some(w) => {
                w.seen = now;
                let event_recent = w
                    .event_at
                    .is_some_and(|t| now.saturating_duration_since(t) < self.event_priority);
                if !event_recent {
                    w.metrics = metrics;
                }
            }
            None => {
                self.workers.insert(
                    worker_id,
                    Worker {
                        metrics,
                        seen: now,
                        event_at: None,
                    },
                );
            }
        }
    }

    /// A `LoadEvent`: updates a worker the polls know. Events name no component, and the
    /// subject is namespace-wide, so an unknown id may belong to another component: ignored.
    /// Returns whether it was taken.
    pub fn event(&mut self, worker_id: i64, metrics: ForwardPassMetrics, now: Instant) -> bool {
        self.expire(now);
        match self.workers.get_mut(&worker_id) {
            Some(w) => {
                w.metrics = metrics;
                w.seen = now;
                w.event_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// Adds a `KvHitRateEvent` to its worker's totals, known worker or not: the router that
    /// sends them knows workers the polls may not have seen yet.
    pub fn hit_rate(&mut self, ev: &KvHitRateEvent, now: Instant) {
        let t = self.hits.entry(ev.worker_id).or_insert(HitTotals {
            isl: 0,
            overlap: 0,
            seen: now,
        });
        t.isl += ev.isl_blocks;
        t.overlap += ev.overlap_blocks as u64;
        t.seen = now;
    }

    /// Counts one ignored input; `why` is kept for the next warning (only the latest, as the
    /// warnings are rate-limited).
    pub fn malformed(&mut self, why: String) {
        self.malformed += 1;
        self.malformed_unreported += 1;
        self.last_malformed = why;
    }

    /// A summary of the malformed input since the last call, or None if there was none.
    pub fn take_warning(&mut self) -> Option<String> {
        if self.malformed_unreported == 0 {
            return None;
        }
        let n = std::mem::take(&mut self.malformed_unreported);
        Some(format!(
            "ignored {n} malformed KV metrics message{} (last: {})",
            if n == 1 { "" } else { "s" },
            self.last_malformed
        ))
    }

    /// Drops workers not seen within `stale_after`, and the hit-rate totals of ids neither live
    /// nor heard from within it.
    pub fn expire(&mut self, now: Instant) {
        let stale = self.stale_after;
        self.workers
            .retain(|_, w| now.saturating_duration_since(w.seen) <= stale);
        let workers = &self.workers;
        self.hits.retain(|id, t| {
            workers.contains_key(id) || now.saturating_duration_since(t.seen) <= stale
        });
    }

    /// The live workers (by id) with mean and population standard deviation of `kv_active_blocks`.
    pub fn processed(&mut self, now: Instant) -> Processed {
        self.expire(now);
        let endpoints: Vec<(i64, ForwardPassMetrics)> = self
            .workers
            .iter()
            .map(|(id, w)| (*id, w.metrics.clone()))
            .collect();
        let (load_avg, load_std) = mean_std(
            endpoints
                .iter()
                .map(|(_, m)| m.kv_stats.kv_active_blocks as f64),
        );
        Processed {
            endpoints,
            load_avg,
            load_std,
        }
    }
}

/// Mean and population standard deviation; 0 and 0 for no values (as Dynamo).
pub fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let var = values.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

/// The worker id of an endpoint subject `<service>.<endpoint>-<hex id>` (Dynamo's rule).
pub fn worker_id_of(subject: &str) -> Option<i64> {
    let hex = subject.rsplit_once('-')?.1;
    u64::from_str_radix(hex, 16).ok().map(|u| u as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fpm(active: u64) -> ForwardPassMetrics {
        let mut m = ForwardPassMetrics::default();
        m.kv_stats.kv_active_blocks = active;
        m
    }

    #[test]
    fn hit_rate_totals_go_with_their_worker() {
        let t0 = Instant::now();
        let mut s = State::new(Duration::from_secs(1), Duration::ZERO);
        let ev = |worker_id| KvHitRateEvent {
            worker_id,
            isl_blocks: 4,
            overlap_blocks: 1,
        };
        s.polled(1, fpm(0), t0);
        s.hit_rate(&ev(1), t0);
        s.hit_rate(&ev(2), t0); // an id the polls never saw
        s.hit_rate(&ev(2), t0);
        assert_eq!(s.hits[&2].isl, 8);
        // Worker 1 keeps answering polls; id 2 sends nothing more.
        let t1 = t0 + Duration::from_millis(1500);
        s.polled(1, fpm(0), t1);
        s.expire(t1);
        assert_eq!(s.hits.keys().copied().collect::<Vec<_>>(), vec![1]);
        assert_eq!(s.hits[&1].isl, 4, "a live worker's counter is kept");
        // Worker 1 leaves too.
        s.expire(t1 + Duration::from_millis(1500));
        assert!(s.hits.is_empty());
    }

    #[test]
    fn mean_and_population_std() {
        let (m, s) = mean_std([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0].into_iter());
        assert_eq!((m, s), (5.0, 2.0));
        assert_eq!(mean_std(std::iter::empty()), (0.0, 0.0));
    }

    #[test]
    fn stale_workers_leave_and_events_only_update_known_ones() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = State::new(ms(900), ms(300));
        assert!(!s.event(1, fpm(5), t0));
        s.polled(1, fpm(10), t0);
        s.polled(2, fpm(30), t0 + ms(500));
        let p = s.processed(t0 + ms(800));
        assert_eq!(p.endpoints.len(), 2);
        assert_eq!((p.load_avg, p.load_std), (20.0, 10.0));
        let p = s.processed(t0 + ms(901));
        assert_eq!(p.endpoints.iter().map(|e| e.0).collect::<Vec<_>>(), vec![2]);
        assert!(s.event(2, fpm(31), t0 + ms(1000)));
        // A poll answer right after an event may carry older data: the event's stays.
        s.polled(2, fpm(30), t0 + ms(1100));
        assert_eq!(s.processed(t0 + ms(1100)).endpoints[0].1, fpm(31));
        s.polled(2, fpm(40), t0 + ms(1400));
        assert_eq!(s.processed(t0 + ms(1400)).endpoints[0].1, fpm(40));
    }

    #[test]
    fn warnings_summarise_and_reset() {
        let mut s = State::new(Duration::from_secs(1), Duration::ZERO);
        assert_eq!(s.take_warning(), None);
        s.malformed("a".into());
        s.malformed("b".into());
        let w = s.take_warning().unwrap();
        assert!(w.contains("2 malformed") && w.contains("last: b"), "{w}");
        assert_eq!(s.take_warning(), None);
        assert_eq!(s.malformed, 2);
    }

    #[test]
    fn worker_ids_from_subjects() {
        assert_eq!(worker_id_of("dynamo_backend.load_metrics-1f"), Some(31));
        assert_eq!(
            worker_id_of("a.b-c.d-694d98c1d2fa5c10"),
            Some(0x694d98c1d2fa5c10)
        );
        assert_eq!(worker_id_of("nodash"), None);
    }
}
