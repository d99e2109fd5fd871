//! The series table: every family of every level, the slot allocator for the JS slabs, the
//! family-shape rules across the runtime, and the callback list.

use std::collections::{BTreeMap, HashMap};

use crate::error::{ErrorKind, MetricsError, Result};
use crate::family::{Family, MetricKind, NativeMetric};
use crate::hierarchy::{Hierarchy, Level, NodeId};
use crate::names;

/// What a user asked for when creating a metric.
#[derive(Clone, Debug)]
pub struct FamilySpec {
    pub kind: MetricKind,
    /// A `*Vec` constructor: it must declare at least one variable label.
    pub vec: bool,
    pub name: String,
    pub help: String,
    pub label_names: Vec<String>,
    pub const_labels: Vec<(String, String)>,
    pub buckets: Option<Vec<f64>>,
}

#[derive(Clone, Debug)]
pub struct Created {
    pub family: u32,
    pub name: String,
    /// The scalar's slot; `None` for a Vec (its series are created per label set).
    pub slot: Option<u32>,
    pub width: u32,
    pub buckets: Vec<f64>,
    pub const_labels: Vec<(String, String)>,
}

/// What must agree for one family name across levels, so merged output stays one valid family.
#[derive(Clone, PartialEq)]
struct Shape {
    kind: MetricKind,
    help: String,
    label_names: Vec<String>,
    buckets: Vec<f64>,
}

/// Hands out slot ranges in slabs of `slab_size` f64; a range never straddles two slabs.
struct SlotAllocator {
    slab_size: u32,
    next: u32,
    free: HashMap<u32, Vec<u32>>,
}

impl SlotAllocator {
    fn alloc(&mut self, width: u32) -> Result<u32> {
        if width > self.slab_size {
            return Err(MetricsError::new(
                ErrorKind::InvalidBuckets,
                format!(
                    "a series needs {width} slots but a slab holds {}; use fewer buckets",
                    self.slab_size
                ),
            ));
        }
        if let Some(slot) = self.free.get_mut(&width).and_then(Vec::pop) {
            return Ok(slot);
        }
        let off = self.next % self.slab_size;
        if off + width > self.slab_size {
            self.next += self.slab_size - off;
        }
        let slot = self.next;
        self.next += width;
        Ok(slot)
    }

    fn release(&mut self, slot: u32, width: u32) {
        self.free.entry(width).or_default().push(slot);
    }
}

pub struct Registry {
    pub hierarchy: Hierarchy,
    families: Vec<Family>,
    shapes: HashMap<String, Shape>,
    slots: SlotAllocator,
    /// Series index within its family, per first slot (for remove by slot).
    slot_series: Vec<u32>,
    next_callback: u32,
    callbacks: HashMap<u32, NodeId>,
}

impl Registry {
    pub fn new(slab_size: u32) -> Registry {
        Registry {
            hierarchy: Hierarchy::new(),
            families: Vec::new(),
            shapes: HashMap::new(),
            slots: SlotAllocator {
                slab_size,
                next: 0,
                free: HashMap::new(),
            },
            slot_series: Vec::new(),
            next_callback: 1,
            callbacks: HashMap::new(),
        }
    }

    /// Number of slots ever handed out (the snapshot copies this many).
    pub fn used_slots(&self) -> usize {
        self.slots.next as usize
    }

    pub fn child(&mut self, parent: NodeId, level: Level, name: &str) -> Result<NodeId> {
        self.hierarchy.child(parent, level, name)
    }

    pub fn family(&self, id: u32) -> Result<&Family> {
        self.families
            .get(id as usize)
            .ok_or_else(|| unknown_family(id))
    }

    fn family_mut(&mut self, id: u32) -> Result<&mut Family> {
        self.families
            .get_mut(id as usize)
            .ok_or_else(|| unknown_family(id))
    }

    /// Validates and registers a family at `node`; a scalar gets its one series at once.
    pub fn create_family(&mut self, node: NodeId, spec: &FamilySpec) -> Result<Created> {
        let id = self.register_family(node, spec)?;
        let f = &self.families[id as usize];
        let (width, buckets, name, const_labels) = (
            f.width,
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
            width,
            buckets,
            const_labels,
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
        let owned: Vec<String> = self
            .family(family)?
            .ordered_values(pairs)?
            .into_iter()
            .map(str::to_string)
            .collect();
        let values: Vec<&str> = owned.iter().map(String::as_str).collect();
        self.create_series_ordered(family, &values)
    }

    /// Creates a series from values already in declaration order (the caller checked the keys).
    pub fn create_series_ordered(&mut self, family: u32, values: &[&str]) -> Result<u32> {
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
        let width = f.width;
        let slot = self.slots.alloc(width)?;
        let index = self.family_mut(family)?.add_series(slot, values);
        let need = (slot + 1) as usize;
        if self.slot_series.len() < need {
            self.slot_series.resize(need, u32::MAX);
        }
        self.slot_series[slot as usize] = index;
        Ok(slot)
    }

    /// Removes the series starting at `slot`; its slots become free for reuse.
    pub fn remove_series(&mut self, family: u32, slot: u32) -> Result<bool> {
        let index = self
            .slot_series
            .get(slot as usize)
            .copied()
            .unwrap_or(u32::MAX);
        let f = self.family_mut(family)?;
        let width = f.width;
        match f.remove_series(index) {
            Some(s) if s == slot => {
                self.slots.release(slot, width);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Removes every series of a Vec family.
    pub fn reset_family(&mut self, family: u32) -> Result<()> {
        let f = self.family_mut(family)?;
        let width = f.width;
        for slot in f.clear() {
            self.slots.release(slot, width);
        }
        Ok(())
    }

    pub fn register_callback(&mut self, node: NodeId) -> Result<u32> {
        self.hierarchy.node(node)?;
        let id = self.next_callback;
        self.next_callback += 1;
        self.callbacks.insert(id, node);
        self.hierarchy.node_mut(node)?.callbacks.push(id);
        Ok(id)
    }

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

    /// Renders `root` and its descendants: families merged by name and sorted, empty ones left out.
    pub fn encode(&self, root: NodeId, values: &[f64], out: &mut Vec<u8>) {
        let mut by_name: BTreeMap<&str, Vec<&Family>> = BTreeMap::new();
        for n in self.hierarchy.subtree(root) {
            let Ok(node) = self.hierarchy.node(n) else {
                continue;
            };
            for &f in &node.families {
                let fam = &self.families[f as usize];
                if fam.live_series() > 0 {
                    by_name.entry(fam.name.as_str()).or_default().push(fam);
                }
            }
        }
        for (name, fams) in by_name {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            crate::format::write_help(out, &fams[0].help);
            out.extend_from_slice(b"\n# TYPE ");
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            out.extend_from_slice(fams[0].kind.type_name().as_bytes());
            out.push(b'\n');
            for f in fams {
                f.encode_series(values, out);
            }
        }
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
