//! The `llm_*` families of Dynamo's `metrics` component, rendered from the aggregator's state.
//! They live in the aggregator's own registry (as in Dynamo: no `dynamo_` prefix, no hierarchy
//! labels), built at each render from the live workers, so a worker that left has no series.

use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};

use super::state::State;

/// (name, help) of the per-worker gauges, in Dynamo's order.
const WORKER_GAUGES: [(&str, &str); 5] = [
    ("llm_kv_blocks_active", "Active KV cache blocks"),
    ("llm_kv_blocks_total", "Total KV cache blocks"),
    ("llm_requests_active_slots", "Active request slots"),
    ("llm_requests_total_slots", "Total request slots"),
    (
        "llm_kv_hit_rate_percent",
        "KV hit rate percentage per worker",
    ),
];
/// Counts input the aggregator ignored, so malformed events never vanish silently (not in
/// Dynamo, which had no such count).
pub const MALFORMED_NAME: &str = "llm_kv_metrics_malformed_total";
const MALFORMED_HELP: &str = "Malformed KV metrics events and stats the aggregator ignored";

/// The labels every exported series carries.
#[derive(Debug, Clone, Copy)]
pub struct ExportLabels<'a> {
    /// The `component` label (Dynamo's: the watched component's name).
    pub component: &'a str,
    /// The `endpoint` label.
    pub endpoint: &'a str,
    /// A `model` label on every series, so aggregators of several models can share one
    /// Prometheus; `None` or empty keeps Dynamo's label set (Prometheus reads an empty label
    /// value as no label).
    pub model: Option<&'a str>,
}

impl ExportLabels<'_> {
    fn opts(&self, name: &str, help: &str) -> Opts {
        let opts = Opts::new(name, help);
        match self.model {
            Some(m) if !m.is_empty() => opts.const_label("model", m),
            _ => opts,
        }
    }
}

fn gauge(reg: &Registry, opts: Opts, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(opts, labels).expect("static metric names are valid");
    reg.register(Box::new(g.clone()))
        .expect("each name registered once");
    g
}

fn counter(reg: &Registry, opts: Opts, labels: &[&str]) -> CounterVec {
    let c = CounterVec::new(opts, labels).expect("static metric names are valid");
    reg.register(Box::new(c.clone()))
        .expect("each name registered once");
    c
}

