//! Encoders of a scrape: from the series table and one [`Snapshot`] to exposition bytes.
//! [`plan`] and [`Cursor`] are format-agnostic (which families a level renders, in what order,
//! and where a chunked render stopped); each format is a module beside [`text`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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

/// The plans of the levels rendered so far. Families and levels are only ever added, so a plan
/// stays right while the table has as many of each as when it was made; building one sorts every
/// family name of the subtree, the largest part of a small render.
#[derive(Default)]
pub struct PlanCache {
    plans: Mutex<HashMap<NodeId, Stamped>>,
}

/// A plan, and the counts of families and levels it was made at.
type Stamped = ((usize, usize), Arc<EncodePlan>);

impl PlanCache {
    /// The plan of `root` for `registry` as it is now.
    pub fn get(&self, registry: &Registry, root: NodeId) -> Arc<EncodePlan> {
        let stamp = (registry.families().len(), registry.hierarchy.level_count());
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        match plans.get(&root) {
            Some((made, plan)) if *made == stamp => Arc::clone(plan),
            _ => {
                let fresh = Arc::new(plan(registry, root));
                plans.insert(root, (stamp, Arc::clone(&fresh)));
                fresh
            }
        }
    }
}
