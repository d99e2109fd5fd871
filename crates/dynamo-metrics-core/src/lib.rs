//! dynamo-metrics core: Dynamo's metrics hierarchy, series table, text encoder and status server.
//! Plain Rust (no N-API); the napi binding in `crates/dynamo-metrics-node` is a thin layer over it.

pub mod chunked;
pub mod config;
pub mod endpoint_metrics;
pub mod error;
pub mod family;
pub mod format;
pub mod health;
pub mod hierarchy;
pub mod kv_metrics;
pub mod names;
pub mod nats;
pub mod registry;
pub mod runtime;
pub mod scrape;
pub mod server;
pub mod slab;

pub use error::{ErrorKind, MetricsError, Result};
