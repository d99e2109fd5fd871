//! One metric family at one hierarchy level: its description, the pre-rendered label template and
//! its series. Label text is rendered and escaped once, when a series is created, never per scrape.

use super::chunked::{read_varint, write_varint, ByteArena, Chunked};
use crate::error::{ErrorKind, MetricsError, Result};
use crate::encode::text as format;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    IntCounter,
    Gauge,
    IntGauge,
    Histogram,
}

impl MetricKind {
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

    /// The `# TYPE` word.
    pub fn type_name(self) -> &'static str {
        match self {
            MetricKind::Counter | MetricKind::IntCounter => "counter",
            MetricKind::Gauge | MetricKind::IntGauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }

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

/// Where a series' value lives: a slot range in the JS slabs, or a Rust-side metric.
#[derive(Clone)]
pub enum NativeMetric {
    Counter(prometheus::Counter),
    IntCounter(prometheus::IntCounter),
    Gauge(prometheus::Gauge),
    IntGauge(prometheus::IntGauge),
}

impl NativeMetric {
    fn value(&self) -> f64 {
        match self {
            NativeMetric::Counter(c) => c.get(),
            NativeMetric::IntCounter(c) => c.get() as f64,
            NativeMetric::Gauge(g) => g.get(),
            NativeMetric::IntGauge(g) => g.get() as f64,
        }
    }
}

pub const NO_SLOT: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Series {
    /// First slot in the slabs, or NO_SLOT once removed (or for native series).
    slot: u32,
    /// Offset of this series' record in `arena`: each escaped variable label value, LEB128
    /// length first.
    arena_off: u32,
}

#[derive(Clone)]
enum Seg {
    Lit(Vec<u8>),
    Var(usize),
}

pub struct Family {
    pub node: u32,
    pub name: String,
    pub help: String,
    pub kind: MetricKind,
    pub label_names: Vec<String>,
    /// Auto plus user const labels, sorted by key.
    pub const_labels: Vec<(String, String)>,
    pub buckets: Vec<f64>,
    /// Slots per series: 1; 2 with the integer lane; buckets + `+Inf` + sum for histograms.
    pub width: u32,
    /// A label-less counter: slot 0 holds `incBy` amounts (f64), slot 1 is a u64 that `inc()`
    /// adds 1 to as two u32 halves. Repeated float adds to one slot wait on each other (~3 ns
    /// each on x64); integer adds don't (~1 ns). Vec series keep one slot: less memory, and
    /// their hot path spreads over many slots anyway.
    pub int_lane: bool,
    /// Each bucket line's text after `le="`: the bound, the closing quote and brace, a space.
    bound_text: Vec<Vec<u8>>,
    template: Vec<Seg>,
    /// A whole counter/gauge line up to its value: `name{labels} `, fewest pieces to copy.
    line: Vec<Seg>,
    series: Chunked<Series>,
    arena: ByteArena,
    /// Where a record is assembled before it goes to the arena (reused).
    record: Vec<u8>,
    live: usize,
    natives: Vec<NativeMetric>,
}

impl Family {
    pub fn new(
        node: u32,
        name: String,
        help: String,
        kind: MetricKind,
        label_names: Vec<String>,
        const_labels: Vec<(String, String)>,
        buckets: Vec<f64>,
    ) -> Family {
        let int_lane =
            matches!(kind, MetricKind::Counter | MetricKind::IntCounter) && label_names.is_empty();
        let width = if kind == MetricKind::Histogram {
            buckets.len() as u32 + 2
        } else if int_lane {
            2
        } else {
            1
        };
        let mut bound_text: Vec<Vec<u8>> = buckets
            .iter()
            .map(|&b| {
                let mut t = Vec::new();
                format::write_bound(&mut t, b);
                t.extend_from_slice(b"\"} ");
                t
            })
            .collect();
        bound_text.push(b"+Inf\"} ".to_vec());
        let template = build_template(&const_labels, &label_names);
        let line = line_template(&name, &template);
        Family {
            node,
            name,
            help,
            kind,
            label_names,
            const_labels,
            buckets,
            width,
            int_lane,
            bound_text,
            template,
            line,
            series: Chunked::new(),
            arena: ByteArena::default(),
            record: Vec::new(),
            live: 0,
            natives: Vec::new(),
        }
    }

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
        let order = self.template.iter().filter_map(|seg| match seg {
            Seg::Var(i) => Some(*i),
            Seg::Lit(_) => None,
        });
        for v in order.map(|i| values[i]) {
            // One length byte is the common case; a longer prefix is spliced in when needed.
            let start = self.record.len();
            self.record.push(0);
            format::write_label_value(&mut self.record, v);
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
        self.series.clear();
        self.arena.clear();
        self.live = 0;
        freed
    }

    /// Writes `segs` (the template or the line template) with the values of series `s`; the Var
    /// segments come in template order, the order of the series' record.
    fn write_segs(&self, segs: &[Seg], s: &Series, out: &mut Vec<u8>) {
        let mut rest = self.arena.from(s.arena_off);
        for seg in segs {
            match seg {
                Seg::Lit(b) => out.extend_from_slice(b),
                Seg::Var(_) => {
                    let (len, n) = read_varint(rest);
                    out.extend_from_slice(&rest[n..n + len]);
                    rest = &rest[n + len..];
                }
            }
        }
    }

