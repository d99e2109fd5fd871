//! One metric family at one hierarchy level: its description, its slot layout and its series.
//! A series is its first slot plus a record of its variable label values, escaped once at
//! creation for the text formats (see [`crate::encode::text`]).

use super::chunked::{write_varint, ByteArena, Chunked};
use super::layout::SlotLayout;
use crate::encode::text::{self, FamilyText};
use crate::error::{ErrorKind, MetricsError, Result};

/// The five metric types of the Rust API Dynamo's metrics are written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// f64 counter.
    Counter,
    /// Integer counter.
    IntCounter,
    /// f64 gauge.
    Gauge,
    /// Integer gauge.
    IntGauge,
    /// Histogram with fixed buckets.
    Histogram,
}

impl MetricKind {
    /// The kind the binding names `counter`, `intcounter`, `gauge`, `intgauge` or `histogram`.
    pub fn parse(s: &str) -> Result<MetricKind> {
        Ok(match s {
            "counter" => MetricKind::Counter,
            "intcounter" => MetricKind::IntCounter,
            "gauge" => MetricKind::Gauge,
            "intgauge" => MetricKind::IntGauge,
            "histogram" => MetricKind::Histogram,
            other => {
                return Err(MetricsError::new(
                    ErrorKind::InvalidValue,
                    format!("unknown metric kind '{other}'"),
                ))
            }
        })
    }

    /// The name of the JS class, for messages.
    pub fn display(self) -> &'static str {
        match self {
            MetricKind::Counter => "Counter",
            MetricKind::IntCounter => "IntCounter",
            MetricKind::Gauge => "Gauge",
            MetricKind::IntGauge => "IntGauge",
            MetricKind::Histogram => "Histogram",
        }
    }
}

/// Where a series' value lives when it is not in the JS slabs: a Rust-side metric.
#[derive(Clone)]
pub enum NativeMetric {
    /// f64 counter.
    Counter(prometheus::Counter),
    /// Integer counter.
    IntCounter(prometheus::IntCounter),
    /// f64 gauge.
    Gauge(prometheus::Gauge),
    /// Integer gauge.
    IntGauge(prometheus::IntGauge),
}

impl NativeMetric {
    /// The current value.
    pub fn value(&self) -> f64 {
        match self {
            NativeMetric::Counter(c) => c.get(),
            NativeMetric::IntCounter(c) => c.get() as f64,
            NativeMetric::Gauge(g) => g.get(),
            NativeMetric::IntGauge(g) => g.get() as f64,
        }
    }
}

/// The slot of a removed series (and of a native one).
pub const NO_SLOT: u32 = u32::MAX;

/// One series of a family.
#[derive(Clone, Copy)]
pub struct Series {
    /// First slot in the slabs, or NO_SLOT once removed (or for native series).
    pub slot: u32,
    /// Offset of this series' record in the family's arena: each escaped variable label value,
    /// LEB128 length first.
    arena_off: u32,
}

/// A metric family at one level.
pub struct Family {
    /// The level that holds it.
    pub node: u32,
    /// Full exposition name.
    pub name: String,
    /// Help text as given.
    pub help: String,
    /// Its type.
    pub kind: MetricKind,
    /// Variable label names, in declaration order.
    pub label_names: Vec<String>,
    /// Auto plus user const labels, sorted by key.
    pub const_labels: Vec<(String, String)>,
    /// Histogram bounds (empty for other kinds).
    pub buckets: Vec<f64>,
    /// Where each series' values sit.
    pub layout: SlotLayout,
    /// Pre-rendered text pieces.
    pub text: FamilyText,
    series: Chunked<Series>,
    arena: ByteArena,
    /// Where a record is assembled before it goes to the arena (reused).
    record: Vec<u8>,
    live: usize,
    /// Series dropped by resets (a snapshot counts series born, see [`crate::encode::Snapshot`]).
    dropped: u64,
    natives: Vec<NativeMetric>,
}

impl Family {
    /// A family without series.
    pub fn new(
        node: u32,
        name: String,
        help: String,
        kind: MetricKind,
        label_names: Vec<String>,
        const_labels: Vec<(String, String)>,
        buckets: Vec<f64>,
    ) -> Family {
        let layout = SlotLayout::of(kind, !label_names.is_empty(), buckets.len());
        let text = FamilyText::new(&name, &const_labels, &label_names, &buckets);
        Family {
            node,
            name,
            help,
            kind,
            label_names,
            const_labels,
            buckets,
            layout,
            text,
            series: Chunked::new(),
            arena: ByteArena::default(),
            record: Vec::new(),
            live: 0,
            dropped: 0,
            natives: Vec::new(),
        }
    }

