//! The series table: what exists and where its values are. Families ([`family`]) at hierarchy
//! levels, the slot layout of each kind ([`layout`]), the table with its rules across the
//! runtime ([`registry`]), the slot allocator ([`slots`]), batch decoding (`batch`), chunked
//! storage ([`chunked`]), the per-family series limit ([`limit`]), idle-series expiry
//! ([`expiry`]), creation with those options ([`create`]) and the JS slabs the values live in
//! ([`slab`]).

mod batch;
pub mod chunked;
pub mod create;
pub mod expiry;
pub mod family;
pub mod layout;
pub mod limit;
pub mod registry;
pub mod slab;
pub mod slots;

pub use family::{Family, MetricKind, NativeMetric, Series, NO_SLOT};
pub use layout::SlotLayout;
pub use registry::{Created, FamilySpec, Registry};
