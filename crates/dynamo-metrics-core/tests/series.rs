//! The series table and the text encoder through the core's public API: families, series,
//! slots, batches and chunked renders.
use dynamo_metrics_core::encode::{self, text, Cursor, Snapshot};
use dynamo_metrics_core::hierarchy::{Level, ROOT};
use dynamo_metrics_core::series::{FamilySpec, MetricKind, Registry};
use dynamo_metrics_core::ErrorKind;

fn spec(kind: MetricKind, name: &str, labels: &[&str]) -> FamilySpec {
    FamilySpec {
        kind,
        vec: !labels.is_empty(),
        name: name.into(),
        help: "help".into(),
        label_names: labels.iter().map(|s| s.to_string()).collect(),
        const_labels: vec![],
        buckets: None,
    }
}

#[test]
fn chunked_render_equals_whole_render() {
    let mut r = Registry::new(64);
    let ns = r.child(ROOT, Level::Namespace, "ns").unwrap();
    let c = r.child(ns, Level::Component, "c").unwrap();
    let e1 = r.child(c, Level::Endpoint, "e1").unwrap();
    let e2 = r.child(c, Level::Endpoint, "e2").unwrap();
    let mut values = vec![0.0; 0];
    for (node, n) in [(e1, 7), (e2, 5)] {
        let f = r
            .create_family(node, &spec(MetricKind::Counter, "hits", &["k"]))
            .unwrap()
            .family;
        for i in 0..n {
            let slot = r.create_series_ordered(f, &[&format!("v{i}")]).unwrap();
            values.resize(values.len().max(slot as usize + 1), 0.0);
            values[slot as usize] = (i * 3) as f64;
        }
    }
    let h = r
        .create_family(c, &spec(MetricKind::Histogram, "lat", &[]))
        .unwrap();
    values.resize(
        values
            .len()
            .max((h.slot.unwrap() + h.layout.width) as usize),
        1.0,
    );
    let mut whole = Vec::new();
    let snap = Snapshot::new(&r, values);
    text::encode(&r, ROOT, &snap, &mut whole);
    let text = String::from_utf8(whole.clone()).unwrap();
    assert!(text.contains("# TYPE dynamo_component_hits counter\n"));
    assert_eq!(text.matches("# HELP dynamo_component_hits").count(), 1);
    assert!(text.contains("dynamo_component_lat_bucket{dynamo_component=\"c\",dynamo_namespace=\"ns\",le=\"+Inf\"} 12\n"));
    for limit in [1, 10, 100, 333, 1000] {
        let plan = encode::plan(&r, ROOT);
        let mut cur = Cursor::default();
        let mut joined = Vec::new();
        let mut rounds = 0;
        loop {
            let mut chunk = Vec::new();
            let done = text::encode_some(&r, &plan, &snap, &mut cur, &mut chunk, limit);
            joined.extend_from_slice(&chunk);
            rounds += 1;
            if done {
                break;
            }
            assert!(rounds < 10_000, "chunked render does not finish");
        }
        assert_eq!(String::from_utf8(joined).unwrap(), text, "limit {limit}");
    }
}

#[test]
fn removed_series_are_left_out_and_their_slots_reused() {
    let mut r = Registry::new(64);
    let f = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["k"]))
        .unwrap()
        .family;
    let a = r.create_series_ordered(f, &["a"]).unwrap();
    let b = r.create_series_ordered(f, &["b"]).unwrap();
    assert!(r.remove_series(f, a).unwrap());
    assert!(!r.remove_series(f, a).unwrap());
    let mut out = Vec::new();
    text::encode(&r, ROOT, &Snapshot::new(&r, vec![1.0, 2.0]), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("k=\"a\""));
    assert!(text.contains("dynamo_component_g{k=\"b\"} 2\n"));
    assert_eq!(r.create_series_ordered(f, &["c"]).unwrap(), a);
    assert_ne!(a, b);
}

#[test]
fn label_less_counters_add_their_integer_lane() {
    let mut r = Registry::new(64);
    let c = r
        .create_family(ROOT, &spec(MetricKind::Counter, "c_total", &[]))
        .unwrap();
    let v = r
        .create_family(ROOT, &spec(MetricKind::Counter, "v_total", &["k"]))
        .unwrap();
    assert!(c.layout.int_lane == Some(1) && c.layout.width == 2);
    assert!(v.layout.int_lane.is_none() && v.layout.width == 1);
    let slot = c.slot.unwrap() as usize;
    let mut values = vec![0.0; slot + 2];
    values[slot] = 0.5;
    values[slot + 1] = f64::from_bits((1u64 << 32) + 3);
    let mut out = Vec::new();
    text::encode(&r, ROOT, &Snapshot::new(&r, values), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("dynamo_component_c_total 4294967299.5\n"),
        "{text}"
    );
}

