//! The series table.

pub mod chunked;
pub mod family;
pub mod registry;
pub mod slab;
