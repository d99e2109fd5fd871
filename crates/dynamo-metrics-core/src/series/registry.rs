//! The series table: every family of every level, the slot allocator for the JS slabs, the
//! family-shape rules across the runtime, and the callback list.

use std::collections::{BTreeMap, HashMap};

use super::chunked::Chunked;
use crate::error::{ErrorKind, MetricsError, Result};
use super::family::{Family, MetricKind, NativeMetric};
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
    pub int_lane: bool,
    pub buckets: Vec<f64>,
    pub const_labels: Vec<(String, String)>,
}

/// Family ids of a subtree grouped by name, in name order.
pub struct EncodePlan {
    groups: Vec<Vec<u32>>,
}

/// Where a chunked render stopped.
#[derive(Default, Clone, Copy)]
pub struct Cursor {
    group: usize,
    family: usize,
    series: usize,
    header_done: bool,
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
    /// Freed first slots by series width (few distinct widths: 1, and buckets + 2).
    free: Vec<(u32, Vec<u32>)>,
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
        if let Some(slot) = self
            .free
            .iter_mut()
            .find(|(w, _)| *w == width)
            .and_then(|(_, v)| v.pop())
        {
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
        match self.free.iter_mut().find(|(w, _)| *w == width) {
            Some((_, v)) => v.push(slot),
            None => self.free.push((width, vec![slot])),
        }
    }
}

