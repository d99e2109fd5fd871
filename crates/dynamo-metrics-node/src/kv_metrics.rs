//! Binding of Method 1 (core `kv_metrics`): the wire types' field table, the worker publisher and
//! the aggregator. Logic and validation live in the core; this converts arguments.

use std::sync::Arc;

use dynamo_metrics_core::plane::kv_metrics::aggregator::{AggregatorOptions, KvAggregator};
use dynamo_metrics_core::plane::kv_metrics::export::ExportLabels;
use dynamo_metrics_core::plane::kv_metrics::publisher::{publish_hit_rate, KvPublisher};
use dynamo_metrics_core::plane::kv_metrics::types::{
    parse_json, ForwardPassMetrics, KvHitRateEvent, Naming, FIELDS,
};
use dynamo_metrics_core::plane::kv_metrics::LOAD_METRICS_ENDPOINT;
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use crate::{coded, js, NativeRuntime, Result};

/// One field of `ForwardPassMetrics` and its rule, as the core declares it.
#[napi(object)]
pub struct KvField {
    /// Group in camelCase (`workerStats`, `kvStats`, `specDecodeStats`).
    pub group: String,
    pub group_wire: String,
    pub group_optional: bool,
    /// Field name in camelCase, and as on the wire (snake_case).
    pub name: String,
    pub wire: String,
    /// `u64`, `u32`, `fraction` or `u32[]`.
    pub kind: String,
    /// The rule in words, for error messages.
    pub rule: String,
    pub optional: bool,
}

/// The `ForwardPassMetrics` fields and their rules (the TS validator is built from this).
#[napi]
pub fn kv_metrics_schema() -> Vec<KvField> {
    FIELDS
        .iter()
        .map(|f| KvField {
            group: f.group.js().into(),
            group_wire: f.group.wire().into(),
            group_optional: f.group.optional(),
            name: f.js.into(),
            wire: f.wire.into(),
            kind: f.kind.as_str().into(),
            rule: f.kind.rule().into(),
            optional: f.optional,
        })
        .collect()
}

/// The endpoint whose stats carry `ForwardPassMetrics` (`load_metrics`).
#[napi]
pub fn kv_load_metrics_endpoint() -> String {
    LOAD_METRICS_ENDPOINT.into()
}

#[napi]
pub struct NativeKvPublisher {
    inner: Arc<KvPublisher>,
}

#[napi]
impl NativeKvPublisher {
    /// Decimal worker id (an i64).
    #[napi(getter)]
    pub fn worker_id(&self) -> String {
        self.inner.worker_id().to_string()
    }

    #[napi(getter)]
    pub fn subject(&self) -> String {
        self.inner.subject().to_string()
    }

    /// The debounced send: `json` (camelCase `ForwardPassMetrics`) becomes the stats data, and a
    /// `LoadEvent` is queued when `send_event`. One call per debounced change. True when the
    /// event replaced one still unsent.
    #[napi]
    pub fn flush(&self, json: String, send_event: bool) -> Result<bool> {
        let v = parse_json("ForwardPassMetrics", json.as_bytes()).map_err(js)?;
        let m = ForwardPassMetrics::from_value(&v, Naming::Js).map_err(js)?;
        self.inner.update(m, send_event).map_err(js)
    }

    /// Sends the queued event, then stops serving; true when that event could not go.
    #[napi]
    pub async fn stop(&self) -> bool {
        self.inner.stop().await
    }
}

/// One live worker, as `getMetrics()` reports it.
#[napi(object)]
pub struct EndpointKvMetrics {
    /// Decimal i64.
    pub worker_id: String,
    pub request_active_slots: f64,
    pub request_total_slots: f64,
    pub kv_active_blocks: f64,
    pub kv_total_blocks: f64,
    pub num_requests_waiting: f64,
    pub gpu_cache_usage_perc: f64,
    pub gpu_prefix_cache_hit_rate: f64,
}

#[napi(object)]
pub struct AggregatedMetrics {
    pub endpoints: Vec<EndpointKvMetrics>,
    pub load_avg: f64,
    pub load_std: f64,
}

#[napi]
pub struct NativeKvAggregator {
    inner: Arc<KvAggregator>,
}

