//! One scrape of a subtree.

mod single_flight;

pub use single_flight::*;
