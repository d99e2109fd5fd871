//! Dynamo's "Method 1": workers publish `ForwardPassMetrics` over NATS (stats of the
//! `load_metrics` endpoint, debounced `LoadEvent`s on `namespace.<ns>.kv_metrics`), and an
//! aggregator turns them into the `llm_*` metrics of Dynamo's `metrics` component.

pub mod aggregator;
pub mod export;
pub mod publisher;
pub mod state;
pub mod types;

use crate::names::nats_subject_token as token;

/// The endpoint whose stats carry a worker's `ForwardPassMetrics`.
pub const LOAD_METRICS_ENDPOINT: &str = "load_metrics";
/// The event name of `LoadEvent`s (subject `namespace.<ns>.kv_metrics`): pushed on change, so the
/// aggregator need not wait for its next poll.
pub const KV_METRICS_SUBJECT: &str = "kv_metrics";
/// With a hyphen, as in Dynamo.
pub const KV_HIT_RATE_SUBJECT: &str = "kv-hit-rate";

/// Dynamo's `Namespace::publish` subject: `namespace.<ns>.<event>` (the namespace sanitized as
/// the plane's service names are, so nested `a.b` is the one token `a_b`).
pub fn event_subject(namespace: &str, event: &str) -> String {
    format!("namespace.{}.{}", token(namespace), event)
}
