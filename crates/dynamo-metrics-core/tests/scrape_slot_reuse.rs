//! A scrape encodes the slab values of one snapshot while reading the series table as it is
//! (the streaming render locks it per chunk only). A series removed after the snapshot whose
//! slot a new series takes before the encoder reaches it, or any series created after the
//! snapshot, must not be rendered with the value the snapshot holds at its slot: that value is
//! another series'. These tests open that window deterministically: on a current-thread runtime
//! the streaming render's encoder task runs only when the test awaits its chunks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dynamo_metrics_core::config::SystemConfig;
use dynamo_metrics_core::hierarchy::ROOT;
use dynamo_metrics_core::runtime::{JsLimits, Runtime};
use dynamo_metrics_core::series::{FamilySpec, MetricKind};

const SLAB: usize = 64;

/// A slab the test writes while the runtime reads it, as JS and Rust share one.
struct Slab(Box<[AtomicU64]>);

impl Slab {
    fn set(&self, slot: u32, v: f64) {
        self.0[slot as usize].store(v.to_bits(), Ordering::Relaxed);
    }
}

/// A GaugeVec `name{k}`.
fn spec(name: &str) -> FamilySpec {
    FamilySpec {
        kind: MetricKind::Gauge,
        vec: true,
        name: name.into(),
        help: "h".into(),
        label_names: vec!["k".into()],
        const_labels: vec![],
        buckets: None,
    }
}

/// A runtime with a GaugeVec `g{k}` (and a Vec that sorts after it, `z{k}`) and one slab.
fn runtime() -> (Arc<Runtime>, Slab, u32, u32) {
    let limits = JsLimits {
        slab_size: SLAB as u32,
        max_string_length: usize::MAX,
    };
    let rt = Runtime::new(SystemConfig::default(), limits).unwrap();
    let (g, z) = {
        let mut r = rt.registry_mut().unwrap();
        let g = r.create_family(ROOT, &spec("g")).unwrap().family;
        let z = r.create_family(ROOT, &spec("z")).unwrap().family;
        (g, z)
    };
    let slab = Slab((0..SLAB).map(|_| AtomicU64::new(0)).collect());
    // SAFETY: an AtomicU64 has the size and alignment of an f64; the runtime is shut down (its
    // slabs detached) before `slab` is dropped, see `finish`.
    unsafe {
        rt.slabs()
            .attach(0, slab.0.as_ptr() as *const f64, SLAB)
            .unwrap()
    };
    (rt, slab, g, z)
}

/// Creates the series `k` of `family`, zeroed and then set to `v` as the JS side does.
fn create(rt: &Runtime, slab: &Slab, family: u32, k: &str, v: f64) -> u32 {
    let slot = rt
        .registry_mut()
        .unwrap()
        .create_series_ordered(family, &[k])
        .unwrap();
    slab.set(slot, v);
    slot
}

fn remove(rt: &Runtime, family: u32, slot: u32) {
    assert!(rt
        .registry_mut()
        .unwrap()
        .remove_series(family, slot)
        .unwrap());
}

/// The chunks of a streaming render.
type Stream = tokio::sync::mpsc::Receiver<bytes::Bytes>;

/// The whole text of a streaming render started by `render_stream`.
async fn drain(mut rx: Stream) -> String {
    let mut out = Vec::new();
    while let Some(chunk) = rx.recv().await {
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).unwrap()
}

/// The sample lines of `name`.
fn lines(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(String::from)
        .collect()
}

async fn scrape(rt: &Arc<Runtime>) -> String {
    drain(rt.render_stream(ROOT, None).await.unwrap()).await
}

async fn finish(rt: Arc<Runtime>, slab: Slab) {
    rt.shutdown().await;
    drop(rt);
    drop(slab);
}

/// Finishes the paused render `rx`: no line of `z` may end in `stale` (a value its snapshot
/// holds for another series); the next scrape shows `z` as `next`. Returns the render's text.
async fn z_never_shows(rt: &Arc<Runtime>, rx: Stream, stale: &str, next: &[&str]) -> String {
    let text = drain(rx).await;
    let z_lines = lines(&text, "dynamo_component_z");
    assert!(
        !z_lines.iter().any(|l| l.ends_with(&format!(" {stale}"))),
        "a series rendered with the value another series held at its slot: {z_lines:?}"
    );
    // A series the snapshot does not cover shows in the next scrape, with its own value.
    let mut got = lines(&scrape(rt).await, "dynamo_component_z");
    got.sort();
    assert_eq!(got, next);
    text
}

