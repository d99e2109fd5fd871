//! Prometheus text format 0.0.4 value and escaping helpers.
//!
//! These run once or more per exposed line (100k+ per scrape), so they append straight into the
//! caller's buffer and never allocate on their own.

use std::io::Write;

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