#[test]
fn long_and_escaped_label_values_render_whole() {
    let mut r = Registry::new(64);
    let f = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["a", "b"]))
        .unwrap()
        .family;
    let long = "x".repeat(300);
    let big = "y".repeat(2048); // the longest value
    let s1 = r.create_series_ordered(f, &[&long, "q\"u\\o"]).unwrap();
    let s2 = r.create_series_ordered(f, &["n\nl", &big]).unwrap();
    let mut values = vec![0.0; 64];
    values[s1 as usize] = 1.0;
    values[s2 as usize] = 2.0;
    let mut out = Vec::new();
    text::encode(&r, ROOT, &Snapshot::new(&r, values), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!(
        "dynamo_component_g{{a=\"{long}\",b=\"q\\\"u\\\\o\"}} 1\n"
    )));
    assert!(text.contains(&format!(
        "dynamo_component_g{{a=\"n\\nl\",b=\"{big}\"}} 2\n"
    )));

    // A record longer than an arena chunk: 40 values of the longest length each.
    let names: Vec<String> = (0..40).map(|i| format!("l{i:02}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let wide = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "wide", &name_refs))
        .unwrap()
        .family;
    let longest = "z".repeat(dynamo_metrics_core::names::MAX_LABEL_VALUE_BYTES);
    let s3 = r
        .create_series_ordered(wide, &vec![longest.as_str(); 40])
        .unwrap();
    let mut values = vec![0.0; 64];
    values[s3 as usize] = 3.0;
    let mut out = Vec::new();
    text::encode(&r, ROOT, &Snapshot::new(&r, values), &mut out);
    let text = String::from_utf8(out).unwrap();
    let pairs: Vec<String> = names.iter().map(|n| format!("{n}=\"{longest}\"")).collect();
    assert!(text.contains(&format!("dynamo_component_wide{{{}}} 3\n", pairs.join(","))));
}

#[test]
fn a_label_value_over_the_maximum_is_refused_on_both_creation_paths() {
    let mut r = Registry::new(64);
    let f = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["a"]))
        .unwrap()
        .family;
    let over = "o".repeat(dynamo_metrics_core::names::MAX_LABEL_VALUE_BYTES + 1);
    let e = r.create_series_ordered(f, &[&over]).unwrap_err();
    assert!(e.message.contains("label 'a'"), "{}", e.message);
    let slot = r.reserve_slots(f, 1).unwrap()[0];
    assert!(r.add_series_at(f, slot, &[&over]).is_err());
}

#[test]
fn reserved_slots_take_a_batch_of_series_and_refuse_a_wrong_count() {
    let mut r = Registry::new(64);
    let f = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["a", "b"]))
        .unwrap()
        .family;
    let slots = r.reserve_slots(f, 3).unwrap();
    assert_eq!(slots.len(), 3);
    // Two series now (one slot stays reserved), including empty values and a NUL.
    r.add_series_batch(&[f, slots[0], 1, 1, f, slots[1], 0, 3], b"xya\0b")
        .unwrap();
    let mut values = vec![0.0; 64];
    values[slots[0] as usize] = 1.0;
    values[slots[1] as usize] = 2.0;
    let mut out = Vec::new();
    text::encode(&r, ROOT, &Snapshot::new(&r, values), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("dynamo_component_g{a=\"x\",b=\"y\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("dynamo_component_g{a=\"\",b=\"a\0b\"} 2\n"),
        "{text}"
    );
    assert_eq!(r.family(f).unwrap().live_series(), 2);
    // Registered series can be removed by slot like any other.
    assert!(r.remove_series(f, slots[1]).unwrap());
    // Malformed batches are errors that name the fault; a bad record adds nothing (trailing
    // bytes are found after the last record, which stays added).
    let s = slots[2];
    for (ints, bytes, fault) in [
        (&[f, s, 1][..], &b"a"[..], "cut short"),
        (&[f, s, 1, 5][..], &b"ab"[..], "runs past"),
        (&[f, s, 1, 1][..], &b"\xffb"[..], "not UTF-8"),
        (&[f, s, 1, 2][..], "éb".as_bytes(), "character boundary"),
        (&[f, s, 1, 1][..], &b"abc"[..], "left over"),
    ] {
        let e = r.add_series_batch(ints, bytes).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidLabel);
        assert!(e.message.contains(fault), "{}", e.message);
    }
    let e = r.add_series_batch(&[99, s, 1, 1], b"ab").unwrap_err();
    assert!(e.message.contains("99"), "{}", e.message);
    assert_eq!(r.family(f).unwrap().live_series(), 2);
}

