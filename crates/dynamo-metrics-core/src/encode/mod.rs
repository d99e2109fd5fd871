//! Encoders of a scrape: from the series table and one [`Snapshot`] to exposition bytes.
//! [`plan`] and [`Cursor`] are format-agnostic (which families a level renders, in what order,
//! and where a chunked render stopped); each format is a module beside [`text`].

use std::collections::BTreeMap;

use crate::hierarchy::NodeId;
use crate::series::Registry;

mod snapshot;
pub mod text;

pub use snapshot::Snapshot;

/// Family ids of a subtree grouped by name, in name order: one exposed family per group.
pub struct EncodePlan {
    pub(crate) groups: Vec<Vec<u32>>,
}

/// Where a chunked render stopped.
#[derive(Default, Clone, Copy)]
pub struct Cursor {
    pub(crate) group: usize,
    pub(crate) family: usize,
    pub(crate) series: usize,
    pub(crate) header_done: bool,
}

/// The families `root` renders, merged by name across levels and sorted.
pub fn plan(registry: &Registry, root: NodeId) -> EncodePlan {
    let families = registry.families();
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for n in registry.hierarchy.subtree(root) {
        let Ok(node) = registry.hierarchy.node(n) else {
            continue;
        };
        for &f in &node.families {
            by_name
                .entry(families[f as usize].name.as_str())
                .or_default()
                .push(f);
        }
    }
    EncodePlan {
        groups: by_name.into_values().collect(),
    }
}