#[napi]
impl NativeKvAggregator {
    /// Resolves once it listens; rejects when it cannot subscribe.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn ready<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let inner = Arc::clone(&self.inner);
        coded(env, async move { inner.ready().await })
    }

    #[napi]
    pub fn get_metrics(&self) -> AggregatedMetrics {
        let p = self.inner.processed();
        AggregatedMetrics {
            endpoints: p
                .endpoints
                .into_iter()
                .map(|(id, m)| EndpointKvMetrics {
                    worker_id: id.to_string(),
                    request_active_slots: m.worker_stats.request_active_slots as f64,
                    request_total_slots: m.worker_stats.request_total_slots as f64,
                    kv_active_blocks: m.kv_stats.kv_active_blocks as f64,
                    kv_total_blocks: m.kv_stats.kv_total_blocks as f64,
                    num_requests_waiting: m.worker_stats.num_requests_waiting as f64,
                    gpu_cache_usage_perc: m.kv_stats.gpu_cache_usage_perc,
                    gpu_prefix_cache_hit_rate: m.kv_stats.gpu_prefix_cache_hit_rate,
                })
                .collect(),
            load_avg: p.load_avg,
            load_std: p.load_std,
        }
    }

    /// The `llm_*` families in Prometheus text, labelled `component`, `endpoint` and `model`.
    #[napi]
    pub fn render(&self, component: String, endpoint: String, model: Option<String>) -> String {
        self.inner.render(&ExportLabels {
            component: &component,
            endpoint: &endpoint,
            model: model.as_deref(),
        })
    }

    /// A summary of malformed input since the last call (the caller warns at most once a second).
    #[napi]
    pub fn take_warning(&self) -> Option<String> {
        self.inner.take_warning()
    }

    #[napi(getter)]
    pub fn malformed(&self) -> f64 {
        self.inner.malformed() as f64
    }

    #[napi(getter)]
    pub fn service(&self) -> String {
        self.inner.service().to_string()
    }

    #[napi(getter)]
    pub fn subject_prefix(&self) -> String {
        self.inner.subject_prefix().to_string()
    }

    #[napi(getter)]
    pub fn stale_after_ms(&self) -> f64 {
        self.inner.options().stale_after.as_millis() as f64
    }

    #[napi]
    pub fn stop(&self) {
        self.inner.stop();
    }
}

#[napi]
impl NativeRuntime {
    /// Serves `endpoint` of `namespace`/`component` for a `WorkerMetricsPublisher` (instance
    /// `instance`: hex of a positive i64).
    #[napi(ts_return_type = "Promise<NativeKvPublisher>")]
    pub fn kv_publisher_start<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        component: String,
        endpoint: String,
        instance: String,
    ) -> Result<PromiseRaw<'env, NativeKvPublisher>> {
        let plane = self.rt.require_nats().map_err(js)?;
        coded(env, async move {
            let inner =
                KvPublisher::start(&plane, &namespace, &component, &endpoint, &instance).await?;
            Ok(NativeKvPublisher { inner })
        })
    }

    /// Validates `json` (a camelCase `KvHitRateEvent`) and sends it to `namespace.<ns>.kv-hit-rate`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn kv_publish_hit_rate<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        json: String,
    ) -> Result<PromiseRaw<'env, ()>> {
        let v = parse_json("KvHitRateEvent", json.as_bytes()).map_err(js)?;
        let ev = KvHitRateEvent::from_value(&v, Naming::Js).map_err(js)?;
        let plane = self.rt.require_nats().map_err(js)?;
        coded(env, async move {
            publish_hit_rate(&plane, &namespace, &ev).await
        })
    }

    /// Starts an aggregator of `endpoint`'s workers; options are validated here (ms).
    #[napi]
    pub fn kv_aggregator_start(
        &self,
        namespace: String,
        component: String,
        endpoint: String,
        interval_ms: Option<f64>,
        timeout_ms: Option<f64>,
        stale_ms: Option<f64>,
    ) -> Result<NativeKvAggregator> {
        let opts = AggregatorOptions::new(interval_ms, timeout_ms, stale_ms).map_err(js)?;
        let plane = self.rt.require_nats().map_err(js)?;
        let inner = KvAggregator::new(&namespace, &component, &endpoint, opts);
        napi::bindgen_prelude::spawn(Arc::clone(&inner).run(plane));
        Ok(NativeKvAggregator { inner })
    }
}
