//! Times the core encoder alone on 100k counter series (the scrape's Rust share, no HTTP):
//! `cargo run --release -p dynamo-metrics-core --example encode_100k`
use std::time::Instant;

use dynamo_metrics_core::encode::{text, Snapshot};
use dynamo_metrics_core::hierarchy::{Level, ROOT};
use dynamo_metrics_core::series::{FamilySpec, MetricKind, Registry};

fn main() {
    let mut reg = Registry::new(8192);
    let ns = reg.child(ROOT, Level::Namespace, "ns").unwrap();
    let c = reg.child(ns, Level::Component, "c").unwrap();
    let e = reg.child(c, Level::Endpoint, "e").unwrap();
    let spec = FamilySpec {
        kind: MetricKind::Counter,
        vec: true,
        name: "requests_total".into(),
        help: "h".into(),
        label_names: vec!["route".into(), "status".into()],
        const_labels: vec![],
        buckets: None,
    };
    let fam = reg.create_family(e, &spec).unwrap().family;
    let mut values = vec![0.0; 0];
    for i in 0..100_000 {
        let route = format!("r{i}");
        let slot = reg.create_series_ordered(fam, &[&route, "200"]).unwrap();
        values.resize(slot as usize + 1, 0.0);
        values[slot as usize] = i as f64;
    }
    // The series table is not written while it renders: every series is covered.
    let snap = Snapshot::new(&reg, values);
    // A reused buffer, like the native floor (bench/native-floor): this times the encoder, not
    // page faults on fresh memory.
    let mut times = Vec::new();
    let mut out = Vec::new();
    for _ in 0..15 {
        out.clear();
        let t = Instant::now();
        text::encode(&reg, ROOT, &snap, &mut out);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let len = out.len();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "encode 100k counters: median {:.2} ms (min {:.2}), {} bytes",
        times[7], times[0], len
    );
}