/// Prometheus text of the aggregate, labelled `component`, `endpoint` (and `worker_id`, and
/// `model` when one is given).
pub fn render(state: &mut State, now: std::time::Instant, labels: &ExportLabels<'_>) -> String {
    let ExportLabels {
        component,
        endpoint,
        ..
    } = *labels;
    let p = state.processed(now);
    let reg = Registry::new();
    let wl = ["component", "endpoint", "worker_id"];
    let gauges: Vec<GaugeVec> = WORKER_GAUGES
        .iter()
        .map(|(n, h)| gauge(&reg, labels.opts(n, h), &wl))
        .collect();
    for (id, m) in &p.endpoints {
        let id = id.to_string();
        let lv = [component, endpoint, id.as_str()];
        let values = [
            m.kv_stats.kv_active_blocks as f64,
            m.kv_stats.kv_total_blocks as f64,
            m.worker_stats.request_active_slots as f64,
            m.worker_stats.request_total_slots as f64,
            m.kv_stats.gpu_prefix_cache_hit_rate,
        ];
        for (g, v) in gauges.iter().zip(values) {
            g.with_label_values(&lv).set(v);
        }
    }
    let el = ["component", "endpoint"];
    gauge(
        &reg,
        labels.opts("llm_load_avg", "Average load across workers"),
        &el,
    )
    .with_label_values(&[component, endpoint])
    .set(p.load_avg);
    gauge(
        &reg,
        labels.opts("llm_load_std", "Load standard deviation across workers"),
        &el,
    )
    .with_label_values(&[component, endpoint])
    .set(p.load_std);
    let isl = counter(
        &reg,
        labels.opts(
            "llm_kv_hit_rate_isl_blocks",
            "Cumulative count of ISL blocks in KV hit rate events",
        ),
        &wl,
    );
    let overlap = counter(
        &reg,
        labels.opts(
            "llm_kv_hit_rate_overlap_blocks",
            "Cumulative count of overlapping blocks in KV hit rate events",
        ),
        &wl,
    );
    for (id, t) in &state.hits {
        let id = id.to_string();
        isl.with_label_values(&[component, endpoint, &id])
            .inc_by(t.isl as f64);
        overlap
            .with_label_values(&[component, endpoint, &id])
            .inc_by(t.overlap as f64);
    }
    counter(&reg, labels.opts(MALFORMED_NAME, MALFORMED_HELP), &el)
        .with_label_values(&[component, endpoint])
        .inc_by(state.malformed as f64);
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&reg.gather(), &mut out)
        .expect("text encoding into memory cannot fail");
    String::from_utf8(out).expect("the text encoder writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plane::kv_metrics::types::{ForwardPassMetrics, KvHitRateEvent};
    use std::time::{Duration, Instant};

    const LABELS: ExportLabels<'static> = ExportLabels {
        component: "backend",
        endpoint: "generate",
        model: None,
    };

    #[test]
    fn renders_workers_load_and_hit_rate() {
        let now = Instant::now();
        let mut s = State::new(Duration::from_secs(1), Duration::ZERO);
        let mut m = ForwardPassMetrics::default();
        m.kv_stats.kv_active_blocks = 40;
        m.kv_stats.kv_total_blocks = 100;
        m.kv_stats.gpu_prefix_cache_hit_rate = 0.25;
        s.polled(7587884888253033398, m.clone(), now);
        m.kv_stats.kv_active_blocks = 2;
        s.polled(2, m, now);
        s.hit_rate(
            &KvHitRateEvent {
                worker_id: 2,
                isl_blocks: 10,
                overlap_blocks: 4,
            },
            now,
        );
        let t = render(&mut s, now, &LABELS);
        assert!(
            t.contains("# HELP llm_kv_blocks_active Active KV cache blocks\n"),
            "{t}"
        );
        assert!(t.contains("llm_kv_blocks_active{component=\"backend\",endpoint=\"generate\",worker_id=\"7587884888253033398\"} 40\n"), "{t}");
        assert!(t.contains("llm_kv_hit_rate_percent{component=\"backend\",endpoint=\"generate\",worker_id=\"2\"} 0.25\n"), "{t}");
        assert!(
            t.contains("llm_load_avg{component=\"backend\",endpoint=\"generate\"} 21\n"),
            "{t}"
        );
        assert!(
            t.contains("llm_load_std{component=\"backend\",endpoint=\"generate\"} 19\n"),
            "{t}"
        );
        assert!(
            t.contains("# TYPE llm_kv_hit_rate_isl_blocks counter\n"),
            "{t}"
        );
        assert!(t.contains("llm_kv_hit_rate_overlap_blocks{component=\"backend\",endpoint=\"generate\",worker_id=\"2\"} 4\n"), "{t}");
        let later = render(&mut s, now + Duration::from_secs(2), &LABELS);
        assert!(!later.contains("llm_kv_blocks_active{"), "{later}");
    }
    #[test]
    fn a_model_labels_every_series_and_an_empty_one_none() {
        let now = Instant::now();
        let mut s = State::new(Duration::from_secs(1), Duration::ZERO);
        s.polled(5, ForwardPassMetrics::default(), now);
        s.hit_rate(
            &KvHitRateEvent {
                worker_id: 5,
                isl_blocks: 3,
                overlap_blocks: 1,
            },
            now,
        );
        let model = ExportLabels {
            model: Some("llama-3"),
            ..LABELS
        };
        let t = render(&mut s, now, &model);
        let samples: Vec<&str> = t.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples.len(), 10, "{t}");
        for l in &samples {
            assert!(l.contains("model=\"llama-3\""), "{l}");
        }
        assert!(t.contains("llm_kv_blocks_active{component=\"backend\",endpoint=\"generate\",model=\"llama-3\",worker_id=\"5\"} 0\n"), "{t}");
        let empty = ExportLabels {
            model: Some(""),
            ..LABELS
        };
        let plain = render(&mut s, now, &LABELS);
        assert!(!plain.contains("model="), "{plain}");
        assert_eq!(render(&mut s, now, &empty), plain);
    }
}
