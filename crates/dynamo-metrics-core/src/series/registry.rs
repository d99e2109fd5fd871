//! The series table: every family of every level, the family-shape and name rules across the
//! runtime, the slots of each series, and the callback list.

use std::collections::HashMap;

use super::chunked::Chunked;
use super::family::{Family, MetricKind, NativeMetric};
use super::layout::SlotLayout;
use super::slots::SlotAllocator;
use crate::encode::text::sample_names;
use crate::error::{ErrorKind, MetricsError, Result};
use crate::hierarchy::{Hierarchy, Level, NodeId};
use crate::names;

/// What a user asked for when creating a metric.
#[derive(Clone, Debug)]
pub struct FamilySpec {
    /// Its type.
    pub kind: MetricKind,
    /// A `*Vec` constructor: it must declare at least one variable label.
    pub vec: bool,
    /// The name as given (the `dynamo_component_` prefix is added).
    pub name: String,
    /// Help text.
    pub help: String,
    /// Variable label names.
    pub label_names: Vec<String>,
    /// The user's const labels.
    pub const_labels: Vec<(String, String)>,
    /// Histogram bounds; `None` takes the default ones.
    pub buckets: Option<Vec<f64>>,
}

/// A created family, as the JS side needs it.
#[derive(Clone, Debug)]
pub struct Created {
    /// Its id.
    pub family: u32,
    /// Full exposition name.
    pub name: String,
    /// The scalar's slot; `None` for a Vec (its series are created per label set).
    pub slot: Option<u32>,
    /// Where each series' values sit.
    pub layout: SlotLayout,
    /// Histogram bounds.
    pub buckets: Vec<f64>,
    /// Auto plus user const labels, sorted by key.
    pub const_labels: Vec<(String, String)>,
    /// Series it may hold before new label sets fold (see [`super::limit`]): the runtime's
    /// limit, or the metric's own `maxSeries` through [`Registry::create_with`].
    pub max_series: u32,
}

/// What must agree for one family name across levels, so merged output stays one valid family.
#[derive(Clone, PartialEq)]
struct Shape {
    kind: MetricKind,
    help: String,
    label_names: Vec<String>,
    buckets: Vec<f64>,
}

/// Every family of every level, with their series and slots.
pub struct Registry {
    /// The levels.
    pub hierarchy: Hierarchy,
    families: Vec<Family>,
    shapes: HashMap<String, Shape>,
    /// Every sample name a family writes (or a sibling format reserves), by the family name
    /// that owns it: another family may not take it.
    samples: HashMap<String, String>,
    slots: SlotAllocator,
    /// Series index within its family, per first slot (for remove by slot).
    slot_series: Chunked<u32>,
    next_callback: u32,
    callbacks: HashMap<u32, NodeId>,
    /// The runtime's series limit per family (`maxSeriesPerFamily`).
    pub max_series_per_family: u32,
}

impl Registry {
    /// An empty table for slabs of `slab_size` slots.
    pub fn new(slab_size: u32) -> Registry {
        Registry {
            hierarchy: Hierarchy::new(),
            families: Vec::new(),
            shapes: HashMap::new(),
            samples: HashMap::new(),
            slots: SlotAllocator::new(slab_size),
            slot_series: Chunked::new(),
            next_callback: 1,
            callbacks: HashMap::new(),
            max_series_per_family: super::limit::DEFAULT_MAX_SERIES,
        }
    }

    /// Number of slots ever handed out (the snapshot copies this many).
    pub fn used_slots(&self) -> usize {
        self.slots.next as usize
    }

    /// The child level `name` of `parent` (created on first use).
    pub fn child(&mut self, parent: NodeId, level: Level, name: &str) -> Result<NodeId> {
        self.hierarchy.child(parent, level, name)
    }

    /// Every family, by id.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// Family `id`.
    pub fn family(&self, id: u32) -> Result<&Family> {
        self.families
            .get(id as usize)
            .ok_or_else(|| unknown_family(id))
    }

    pub(crate) fn family_mut(&mut self, id: u32) -> Result<&mut Family> {
        self.families
            .get_mut(id as usize)
            .ok_or_else(|| unknown_family(id))
    }

    /// Validates and registers a family at `node`; a scalar gets its one series at once.
    pub fn create_family(&mut self, node: NodeId, spec: &FamilySpec) -> Result<Created> {
        let name = names::build_component_metric_name(&spec.name)?;
        self.create_named(node, spec, name)
    }

    /// A family named `<prefix>_<name>` at the root, outside `dynamo_component_` and without
    /// hierarchy labels: Dynamo's frontend families (see [`crate::frontend`]).
    pub fn create_prefixed_family(&mut self, prefix: &str, spec: &FamilySpec) -> Result<Created> {
        let name = crate::frontend::frontend_metric_name(prefix, &spec.name)?;
        self.create_named(crate::hierarchy::ROOT, spec, name)
    }

