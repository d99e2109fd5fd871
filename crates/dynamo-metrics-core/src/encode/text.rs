//! The Prometheus text exposition, format 0.0.4: family headers, sample lines, histogram
//! expansion, value spelling and escaping, in one place. A second format (OpenMetrics, protobuf)
//! is a sibling module that walks the same [`EncodePlan`] with its own [`Cursor`].
//!
//! Label text is rendered and escaped once, when a series is created (see [`FamilyText`] and the
//! series records of [`Family`]), never per scrape. The value helpers run once or more per
//! exposed line (100k+ per scrape), so they append straight into the caller's buffer and never
//! allocate on their own.

use std::io::Write as _;

use super::{Cursor, EncodePlan, Snapshot};
use crate::series::{Family, MetricKind, Registry, Series};

/// Renders `root` and its descendants: families merged by name and sorted, empty ones left out;
/// only the series `snap` covers (see [`Snapshot`]).
pub fn encode(
    registry: &Registry,
    root: crate::hierarchy::NodeId,
    snap: &Snapshot,
    out: &mut Vec<u8>,
) {
    let plan = super::plan(registry, root);
    encode_some(
        registry,
        &plan,
        snap,
        &mut Cursor::default(),
        out,
        usize::MAX,
    );
}

/// Continues rendering `plan` at `cur` until `out` holds about `limit` bytes; returns true
/// when everything is written. Between calls the table may change: families only grow, a
/// removed series is skipped, and a series born after `snap` is left for the next scrape (its
/// slot may hold another series' value in `snap`), so a resumed render stays valid and true.
pub fn encode_some(
    registry: &Registry,
    plan: &EncodePlan,
    snap: &Snapshot,
    cur: &mut Cursor,
    out: &mut Vec<u8>,
    limit: usize,
) -> bool {
    let families = registry.families();
    while let Some(group) = plan.groups.get(cur.group) {
        if !cur.header_done {
            let Some(first) = group
                .iter()
                .map(|&f| (f, &families[f as usize]))
                .find(|&(id, f)| f.live_series() > 0 && snap.series_end(id, f) > 0)
                .map(|(_, f)| f)
            else {
                cur.group += 1;
                continue;
            };
            write_header(out, first);
            cur.header_done = true;
        }
        while let Some(&f) = group.get(cur.family) {
            let fam = &families[f as usize];
            let end = snap.series_end(f, fam);
            cur.series = encode_series(fam, &snap.values, cur.series, end, out, limit);
            if cur.series < end {
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

/// `# HELP` and `# TYPE` of a family name (once per name, however many levels hold it).
fn write_header(out: &mut Vec<u8>, f: &Family) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(f.name.as_bytes());
    out.push(b' ');
    write_help(out, &f.help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(f.name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(type_name(f.kind).as_bytes());
    out.push(b'\n');
}

/// The `# TYPE` word of a kind.
pub fn type_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter | MetricKind::IntCounter => "counter",
        MetricKind::Gauge | MetricKind::IntGauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

/// The sample names a family of `kind` named `name` writes in this format, and the ones the
/// OpenMetrics sibling will (`_created`): no other family may take any of them.
pub fn sample_names(kind: MetricKind, name: &str) -> Vec<String> {
    match kind {
        MetricKind::Histogram => ["", "_bucket", "_sum", "_count", "_created"]
            .iter()
            .map(|s| format!("{name}{s}"))
            .collect(),
        MetricKind::Counter | MetricKind::IntCounter => {
            let mut v = vec![name.to_string()];
            if let Some(base) = name.strip_suffix("_total") {
                v.push(format!("{base}_created"));
            }
            v
        }
        MetricKind::Gauge | MetricKind::IntGauge => vec![name.to_string()],
    }
}

/// Writes live series of `f` from index `from` up to `end` until `out` reaches `limit` bytes;
/// returns the index to continue from (`end` when done). `values` is the slab snapshot.
fn encode_series(
    f: &Family,
    values: &[f64],
    from: usize,
    end: usize,
    out: &mut Vec<u8>,
    limit: usize,
) -> usize {
    let value_of =
        |slot: u32, off: u32| -> f64 { values.get((slot + off) as usize).copied().unwrap_or(0.0) };
    let layout = f.layout;
    let mut i = from;
    let mut bucket = Vec::new();
    while i < end && out.len() < limit {
        let Some(s) = f.series(i) else {
            break;
        };
        i += 1;
        if let Some(m) = f.native(i - 1) {
            write_line(f, out, s, m.value());
            continue;
        }
        if s.slot == crate::series::NO_SLOT {
            continue;
        }
        if let Some(lane) = layout.int_lane {
            let lane = values
                .get((s.slot + lane) as usize)
                .map_or(0, |v| v.to_bits());
            write_line(f, out, s, value_of(s.slot, 0) + lane as f64);
            continue;
        }
        let (Some(first), Some(sum)) = (layout.buckets, layout.sum) else {
            write_line(f, out, s, value_of(s.slot, 0));
            continue;
        };
        // A histogram writes its labels on every bucket line: render them once per series.
        let n = f.buckets.len() as u32;
        bucket.clear();
        bucket.extend_from_slice(f.name.as_bytes());
        bucket.extend_from_slice(b"_bucket{");
        f.text.write_segs(&f.text.template, f, s, &mut bucket);
        let body_end = bucket.len();
        if f.text.has_labels() {
            bucket.push(b',');
        }
        bucket.extend_from_slice(b"le=\"");
        let mut cumulative = 0.0;
        for b in 0..=n {
            cumulative += value_of(s.slot, first + b);
            out.extend_from_slice(&bucket);
            out.extend_from_slice(&f.text.bound_text[b as usize]);
            write_value(out, cumulative);
            out.push(b'\n');
        }
        let body = &bucket[f.name.len() + 8..body_end];
        write_line_with(f, out, "_sum", body, value_of(s.slot, sum));
        write_line_with(f, out, "_count", body, cumulative);
    }
    i
}

fn write_line(f: &Family, out: &mut Vec<u8>, s: &Series, v: f64) {
    f.text.write_segs(&f.text.line, f, s, out);
    write_value(out, v);
    out.push(b'\n');
}

/// A line whose label body is already rendered.
fn write_line_with(f: &Family, out: &mut Vec<u8>, suffix: &str, body: &[u8], v: f64) {
    out.extend_from_slice(f.name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    if !body.is_empty() {
        out.push(b'{');
        out.extend_from_slice(body);
        out.push(b'}');
    }
    out.push(b' ');
    write_value(out, v);
    out.push(b'\n');
}

/// A piece of a family's pre-rendered label text: literal bytes, or the value of a variable
/// label (its index in the declared label names).
#[derive(Clone)]
pub(crate) enum Seg {
    Lit(Vec<u8>),
    Var(usize),
}

/// A family's text pieces, rendered once when it is created.
pub struct FamilyText {
    /// Each bucket line's text after `le="`: the bound, the closing quote and brace, a space.
    bound_text: Vec<Vec<u8>>,
    /// Const and variable labels merged and sorted: literal text and value holes.
    template: Vec<Seg>,
    /// A whole counter/gauge line up to its value: `name{labels} `, fewest pieces to copy.
    line: Vec<Seg>,
}

impl FamilyText {
    /// The text pieces of family `name`.
    pub fn new(
        name: &str,
        const_labels: &[(String, String)],
        label_names: &[String],
        buckets: &[f64],
    ) -> FamilyText {
        let mut bound_text: Vec<Vec<u8>> = buckets
            .iter()
            .map(|&b| {
                let mut t = Vec::new();
                write_bound(&mut t, b);
                t.extend_from_slice(b"\"} ");
                t
            })
            .collect();
        bound_text.push(b"+Inf\"} ".to_vec());
        let template = build_template(const_labels, label_names);
        let line = line_template(name, &template);
        FamilyText {
            bound_text,
            template,
            line,
        }
    }

    /// Whether a sample line has a label body.
    pub fn has_labels(&self) -> bool {
        !self.template.is_empty()
    }

    /// The variable labels in the order a series record stores them (template order).
    pub fn record_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.template.iter().filter_map(|seg| match seg {
            Seg::Var(i) => Some(*i),
            Seg::Lit(_) => None,
        })
    }

    /// Writes `segs` (the template or the line) with the values of series `s`; the Var segments
    /// come in template order, the order of the series' record.
    fn write_segs(&self, segs: &[Seg], f: &Family, s: &Series, out: &mut Vec<u8>) {
        let mut rest = f.record(s);
        for seg in segs {
            match seg {
                Seg::Lit(b) => out.extend_from_slice(b),
                Seg::Var(_) => {
                    let (len, n) = crate::series::chunked::read_varint(rest);
                    out.extend_from_slice(&rest[n..n + len]);
                    rest = &rest[n + len..];
                }
            }
        }
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
                write_label_value(&mut lit, v);
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

/// 2^63 as f64: below it an integer-valued f64 fits an i64 exactly, so `itoa` can print it.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// Appends a sample value: `+Inf`, `-Inf`, `NaN`; integer values without a decimal point or
/// exponent (`-0.0` prints `0`); anything else as the shortest text that parses back to `v`.
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    // Most values are counts: non-negative integers below 2^53, where the round trip through u64
    // is exact. Checking that first skips `fract()`, a libm call on baseline x86-64.
    let u = v as u64;
    if u as f64 == v && v < 9_007_199_254_740_992.0 {
        // `-0.0` lands here too (0 == -0.0) and prints `0`, the spelling we want.
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(u).as_bytes());
        return;
    }
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 {
        if v.abs() < I64_LIMIT {
            // The cast is exact here; -0.0 becomes 0, which is the spelling we want.
            let mut buf = itoa::Buffer::new();
            out.extend_from_slice(buf.format(v as i64).as_bytes());
        } else {
            // Rare: huge integers. `{:.0}` prints the exact decimal digits with no exponent, and
            // writing into a Vec cannot fail.
            let _ = write!(out, "{v:.0}");
        }
    } else {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    }
}

/// Appends an `le` bucket bound; it must read exactly like a sample value so that the same bound
/// always yields the same label text.
#[inline]
pub fn write_bound(out: &mut Vec<u8>, b: f64) {
    write_value(out, b);
}

/// Appends a label value escaped for use inside double quotes: `\` → `\\`, `"` → `\"`,
/// newline → `\n`.
pub fn write_label_value(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s.as_bytes(), true);
}

/// Appends HELP text escaped: `\` → `\\`, newline → `\n` (quotes stay as they are in HELP).
pub fn write_help(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s.as_bytes(), false);
}

fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], escape_quote: bool) {
    let needs_escape = |b: u8| b == b'\\' || b == b'\n' || (escape_quote && b == b'"');
    // Fast path: most values need no escaping, so copy them in one go.
    let Some(first) = bytes.iter().position(|&b| needs_escape(b)) else {
        out.extend_from_slice(bytes);
        return;
    };
    out.reserve(bytes.len() + 2);
    // Copy the unescaped runs between special bytes in chunks rather than byte by byte.
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if escape_quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: f64) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn bound(v: f64) -> String {
        let mut out = Vec::new();
        write_bound(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn label(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_label_value(&mut out, s);
        out
    }

    fn help(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_help(&mut out, s);
        out
    }

    #[test]
    fn special_values() {
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(-f64::NAN), "NaN");
    }

    #[test]
    fn integers_have_no_point_or_exponent() {
        assert_eq!(value(0.0), "0");
        assert_eq!(value(-0.0), "0");
        assert_eq!(value(1.0), "1");
        assert_eq!(value(-1.0), "-1");
        assert_eq!(value(42.0), "42");
        assert_eq!(value(1e15), "1000000000000000");
        assert_eq!(value(1e16), "10000000000000000");
        assert_eq!(value(9007199254740993.0), "9007199254740992");
        // Either side of 2^53, where the u64 fast path stops.
        assert_eq!(value(9007199254740991.0), "9007199254740991");
        assert_eq!(value(9007199254740994.0), "9007199254740994");
        assert_eq!(value(18446744073709551616.0), "18446744073709551616");
        assert_eq!(value(-9_223_372_036_854_774_784.0), "-9223372036854774784");
        // The i64 boundary itself takes the slow path and must still be exact.
        assert_eq!(value(9_223_372_036_854_775_808.0), "9223372036854775808");
        assert_eq!(value(-9_223_372_036_854_775_808.0), "-9223372036854775808");
        assert_eq!(value(1e21), "1000000000000000000000");
        assert_eq!(value(-1e21), "-1000000000000000000000");
        // 2^70: exact digits, not shortest digits padded with zeros.
        assert_eq!(value(2f64.powi(70)), "1180591620717411303424");
        let max = value(f64::MAX);
        assert_eq!(max.len(), 309);
        assert!(max.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(max.parse::<f64>().unwrap(), f64::MAX);
    }

    #[test]
    fn fractions_are_shortest_round_trip() {
        assert_eq!(value(0.5), "0.5");
        assert_eq!(value(-0.5), "-0.5");
        assert_eq!(value(123.456), "123.456");
        assert_eq!(value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(value(0.005), "0.005");
        assert_eq!(value(2.5), "2.5");
        #[allow(clippy::excessive_precision)]
        let v = 1.8226759879999999;
        // Not the same double as 1.822675988, so all 17 digits are needed to round-trip.
        assert_eq!(value(v), "1.8226759879999999");
        assert_eq!(value(v).parse::<f64>().unwrap(), v);
        assert_eq!(value(1.822675988), "1.822675988");
        // ryu uses exponents for very small values; Prometheus parses them fine.
        assert_eq!(value(1e-7), "1e-7");
        assert_eq!(value(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(value(5e-324), "5e-324");
    }

    /// xorshift64*: a tiny deterministic generator so the test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    fn assert_round_trip(v: f64) {
        let text = value(v);
        let back: f64 = text
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} for {v:e} does not parse: {e}"));
        if v == 0.0 {
            assert_eq!(back, 0.0, "{v:e} -> {text}");
        } else {
            assert_eq!(back.to_bits(), v.to_bits(), "{v:e} -> {text}");
        }
        if v.fract() == 0.0 {
            assert!(
                text.bytes().all(|b| b.is_ascii_digit() || b == b'-'),
                "integer {v:e} printed as {text}"
            );
        }
    }

    #[test]
    fn random_values_round_trip() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut checked = 0;
        while checked < 200_000 {
            // Arbitrary bit patterns cover every exponent range.
            let v = f64::from_bits(rng.next());
            if v.is_finite() {
                assert_round_trip(v);
                checked += 1;
            }
            // Typical metric magnitudes: latencies, counts, ratios.
            let unit = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            assert_round_trip(unit);
            assert_round_trip(unit * 1e6);
            assert_round_trip((unit * 1e9).round());
            assert_round_trip(-unit * 1e-3);
        }
    }

    #[test]
    fn bounds_read_like_values() {
        assert_eq!(bound(1.0), "1");
        assert_eq!(bound(0.005), "0.005");
        assert_eq!(bound(2.5), "2.5");
        assert_eq!(bound(10.0), "10");
        assert_eq!(bound(f64::INFINITY), "+Inf");
        assert_eq!(bound(-1.0), "-1");
    }

    #[test]
    fn label_values_escape_backslash_quote_newline() {
        assert_eq!(label(""), b"");
        assert_eq!(label("plain value"), b"plain value");
        assert_eq!(label("a\\b"), b"a\\\\b");
        assert_eq!(label("say \"hi\""), b"say \\\"hi\\\"");
        assert_eq!(label("line1\nline2"), b"line1\\nline2");
        assert_eq!(label("\\\"\n"), b"\\\\\\\"\\n");
        assert_eq!(label("\n"), b"\\n");
        assert_eq!(label("end\\"), b"end\\\\");
        // Other control characters and non-ASCII text pass through untouched.
        assert_eq!(label("tab\there"), b"tab\there");
        assert_eq!(label("héllo ✓"), "héllo ✓".as_bytes());
        assert_eq!(label("é\"✓"), "é\\\"✓".as_bytes());
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        assert_eq!(help(""), b"");
        assert_eq!(help("Total requests"), b"Total requests");
        assert_eq!(help("a\\b"), b"a\\\\b");
        assert_eq!(help("two\nlines"), b"two\\nlines");
        assert_eq!(help("say \"hi\""), b"say \"hi\"");
        assert_eq!(help("\"\\\n\""), b"\"\\\\\\n\"");
    }

    #[test]
    fn appends_without_clearing() {
        let mut out = b"x=".to_vec();
        write_value(&mut out, 1.5);
        out.push(b' ');
        write_label_value(&mut out, "a\"b");
        out.push(b' ');
        write_help(&mut out, "c\nd");
        assert_eq!(out, b"x=1.5 a\\\"b c\\nd");
    }
}