pub struct Registry {
    pub hierarchy: Hierarchy,
    families: Vec<Family>,
    shapes: HashMap<String, Shape>,
    slots: SlotAllocator,
    /// Series index within its family, per first slot (for remove by slot).
    slot_series: Chunked<u32>,
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
                free: Vec::new(),
            },
            slot_series: Chunked::new(),
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
        let (width, int_lane, buckets, name, const_labels) = (
            f.width,
            f.int_lane,
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
            int_lane,
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
        let values = self.family(family)?.ordered_values(pairs)?;
        self.create_series_ordered(family, &values)
    }

    /// Creates a series from values already in declaration order (the caller checked the keys).
    pub fn create_series_ordered(&mut self, family: u32, values: &[&str]) -> Result<u32> {
        let width = self.family(family)?.width;
        let slot = self.slots.alloc(width)?;
        if let Err(e) = self.add_series_at(family, slot, values) {
            self.slots.release(slot, width);
            return Err(e);
        }
        Ok(slot)
    }

    /// Adds the series of a batch: `ints` holds, per series, its family, its slot (from
    /// [`Registry::reserve_slots`]) and the UTF-8 byte length of each label value (as many as the
    /// family has label names); `bytes` holds the values back to back. Lengths, not separators,
    /// so a value may contain any character. A malformed batch is an error, never a panic; the
    /// series before the bad record stay added.
    pub fn add_series_batch(&mut self, ints: &[u32], bytes: &[u8]) -> Result<()> {
        let bad = |what: &str| {
            MetricsError::new(
                ErrorKind::InvalidLabel,
                format!("malformed series batch: {what}"),
            )
        };
        // One validation for the whole batch; a value is then a slice of it, whose ends must be
        // char boundaries (checked by `get`). Per value, `from_utf8` was a tenth of a batch.
        let text = std::str::from_utf8(bytes).map_err(|_| bad("the values are not UTF-8"))?;
        let (mut i, mut at) = (0, 0);
        let mut set: Vec<&str> = Vec::new();
        while i < ints.len() {
            let (Some(&family), Some(&slot)) = (ints.get(i), ints.get(i + 1)) else {
                return Err(bad("a record is cut short"));
            };
            let n = self.family(family)?.label_names.len();
            let lens = ints
                .get(i + 2..i + 2 + n)
                .ok_or_else(|| bad("a record is cut short"))?;
            set.clear();
            for &len in lens {
                let end = at + len as usize;
                if end > text.len() {
                    return Err(bad("a value runs past the bytes"));
                }
                let value = text
                    .get(at..end)
                    .ok_or_else(|| bad("a value does not end on a character boundary"))?;
                set.push(value);
                at = end;
            }
            self.add_series_at(family, slot, &set)?;
            i += 2 + n;
        }
        if at != bytes.len() {
            return Err(bad("bytes left over after the last record"));
        }
        Ok(())
    }

    /// Hands out `n` slot ranges of `family`'s width for series registered later with
    /// [`Registry::add_series_at`] (the JS side creates series without a call per series).
    pub fn reserve_slots(&mut self, family: u32, n: u32) -> Result<Vec<u32>> {
        let width = self.family(family)?.width;
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
        let width = f.width;
        let removed = f.remove_series(index, slot);
        if removed {
            self.slots.release(slot, width);
        }
        Ok(removed)
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

    /// The families `root` renders, merged by name and sorted: what [`Registry::encode_some`] walks.
    pub fn plan(&self, root: NodeId) -> EncodePlan {
        let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for n in self.hierarchy.subtree(root) {
            let Ok(node) = self.hierarchy.node(n) else {
                continue;
            };
            for &f in &node.families {
                by_name
                    .entry(self.families[f as usize].name.as_str())
                    .or_default()
                    .push(f);
            }
        }
        EncodePlan {
            groups: by_name.into_values().collect(),
        }
    }

    /// Renders `root` and its descendants: families merged by name and sorted, empty ones left out.
    pub fn encode(&self, root: NodeId, values: &[f64], out: &mut Vec<u8>) {
        let plan = self.plan(root);
        self.encode_some(&plan, values, &mut Cursor::default(), out, usize::MAX);
    }

    /// Continues rendering `plan` at `cur` until `out` holds about `limit` bytes; returns true
    /// when everything is written. Between calls the table may change: families only grow, and a
    /// removed series is skipped, so a resumed render stays valid text.
    pub fn encode_some(
        &self,
        plan: &EncodePlan,
        values: &[f64],
        cur: &mut Cursor,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> bool {
        while let Some(group) = plan.groups.get(cur.group) {
            if !cur.header_done {
                let fams: Vec<&Family> = group
                    .iter()
                    .map(|&f| &self.families[f as usize])
                    .filter(|f| f.live_series() > 0)
                    .collect();
                let Some(first) = fams.first() else {
                    cur.group += 1;
                    continue;
                };
                out.extend_from_slice(b"# HELP ");
                out.extend_from_slice(first.name.as_bytes());
                out.push(b' ');
                crate::encode::text::write_help(out, &first.help);
                out.extend_from_slice(b"\n# TYPE ");
                out.extend_from_slice(first.name.as_bytes());
                out.push(b' ');
                out.extend_from_slice(first.kind.type_name().as_bytes());
                out.push(b'\n');
                cur.header_done = true;
            }
            while let Some(&f) = group.get(cur.family) {
                let fam = &self.families[f as usize];
                cur.series = fam.encode_series(values, cur.series, out, limit);
                if cur.series < fam.series_len() {
                    return false;
                }
                cur.family += 1;
                cur.series = 0;
            }
            *cur = Cursor {
                group: cur.group + 1,
                ..Cursor::default()
            };
            if out.len() >= limit {
                return plan.groups.get(cur.group).is_none();
            }
        }
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::ROOT;

    fn spec(kind: MetricKind, name: &str, labels: &[&str]) -> FamilySpec {
        FamilySpec {
            kind,
            vec: !labels.is_empty(),
            name: name.into(),
            help: "help".into(),
            label_names: labels.iter().map(|s| s.to_string()).collect(),
            const_labels: vec![],
            buckets: None,
        }
    }

    #[test]
    fn chunked_render_equals_whole_render() {
        let mut r = Registry::new(64);
        let ns = r.child(ROOT, Level::Namespace, "ns").unwrap();
        let c = r.child(ns, Level::Component, "c").unwrap();
        let e1 = r.child(c, Level::Endpoint, "e1").unwrap();
        let e2 = r.child(c, Level::Endpoint, "e2").unwrap();
        let mut values = vec![0.0; 0];
        for (node, n) in [(e1, 7), (e2, 5)] {
            let f = r
                .create_family(node, &spec(MetricKind::Counter, "hits", &["k"]))
                .unwrap()
                .family;
            for i in 0..n {
                let slot = r.create_series_ordered(f, &[&format!("v{i}")]).unwrap();
                values.resize(values.len().max(slot as usize + 1), 0.0);
                values[slot as usize] = (i * 3) as f64;
            }
        }
        let h = r
            .create_family(c, &spec(MetricKind::Histogram, "lat", &[]))
            .unwrap();
        values.resize(values.len().max((h.slot.unwrap() + h.width) as usize), 1.0);
        let mut whole = Vec::new();
        r.encode(ROOT, &values, &mut whole);
        let text = String::from_utf8(whole.clone()).unwrap();
        assert!(text.contains("# TYPE dynamo_component_hits counter\n"));
        assert_eq!(text.matches("# HELP dynamo_component_hits").count(), 1);
        assert!(text.contains("dynamo_component_lat_bucket{dynamo_component=\"c\",dynamo_namespace=\"ns\",le=\"+Inf\"} 12\n"));
        for limit in [1, 10, 100, 333, 1000] {
            let plan = r.plan(ROOT);
            let mut cur = Cursor::default();
            let mut joined = Vec::new();
            let mut rounds = 0;
            loop {
                let mut chunk = Vec::new();
                let done = r.encode_some(&plan, &values, &mut cur, &mut chunk, limit);
                joined.extend_from_slice(&chunk);
                rounds += 1;
                if done {
                    break;
                }
                assert!(rounds < 10_000, "chunked render does not finish");
            }
            assert_eq!(String::from_utf8(joined).unwrap(), text, "limit {limit}");
        }
    }

    #[test]
    fn removed_series_are_left_out_and_their_slots_reused() {
        let mut r = Registry::new(64);
        let f = r
            .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["k"]))
            .unwrap()
            .family;
        let a = r.create_series_ordered(f, &["a"]).unwrap();
        let b = r.create_series_ordered(f, &["b"]).unwrap();
        assert!(r.remove_series(f, a).unwrap());
        assert!(!r.remove_series(f, a).unwrap());
        let mut out = Vec::new();
        r.encode(ROOT, &[1.0, 2.0], &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("k=\"a\""));
        assert!(text.contains("dynamo_component_g{k=\"b\"} 2\n"));
        assert_eq!(r.create_series_ordered(f, &["c"]).unwrap(), a);
        assert_ne!(a, b);
    }

    #[test]
    fn label_less_counters_add_their_integer_lane() {
        let mut r = Registry::new(64);
        let c = r
            .create_family(ROOT, &spec(MetricKind::Counter, "c_total", &[]))
            .unwrap();
        let v = r
            .create_family(ROOT, &spec(MetricKind::Counter, "v_total", &["k"]))
            .unwrap();
        assert!(c.int_lane && c.width == 2);
        assert!(!v.int_lane && v.width == 1);
        let slot = c.slot.unwrap() as usize;
        let mut values = vec![0.0; slot + 2];
        values[slot] = 0.5;
        values[slot + 1] = f64::from_bits((1u64 << 32) + 3);
        let mut out = Vec::new();
        r.encode(ROOT, &values, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("dynamo_component_c_total 4294967299.5\n"),
            "{text}"
        );
    }

    #[test]
    fn long_and_escaped_label_values_render_whole() {
        let mut r = Registry::new(64);
        let f = r
            .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["a", "b"]))
            .unwrap()
            .family;
        let long = "x".repeat(300);
        let big = "y".repeat(70_000); // longer than an arena chunk
        let s1 = r.create_series_ordered(f, &[&long, "q\"u\\o"]).unwrap();
        let s2 = r.create_series_ordered(f, &["n\nl", &big]).unwrap();
        let mut values = vec![0.0; 64];
        values[s1 as usize] = 1.0;
        values[s2 as usize] = 2.0;
        let mut out = Vec::new();
        r.encode(ROOT, &values, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&format!(
            "dynamo_component_g{{a=\"{long}\",b=\"q\\\"u\\\\o\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "dynamo_component_g{{a=\"n\\nl\",b=\"{big}\"}} 2\n"
        )));
    }

    #[test]
    fn reserved_slots_take_a_batch_of_series_and_refuse_a_wrong_count() {
        let mut r = Registry::new(64);
        let f = r
            .create_family(ROOT, &spec(MetricKind::Gauge, "g", &["a", "b"]))
            .unwrap()
            .family;
        let slots = r.reserve_slots(f, 3).unwrap();
        assert_eq!(slots.len(), 3);
        // Two series now (one slot stays reserved), including empty values and a NUL.
        r.add_series_batch(&[f, slots[0], 1, 1, f, slots[1], 0, 3], b"xya\0b")
            .unwrap();
        let mut values = vec![0.0; 64];
        values[slots[0] as usize] = 1.0;
        values[slots[1] as usize] = 2.0;
        let mut out = Vec::new();
        r.encode(ROOT, &values, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("dynamo_component_g{a=\"x\",b=\"y\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("dynamo_component_g{a=\"\",b=\"a\0b\"} 2\n"),
            "{text}"
        );
        assert_eq!(r.family(f).unwrap().live_series(), 2);
        // Registered series can be removed by slot like any other.
        assert!(r.remove_series(f, slots[1]).unwrap());
        // Malformed batches are errors that name the fault; a bad record adds nothing (trailing
        // bytes are found after the last record, which stays added).
        let s = slots[2];
        for (ints, bytes, fault) in [
            (&[f, s, 1][..], &b"a"[..], "cut short"),
            (&[f, s, 1, 5][..], &b"ab"[..], "runs past"),
            (&[f, s, 1, 1][..], &b"\xffb"[..], "not UTF-8"),
            (&[f, s, 1, 2][..], "éb".as_bytes(), "character boundary"),
            (&[f, s, 1, 1][..], &b"abc"[..], "left over"),
        ] {
            let e = r.add_series_batch(ints, bytes).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidLabel);
            assert!(e.message.contains(fault), "{}", e.message);
        }
        let e = r.add_series_batch(&[99, s, 1, 1], b"ab").unwrap_err();
        assert!(e.message.contains("99"), "{}", e.message);
        assert_eq!(r.family(f).unwrap().live_series(), 2);
    }

    #[test]
    fn removing_a_slot_of_another_family_changes_nothing() {
        let mut r = Registry::new(64);
        let a = r
            .create_family(ROOT, &spec(MetricKind::Gauge, "a", &["k"]))
            .unwrap()
            .family;
        let b = r
            .create_family(ROOT, &spec(MetricKind::Gauge, "b", &["k"]))
            .unwrap()
            .family;
        let sa = r.create_series_ordered(a, &["x"]).unwrap();
        let sb = r.create_series_ordered(b, &["y"]).unwrap();
        // Both are series 0 of their family: `a`'s slot must not remove `b`'s series.
        assert!(!r.remove_series(b, sa).unwrap());
        assert_eq!(r.family(b).unwrap().live_series(), 1);
        assert!(r.remove_series(b, sb).unwrap());
        assert!(!r.remove_series(b, sb).unwrap());
        assert_eq!(r.family(b).unwrap().live_series(), 0);
    }
}