#[test]
fn removing_a_slot_of_another_family_changes_nothing() {
    let mut r = Registry::new(64);
    let a = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "a", &["k"]))
        .unwrap()
        .family;
    let b = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "b", &["k"]))
        .unwrap()
        .family;
    let sa = r.create_series_ordered(a, &["x"]).unwrap();
    let sb = r.create_series_ordered(b, &["y"]).unwrap();
    // Both are series 0 of their family: `a`'s slot must not remove `b`'s series.
    assert!(!r.remove_series(b, sa).unwrap());
    assert_eq!(r.family(b).unwrap().live_series(), 1);
    assert!(r.remove_series(b, sb).unwrap());
    assert!(!r.remove_series(b, sb).unwrap());
    assert_eq!(r.family(b).unwrap().live_series(), 0);
}

#[test]
fn a_name_that_is_another_familys_sample_name_is_a_conflict_in_both_orders() {
    let hist = |name: &str| FamilySpec {
        buckets: Some(vec![1.0]),
        ..spec(MetricKind::Histogram, name, &[])
    };
    for suffix in ["_count", "_sum", "_bucket", "_created"] {
        let mut r = Registry::new(64);
        r.create_family(ROOT, &hist("lat")).unwrap();
        let e = r
            .create_family(ROOT, &spec(MetricKind::Gauge, &format!("lat{suffix}"), &[]))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict, "{}", e.message);
        assert!(
            e.message.contains(&format!("dynamo_component_lat{suffix}")),
            "{}",
            e.message
        );

        let mut r = Registry::new(64);
        r.create_family(ROOT, &spec(MetricKind::Gauge, &format!("lat{suffix}"), &[]))
            .unwrap();
        let e = r.create_family(ROOT, &hist("lat")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict, "{}", e.message);
    }
    let mut r = Registry::new(64);
    r.create_family(ROOT, &spec(MetricKind::Counter, "jobs_total", &[]))
        .unwrap();
    let e = r
        .create_family(ROOT, &spec(MetricKind::Gauge, "jobs_created", &[]))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    // Look-alikes, and the same family at two levels, stay accepted.
    let ns = r.child(ROOT, Level::Namespace, "ns").unwrap();
    r.create_family(ROOT, &hist("lat")).unwrap();
    r.create_family(ns, &hist("lat")).unwrap();
    r.create_family(ROOT, &spec(MetricKind::Gauge, "lat_counts", &[]))
        .unwrap();
    r.create_family(ROOT, &spec(MetricKind::Gauge, "jobs", &[]))
        .unwrap();
}

/// The text of `node` through a plan from `cache`.
fn cached_text(cache: &encode::PlanCache, r: &Registry, node: u32, values: &[f64]) -> Vec<u8> {
    let mut out = Vec::new();
    let plan = cache.get(r, node);
    let snap = Snapshot::new(r, values.to_vec());
    text::encode_some(
        r,
        &plan,
        &snap,
        &mut Cursor::default(),
        &mut out,
        usize::MAX,
    );
    out
}

#[test]
fn a_cached_plan_is_reused_until_a_family_or_a_level_is_added() {
    let mut r = Registry::new(64);
    let cache = encode::PlanCache::default();
    let ns = r.child(ROOT, Level::Namespace, "ns").unwrap();
    r.create_family(ns, &spec(MetricKind::Gauge, "b_gauge", &[]))
        .unwrap();
    let values = vec![2.0; 64];
    let whole = |r: &Registry| {
        let mut out = Vec::new();
        text::encode(r, ROOT, &Snapshot::new(r, values.clone()), &mut out);
        out
    };
    assert_eq!(cached_text(&cache, &r, ROOT, &values), whole(&r));
    assert!(std::sync::Arc::ptr_eq(
        &cache.get(&r, ROOT),
        &cache.get(&r, ROOT)
    ));
    let before = cache.get(&r, ROOT);

    // A family at an existing level, sorted before the first one.
    r.create_family(ns, &spec(MetricKind::Gauge, "a_gauge", &[]))
        .unwrap();
    let text = cached_text(&cache, &r, ROOT, &values);
    assert_eq!(text, whole(&r));
    assert!(String::from_utf8_lossy(&text).contains("dynamo_component_a_gauge"));
    assert!(!std::sync::Arc::ptr_eq(&before, &cache.get(&r, ROOT)));

    // A new level, then a family there: both reach the parent's plan.
    let c = r.child(ns, Level::Component, "c").unwrap();
    let after_level = cache.get(&r, ROOT);
    r.create_family(c, &spec(MetricKind::Gauge, "c_gauge", &[]))
        .unwrap();
    let text = cached_text(&cache, &r, ROOT, &values);
    assert_eq!(text, whole(&r));
    assert!(String::from_utf8_lossy(&text).contains("dynamo_component_c_gauge"));
    assert!(!std::sync::Arc::ptr_eq(&after_level, &cache.get(&r, ROOT)));
    // Each level has its own plan.
    assert!(!String::from_utf8_lossy(&cached_text(&cache, &r, c, &values)).contains("b_gauge"));
}
