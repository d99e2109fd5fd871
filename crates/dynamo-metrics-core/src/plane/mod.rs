//! The request plane over NATS: connect ([`connect`]), serve endpoints ([`serve`]), find them
//! ([`discover`]) and call them ([`request`]), with the subjects and headers both sides share in
//! [`subjects`]; plus Dynamo's automatic endpoint metrics ([`endpoint_metrics`]).
//!
//! Delivery: every response message carries a sequence number, so a caller that misses one
//! fails at once naming the gap; a caller grants credit as it reads, so a worker pauses instead
//! of overrunning a slow caller; a response that cannot be sent ends the stream with an error.

pub mod connect;
pub mod discover;
pub mod endpoint_metrics;
pub mod kv_metrics;
pub mod request;
pub mod serve;
pub mod subjects;

pub use connect::NatsPlane;
pub use discover::Instance;
pub use request::ResponseStream;
pub use serve::{FinalMessage, IncomingRequest, RequestSink, ServeSpec, ServedEndpoint};
