//! dynamo-metrics core: Dynamo's metrics runtime for Node.js, in plain Rust (no N-API; the binding
//! in `crates/dynamo-metrics-node` only converts).
//!
//! One value, from `inc()` to `GET /metrics`:
//!
//! 1. Creating `counter = endpoint.metrics.createIntCounter(...)` registers a family at a level
//!    of the [`hierarchy`] in the [`series`] table ([`series::registry`], names checked by
//!    [`names`]); the family's [`series::layout`] says which slots of the JS slabs
//!    ([`series::slab`]) its series takes, handed out by [`series::slots`]. Vec series created in
//!    JS arrive in batches ([`series::registry::Registry::add_series_batch`]).
//! 2. `counter.inc()` is a typed-array write in JS into that slot: nothing crosses N-API.
//! 3. A scrape ([`scrape`]) of a level runs the level's JS callbacks once, shared by concurrent
//!    scrapes ([`scrape::SingleFlight`]) and bounded by a deadline, then takes one snapshot of the
//!    slabs. [`scrape`] alone decides where and when a render happens
//!    ([`runtime::Runtime::render`] for `prometheusMetricsFmt()`,
//!    [`runtime::Runtime::render_stream`] for the server).
//! 4. The encoder ([`encode`], text format in [`encode::text`]) walks the families merged by name
//!    and writes each series' pre-rendered labels and its value from the snapshot.
//! 5. The status server ([`server`], health in [`health`]) streams the chunks as `/metrics`.
//!
//! Beside that path: [`runtime`] (the handle that owns it all), [`config`] (options and
//! `DYN_SYSTEM_*` variables), [`error`] (one error type; its codes are the JS error codes),
//! [`contracts`] (what TS reads from Rust, generated into `src-ts/binding/`), and the NATS
//! request plane ([`plane`], with [`plane::endpoint_metrics`]).

#![warn(missing_docs)]

pub mod config;
pub mod contracts;
pub mod encode;
pub mod error;
pub mod frontend;
pub mod hierarchy;
pub mod names;
pub mod plane;
pub mod runtime;
pub mod scrape;
pub mod series;
pub mod server;
/// Health state lives with the server that serves it; re-exported here for existing paths.
pub use server::health;

pub use error::{ErrorKind, MetricsError, Result};
