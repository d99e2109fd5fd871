//! A runtime's scrape through the public API: the status server serves what the render entry
//! point renders, with the callbacks of the scrape run once.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dynamo_metrics_core::config::{ConfigOverrides, SystemConfig};
use dynamo_metrics_core::hierarchy::ROOT;
use dynamo_metrics_core::runtime::{JsLimits, Runtime};
use dynamo_metrics_core::scrape::{CallbackInvoker, InvokeFuture, ScrapeCall};
use dynamo_metrics_core::series::{FamilySpec, MetricKind};

/// Runs no JS: counts the calls and fails every callback with its id.
struct Counting(Arc<AtomicUsize>);

impl CallbackInvoker for Counting {
    fn invoke(&self, call: ScrapeCall) -> InvokeFuture {
        self.0.fetch_add(1, Ordering::SeqCst);
        let failures = call.ids.iter().map(|id| format!("callback {id}")).collect();
        Box::pin(async move { Ok(failures) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_serves_the_table_and_counts_callback_failures() {
    let overrides = ConfigOverrides {
        system_port: Some(0.0),
        system_host: Some("127.0.0.1".into()),
        ..Default::default()
    };
    let config: SystemConfig = common::resolve(&[], &overrides).unwrap();
    let limits = JsLimits {
        slab_size: 64,
        max_string_length: usize::MAX,
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::start(config, limits, Arc::new(Counting(Arc::clone(&calls))))
        .await
        .unwrap();
    let mut slab = vec![0.0f64; 64];
    let spec = FamilySpec {
        kind: MetricKind::Gauge,
        vec: false,
        name: "queue".into(),
        help: "Queue".into(),
        label_names: vec![],
        const_labels: vec![],
        buckets: None,
    };
    let slot = {
        let mut reg = rt.registry_mut().unwrap();
        reg.register_callback(ROOT).unwrap();
        reg.create_family(ROOT, &spec).unwrap().slot.unwrap()
    };
    slab[slot as usize] = 5.0;
    // SAFETY: `slab` outlives the runtime's reads: shutdown() below detaches it first.
    unsafe { rt.slabs().attach(0, slab.as_ptr(), slab.len()) }.unwrap();

    let addr = rt.server_addr().expect("the server runs");
    let r = common::get(addr, "/metrics", "").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("dynamo_component_queue 5\n"), "{}", r.body);
    assert!(
        r.body
            .contains("dynamo_component_metrics_callback_errors_total 1\n"),
        "{}",
        r.body
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    rt.shutdown().await;
    drop(slab);
}