    fn create_named(&mut self, node: NodeId, spec: &FamilySpec, name: String) -> Result<Created> {
        let id = self.register_named(node, spec, name)?;
        let f = &self.families[id as usize];
        let (layout, buckets, name, const_labels) = (
            f.layout,
            f.buckets.clone(),
            f.name.clone(),
            f.const_labels.clone(),
        );
        let slot = if spec.vec {
            None
        } else {
            Some(self.create_series(id, &[])?)
        };
        Ok(Created {
            family: id,
            name,
            slot,
            layout,
            buckets,
            const_labels,
            max_series: self.max_series_per_family,
        })
    }

    /// Registers a family whose values live in Rust (the runtime's own metrics).
    pub fn create_native(
        &mut self,
        node: NodeId,
        spec: &FamilySpec,
        metric: NativeMetric,
    ) -> Result<u32> {
        let id = self.register_family(node, spec)?;
        self.families[id as usize].add_native(metric, &[]);
        Ok(id)
    }

    fn register_family(&mut self, node: NodeId, spec: &FamilySpec) -> Result<u32> {
        let name = names::build_component_metric_name(&spec.name)?;
        self.register_named(node, spec, name)
    }

    fn register_named(&mut self, node: NodeId, spec: &FamilySpec, name: String) -> Result<u32> {
        let kind = spec.kind;
        if spec.vec && spec.label_names.is_empty() {
            return Err(MetricsError::new(
                ErrorKind::InvalidLabel,
                format!(
                    "{}Vec '{}' needs at least one label name",
                    kind.display(),
                    name
                ),
            ));
        }
        names::validate_help(&spec.help, &name)?;
        let const_names: Vec<&str> = spec.const_labels.iter().map(|(k, _)| k.as_str()).collect();
        let var_names: Vec<&str> = spec.label_names.iter().map(String::as_str).collect();
        names::validate_user_labels(&const_names, &var_names, kind == MetricKind::Histogram)?;
        for (k, v) in &spec.const_labels {
            names::validate_label_value(&name, k, v)?;
        }
        let buckets = if kind == MetricKind::Histogram {
            match &spec.buckets {
                Some(b) => names::validate_buckets(b, &name)?,
                None => names::DEFAULT_BUCKETS.to_vec(),
            }
        } else {
            Vec::new()
        };
        let level = self.hierarchy.node(node)?;
        let mut const_labels = level.auto_labels.clone();
        const_labels.extend(spec.const_labels.iter().cloned());
        const_labels.sort();

        let mut sorted_vars = spec.label_names.clone();
        sorted_vars.sort();
        let shape = Shape {
            kind,
            help: spec.help.clone(),
            label_names: sorted_vars,
            buckets: buckets.clone(),
        };
        if let Some(existing) = self.shapes.get(&name) {
            if *existing != shape {
                return Err(conflict(&name, existing, &shape));
            }
        }
        let samples = sample_names(kind, &name);
        for sample in &samples {
            if let Some(owner) = self.samples.get(sample).filter(|o| **o != name) {
                return Err(sample_clash(
                    &name,
                    kind,
                    sample,
                    owner,
                    &self.shapes[owner],
                ));
            }
        }
        for &f in &level.families {
            let other = &self.families[f as usize];
            if other.name == name && other.const_labels == const_labels {
                return Err(MetricsError::new(
                    ErrorKind::Duplicate,
                    format!(
                        "metric '{}' is already registered at this {}{} with the same labels",
                        name,
                        level.level.as_str(),
                        if level.name.is_empty() {
                            String::new()
                        } else {
                            format!(" '{}'", level.name)
                        }
                    ),
                ));
            }
        }
        self.shapes.insert(name.clone(), shape);
        for sample in samples {
            self.samples.insert(sample, name.clone());
        }
        let id = self.families.len() as u32;
        self.families.push(Family::new(
            node,
            name,
            spec.help.clone(),
            kind,
            spec.label_names.clone(),
            const_labels,
            buckets,
        ));
        self.hierarchy.node_mut(node)?.families.push(id);
        Ok(id)
    }

    /// Creates the series for one label set of a Vec family; returns its first slot.
    pub fn create_series(
        &mut self,
        family: u32,
        pairs: &[(String, Option<String>)],
    ) -> Result<u32> {
        let values = self.family(family)?.ordered_values(pairs)?;
        self.create_series_ordered(family, &values)
    }

    /// Creates a series from values already in declaration order (the caller checked the keys).
    pub fn create_series_ordered(&mut self, family: u32, values: &[&str]) -> Result<u32> {
        let width = self.family(family)?.width();
        let slot = self.slots.alloc(width)?;
        if let Err(e) = self.add_series_at(family, slot, values) {
            self.slots.release(slot, width);
            return Err(e);
        }
        Ok(slot)
    }

