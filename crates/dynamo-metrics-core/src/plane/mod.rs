//! The request plane: NATS connect and serve, discovery and requests, automatic endpoint metrics.

pub mod endpoint_metrics;
pub mod nats;