    fn write_body(&self, s: &Series, out: &mut Vec<u8>) {
        self.write_segs(&self.template, s, out);
    }

    pub fn has_labels(&self) -> bool {
        !self.template.is_empty()
    }

    /// Writes live series from index `from` on until `out` reaches `limit` bytes; returns the
    /// index to continue from (`series_len()` when done). `values` is the slab snapshot.
    pub fn encode_series(
        &self,
        values: &[f64],
        from: usize,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> usize {
        let value_of = |slot: u32, off: u32| -> f64 {
            values.get((slot + off) as usize).copied().unwrap_or(0.0)
        };
        let mut i = from;
        let mut bucket = Vec::new();
        while i < self.series.len() && out.len() < limit {
            let Some(s) = self.series.get(i) else {
                break;
            };
            i += 1;
            if let Some(m) = self.natives.get(i - 1) {
                self.write_line(out, s, m.value());
                continue;
            }
            if s.slot == NO_SLOT {
                continue;
            }
            if self.int_lane {
                let lane = values.get(s.slot as usize + 1).map_or(0, |v| v.to_bits());
                self.write_line(out, s, value_of(s.slot, 0) + lane as f64);
                continue;
            }
            if self.kind != MetricKind::Histogram {
                self.write_line(out, s, value_of(s.slot, 0));
                continue;
            }
            // A histogram writes its labels on every bucket line: render them once per series.
            let n = self.buckets.len() as u32;
            bucket.clear();
            bucket.extend_from_slice(self.name.as_bytes());
            bucket.extend_from_slice(b"_bucket{");
            self.write_body(s, &mut bucket);
            let body_end = bucket.len();
            if self.has_labels() {
                bucket.push(b',');
            }
            bucket.extend_from_slice(b"le=\"");
            let mut cumulative = 0.0;
            for b in 0..=n {
                cumulative += value_of(s.slot, b);
                out.extend_from_slice(&bucket);
                out.extend_from_slice(&self.bound_text[b as usize]);
                format::write_value(out, cumulative);
                out.push(b'\n');
            }
            let body = &bucket[self.name.len() + 8..body_end];
            self.write_line_with(out, "_sum", body, value_of(s.slot, n + 1));
            self.write_line_with(out, "_count", body, cumulative);
        }
        i
    }

    /// Number of series slots (live or removed), the end index for [`Family::encode_series`].
    pub fn series_len(&self) -> usize {
        self.series.len()
    }

    fn write_line(&self, out: &mut Vec<u8>, s: &Series, v: f64) {
        self.write_segs(&self.line, s, out);
        format::write_value(out, v);
        out.push(b'\n');
    }

    /// A line whose label body is already rendered.
    fn write_line_with(&self, out: &mut Vec<u8>, suffix: &str, body: &[u8], v: f64) {
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        if !body.is_empty() {
            out.push(b'{');
            out.extend_from_slice(body);
            out.push(b'}');
        }
        out.push(b' ');
        format::write_value(out, v);
        out.push(b'\n');
    }
}

/// `name{` + template + `} ` (or `name ` without labels) with adjacent literals merged.
fn line_template(name: &str, template: &[Seg]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::with_capacity(template.len() + 2);
    let push_lit = |out: &mut Vec<Seg>, bytes: &[u8]| match out.last_mut() {
        Some(Seg::Lit(l)) => l.extend_from_slice(bytes),
        _ => out.push(Seg::Lit(bytes.to_vec())),
    };
    push_lit(&mut out, name.as_bytes());
    if template.is_empty() {
        push_lit(&mut out, b" ");
        return out;
    }
    push_lit(&mut out, b"{");
    for seg in template {
        match seg {
            Seg::Lit(b) => push_lit(&mut out, b),
            Seg::Var(i) => out.push(Seg::Var(*i)),
        }
    }
    push_lit(&mut out, b"} ");
    out
}

/// Merges const and variable labels into one sorted template of literal text and value holes.
fn build_template(const_labels: &[(String, String)], label_names: &[String]) -> Vec<Seg> {
    enum L<'a> {
        Const(&'a str, &'a str),
        Var(&'a str, usize),
    }
    let mut all: Vec<L> = const_labels
        .iter()
        .map(|(k, v)| L::Const(k, v))
        .chain(label_names.iter().enumerate().map(|(i, k)| L::Var(k, i)))
        .collect();
    all.sort_by(|a, b| {
        let key = |l: &L| match l {
            L::Const(k, _) | L::Var(k, _) => k.to_string(),
        };
        key(a).cmp(&key(b))
    });
    let mut segs: Vec<Seg> = Vec::new();
    let mut lit = Vec::new();
    for (i, l) in all.iter().enumerate() {
        if i > 0 {
            lit.push(b',');
        }
        match l {
            L::Const(k, v) => {
                lit.extend_from_slice(k.as_bytes());
                lit.extend_from_slice(b"=\"");
                format::write_label_value(&mut lit, v);
                lit.push(b'"');
            }
            L::Var(k, idx) => {
                lit.extend_from_slice(k.as_bytes());
                lit.extend_from_slice(b"=\"");
                segs.push(Seg::Lit(std::mem::take(&mut lit)));
                segs.push(Seg::Var(*idx));
                lit.push(b'"');
            }
        }
    }
    if !lit.is_empty() {
        segs.push(Seg::Lit(lit));
    }
    segs
}
