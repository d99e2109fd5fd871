//! Dynamo's automatic work-handler metrics: created on the endpoint level for every served
//! endpoint, with Dynamo's names, help texts and (since 2026-04) widened duration buckets.

use crate::error::{ErrorKind, MetricsError, Result};
use crate::hierarchy::NodeId;
use crate::series::family::MetricKind;
use crate::series::registry::{Created, FamilySpec, Registry};

/// The buckets of `request_duration_seconds` (seconds).
pub const REQUEST_DURATION_BUCKETS: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
    600.0,
];

/// (name, kind, help, label names) in the order [`create`] returns them; the JS side takes the
/// names from here (see `crate::contracts`).
pub const FAMILIES: [(&str, MetricKind, &str, &[&str]); 7] = [
    (
        "requests_total",
        MetricKind::IntCounter,
        "Total number of requests processed by work handler",
        &[],
    ),
    (
        "request_duration_seconds",
        MetricKind::Histogram,
        "Time spent processing requests by work handler",
        &[],
    ),
    (
        "inflight_requests",
        MetricKind::IntGauge,
        "Number of requests currently being processed by work handler",
        &[],
    ),
    (
        "request_bytes_total",
        MetricKind::IntCounter,
        "Total number of bytes received in requests by work handler",
        &[],
    ),
    (
        "response_bytes_total",
        MetricKind::IntCounter,
        "Total number of bytes sent in responses by work handler",
        &[],
    ),
    (
        "errors_total",
        MetricKind::IntCounter,
        "Total number of errors in work handler processing",
        &["error_type"],
    ),
    (
        "cancellation_total",
        MetricKind::IntCounter,
        "Total number of requests cancelled by work handler",
        &[],
    ),
];

/// Creates the automatic metrics of endpoint `node`, with `labels` (the user's `metricsLabels`)
/// as extra const labels. Errors (a label clash, metrics already created) leave earlier ones; a
/// name the user already took says whose name it is and how to avoid the clash.
pub fn create(
    registry: &mut Registry,
    node: NodeId,
    labels: &[(String, String)],
) -> Result<Vec<Created>> {
    FAMILIES
        .iter()
        .map(|(name, kind, help, label_names)| {
            let spec = FamilySpec {
                kind: *kind,
                vec: !label_names.is_empty(),
                name: name.to_string(),
                help: help.to_string(),
                label_names: label_names.iter().map(|s| s.to_string()).collect(),
                const_labels: labels.to_vec(),
                buckets: (*kind == MetricKind::Histogram)
                    .then(|| REQUEST_DURATION_BUCKETS.to_vec()),
            };
            registry
                .create_family(node, &spec)
                .map_err(|e| owned_name(e, name))
        })
        .collect()
}

/// The names of the automatic endpoint metrics (without the `dynamo_component_` prefix).
pub fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.0)
}

/// A conflict on one of our names is the user's metric taking a name the library owns.
fn owned_name(e: MetricsError, name: &str) -> MetricsError {
    if !matches!(e.kind, ErrorKind::Conflict | ErrorKind::Duplicate) {
        return e;
    }
    MetricsError::new(
        e.kind,
        format!(
            "'{name}' is one of the automatic endpoint metrics serveEndpoint() creates, and a \
             metric of that name already exists here ({}); serve with `autoMetrics: false`, or \
             give your metric another name",
            e.message
        ),
    )
}