#[tokio::test]
async fn a_slot_reused_during_a_streaming_render_never_shows_the_old_series_value() {
    let (rt, slab, _, z) = runtime();
    let old = create(&rt, &slab, z, "old", 111.0);
    let rx = rt.render_stream(ROOT, None).await.unwrap();
    // The snapshot is taken; the encoder has not reached `z` yet. `old` goes, `new` takes its slot.
    remove(&rt, z, old);
    let new = create(&rt, &slab, z, "new", 2.0);
    assert_eq!(new, old, "the test needs the slot reused");
    z_never_shows(&rt, rx, "111", &["dynamo_component_z{k=\"new\"} 2"]).await;
    finish(rt, slab).await;
}

#[tokio::test]
async fn a_series_created_after_the_snapshot_never_shows_the_value_its_slot_held() {
    let (rt, slab, g, z) = runtime();
    // Freed before the snapshot: the slab still holds 111 at the free slot.
    create(&rt, &slab, g, "kept", 5.0);
    let gone = create(&rt, &slab, z, "gone", 111.0);
    remove(&rt, z, gone);
    let rx = rt.render_stream(ROOT, None).await.unwrap();
    // After the snapshot: the JS side zeroes the reused slot and writes 3.
    let late = create(&rt, &slab, z, "late", 3.0);
    assert_eq!(late, gone, "the test needs the slot reused");
    let text = z_never_shows(&rt, rx, "111", &["dynamo_component_z{k=\"late\"} 3"]).await;
    assert_eq!(
        lines(&text, "dynamo_component_g"),
        vec!["dynamo_component_g{k=\"kept\"} 5"]
    );
    finish(rt, slab).await;
}

#[tokio::test]
async fn a_reset_during_a_streaming_render_never_lends_old_values_to_new_series() {
    let (rt, slab, _, z) = runtime();
    let slots: Vec<u32> = (0..4)
        .map(|i| create(&rt, &slab, z, &format!("a{i}"), 100.0 + i as f64))
        .collect();
    let rx = rt.render_stream(ROOT, None).await.unwrap();
    rt.registry_mut().unwrap().reset_family(z).unwrap();
    let reused: Vec<u32> = (0..4)
        .map(|i| create(&rt, &slab, z, &format!("b{i}"), 7.0))
        .collect();
    let mut a = slots.clone();
    let mut b = reused.clone();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "the test needs the slots reused");
    let want: Vec<String> = (0..4)
        .map(|i| format!("dynamo_component_z{{k=\"b{i}\"}} 7"))
        .collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    let text = drain(rx).await;
    let z_lines = lines(&text, "dynamo_component_z");
    assert!(
        z_lines.iter().all(|l| l.ends_with(" 7")),
        "series created after a reset rendered with the values of the ones it removed: {z_lines:?}"
    );
    let mut got = lines(&scrape(&rt).await, "dynamo_component_z");
    got.sort();
    assert_eq!(got, want);
    finish(rt, slab).await;
}

#[test]
fn the_chunked_encoder_renders_only_the_series_a_snapshot_covers() {
    use dynamo_metrics_core::encode::{self, text, Cursor, Snapshot};
    use dynamo_metrics_core::series::Registry;
    let mut r = Registry::new(SLAB as u32);
    let f = r.create_family(ROOT, &spec("f")).unwrap().family;
    let mut values = vec![0.0; SLAB];
    let a = r.create_series_ordered(f, &["a"]).unwrap();
    let b = r.create_series_ordered(f, &["b"]).unwrap();
    values[a as usize] = 1.0;
    values[b as usize] = 2.0;
    let snap = Snapshot::new(&r, values);
    let plan = encode::plan(&r, ROOT);
    let mut cur = Cursor::default();
    // About one line per call (a fresh chunk each): `a` is written, then the table changes
    // under the paused render.
    let mut out = Vec::new();
    assert!(!text::encode_some(&r, &plan, &snap, &mut cur, &mut out, 1));
    assert!(r.remove_series(f, b).unwrap());
    assert_eq!(r.create_series_ordered(f, &["c"]).unwrap(), b);
    // A family created after the snapshot is not rendered by it, not even its header.
    r.create_family(ROOT, &spec("g")).unwrap();
    r.create_series_ordered(f + 1, &["x"]).unwrap();
    for round in 0.. {
        assert!(round < 100, "the chunked render does not finish");
        let mut chunk = Vec::new();
        let done = text::encode_some(&r, &plan, &snap, &mut cur, &mut chunk, 1);
        out.extend_from_slice(&chunk);
        if done {
            break;
        }
    }
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "# HELP dynamo_component_f h\n# TYPE dynamo_component_f gauge\ndynamo_component_f{k=\"a\"} 1\n"
    );
}