    /// Slots per series.
    pub fn width(&self) -> u32 {
        self.layout.width
    }

    /// Series not removed.
    pub fn live_series(&self) -> usize {
        self.live
    }

    /// Orders `pairs` by the declared label names; a missing or unknown key is an error.
    pub fn ordered_values<'a>(
        &self,
        pairs: &'a [(String, Option<String>)],
    ) -> Result<Vec<&'a str>> {
        let mut out: Vec<Option<&str>> = vec![None; self.label_names.len()];
        for (k, v) in pairs {
            let Some(i) = self.label_names.iter().position(|n| n == k) else {
                return Err(MetricsError::new(
                    ErrorKind::InvalidLabel,
                    format!(
                        "unknown label '{}' for metric '{}' (its labels are: {})",
                        k,
                        self.name,
                        self.label_names.join(", ")
                    ),
                ));
            };
            let Some(v) = v else {
                return Err(MetricsError::new(
                    ErrorKind::InvalidLabel,
                    format!(
                        "label '{}' of metric '{}' must be a string or a number",
                        k, self.name
                    ),
                ));
            };
            out[i] = Some(v.as_str());
        }
        out.iter()
            .enumerate()
            .map(|(i, v)| {
                v.ok_or_else(|| {
                    MetricsError::new(
                        ErrorKind::InvalidLabel,
                        format!(
                            "missing label '{}' for metric '{}' (its labels are: {})",
                            self.label_names[i],
                            self.name,
                            self.label_names.join(", ")
                        ),
                    )
                })
            })
            .collect()
    }

    /// Adds a series whose values start at `slot`; returns its index in the family.
    pub fn add_series(&mut self, slot: u32, values: &[&str]) -> u32 {
        self.record.clear();
        // In template (label-name) order, so rendering reads the record front to back.
        for i in self.text.record_order() {
            // One length byte is the common case; a longer prefix is spliced in when needed.
            let start = self.record.len();
            self.record.push(0);
            text::write_label_value(&mut self.record, values[i]);
            let len = self.record.len() - start - 1;
            if len < 0x80 {
                self.record[start] = len as u8;
            } else {
                let mut prefix = Vec::new();
                write_varint(&mut prefix, len);
                self.record.splice(start..start + 1, prefix);
            }
        }
        let arena_off = self.arena.add(&self.record);
        self.series.push(Series { slot, arena_off });
        self.live += 1;
        (self.series.len() - 1) as u32
    }

    /// Adds a series whose value is a Rust-side metric.
    pub fn add_native(&mut self, metric: NativeMetric, values: &[&str]) {
        self.add_series(NO_SLOT, values);
        self.natives.push(metric);
    }

    /// Removes series `index` if it still starts at `slot` (a stale slot changes nothing);
    /// returns whether it did, so the caller frees the slot.
    pub fn remove_series(&mut self, index: u32, slot: u32) -> bool {
        match self.series.get_mut(index as usize) {
            Some(s) if s.slot == slot && slot != NO_SLOT => {
                s.slot = NO_SLOT;
                self.live -= 1;
                true
            }
            _ => false,
        }
    }

    /// Removes every series; returns the freed first slots.
    pub fn clear(&mut self) -> Vec<u32> {
        let freed = self
            .series
            .iter()
            .filter(|s| s.slot != NO_SLOT)
            .map(|s| s.slot)
            .collect();
        self.dropped += self.series.len() as u64;
        self.series.clear();
        self.arena.clear();
        self.live = 0;
        freed
    }

    /// Number of series slots (live or removed): the end index of a walk over the series.
    pub fn series_len(&self) -> usize {
        self.series.len()
    }

    /// Series ever added (live, removed, or dropped by a reset): series `i` now is the
    /// `dropped() + i`-th born.
    pub fn born(&self) -> u64 {
        self.dropped + self.series.len() as u64
    }

    /// Series dropped by resets.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Series `i` (live or removed).
    pub fn series(&self, i: usize) -> Option<&Series> {
        self.series.get(i)
    }

    /// The Rust-side metric of series `i`, if it is one.
    pub fn native(&self, i: usize) -> Option<&NativeMetric> {
        self.natives.get(i)
    }

    /// The record of `s` up to the end of its arena chunk (records carry their lengths).
    pub fn record(&self, s: &Series) -> &[u8] {
        self.arena.from(s.arena_off)
    }
}