    /// Hands out `n` slot ranges of `family`'s width for series registered later with
    /// [`Registry::add_series_at`] (the JS side creates series without a call per series).
    pub fn reserve_slots(&mut self, family: u32, n: u32) -> Result<Vec<u32>> {
        let width = self.family(family)?.width();
        (0..n).map(|_| self.slots.alloc(width)).collect()
    }

    /// Adds a series of `family` at `slot` (from [`Registry::reserve_slots`]), with its label
    /// values in declaration order.
    pub fn add_series_at(&mut self, family: u32, slot: u32, values: &[&str]) -> Result<()> {
        let f = self.family(family)?;
        if values.len() != f.label_names.len() {
            return Err(MetricsError::new(
                ErrorKind::InvalidLabel,
                format!(
                    "metric '{}' takes {} label values ({}), got {}",
                    f.name,
                    f.label_names.len(),
                    f.label_names.join(", "),
                    values.len()
                ),
            ));
        }
        for (label, value) in f.label_names.iter().zip(values) {
            names::validate_label_value(&f.name, label, value)?;
        }
        let index = self.family_mut(family)?.add_series(slot, values);
        self.slot_series.set_growing(slot as usize, index, u32::MAX);
        Ok(())
    }

    /// Removes the series starting at `slot`; its slots become free for reuse.
    pub fn remove_series(&mut self, family: u32, slot: u32) -> Result<bool> {
        let index = self
            .slot_series
            .get(slot as usize)
            .copied()
            .unwrap_or(u32::MAX);
        let f = self.family_mut(family)?;
        let width = f.width();
        let removed = f.remove_series(index, slot);
        if removed {
            self.slots.release(slot, width);
        }
        Ok(removed)
    }

    /// Removes every series of a Vec family.
    pub fn reset_family(&mut self, family: u32) -> Result<()> {
        let f = self.family_mut(family)?;
        let width = f.width();
        for slot in f.clear() {
            self.slots.release(slot, width);
        }
        Ok(())
    }

    /// Registers a callback of level `node`; returns its id.
    pub fn register_callback(&mut self, node: NodeId) -> Result<u32> {
        self.hierarchy.node(node)?;
        let id = self.next_callback;
        self.next_callback += 1;
        self.callbacks.insert(id, node);
        self.hierarchy.node_mut(node)?.callbacks.push(id);
        Ok(id)
    }

    /// Forgets callback `id`; returns whether it was registered.
    pub fn unregister_callback(&mut self, id: u32) -> bool {
        let Some(node) = self.callbacks.remove(&id) else {
            return false;
        };
        if let Ok(n) = self.hierarchy.node_mut(node) {
            n.callbacks.retain(|&c| c != id);
        }
        true
    }

    /// Callbacks registered anywhere in the subtree of `root`, in registration order.
    pub fn callbacks_in(&self, root: NodeId) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .hierarchy
            .subtree(root)
            .into_iter()
            .filter_map(|n| self.hierarchy.node(n).ok())
            .flat_map(|n| n.callbacks.iter().copied())
            .collect();
        ids.sort_unstable();
        ids
    }
}

fn unknown_family(id: u32) -> MetricsError {
    MetricsError::new(ErrorKind::Closed, format!("unknown metric family {id}"))
}

fn conflict(name: &str, old: &Shape, new: &Shape) -> MetricsError {
    let what = if old.kind != new.kind {
        format!(
            "type {} (already registered as {})",
            new.kind.display(),
            old.kind.display()
        )
    } else if old.help != new.help {
        format!(
            "help '{}' (already registered with '{}')",
            new.help, old.help
        )
    } else if old.label_names != new.label_names {
        format!(
            "label names [{}] (already registered with [{}])",
            new.label_names.join(", "),
            old.label_names.join(", ")
        )
    } else {
        format!(
            "buckets {:?} (already registered with {:?})",
            new.buckets, old.buckets
        )
    };
    MetricsError::new(
        ErrorKind::Conflict,
        format!("metric '{name}' is created with a different {what}; one name must keep one type, help text, label names and buckets across the runtime"),
    )
}

fn sample_clash(
    name: &str,
    kind: MetricKind,
    sample: &str,
    owner: &str,
    other: &Shape,
) -> MetricsError {
    let what = if sample == name {
        format!(
            "'{name}' is a sample name of {} '{owner}'",
            other.kind.display()
        )
    } else if sample == owner {
        format!(
            "its {} samples would include '{sample}', the name of {} '{owner}'",
            kind.display(),
            other.kind.display()
        )
    } else {
        format!(
            "'{sample}' would be a sample name of both it and {} '{owner}'",
            other.kind.display()
        )
    };
    MetricsError::new(
        ErrorKind::Conflict,
        format!("metric '{name}' collides with another family: {what}; a scraper would keep one of the two series and drop the other, so choose another name"),
    )
}
