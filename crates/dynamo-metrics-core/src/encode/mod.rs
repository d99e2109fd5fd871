//! The text exposition.

pub mod text;
