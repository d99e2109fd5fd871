//! Dynamo's metric name, label name, help and bucket rules, kept in one place so the registry,
//! the hierarchy and the binding all agree on what is valid.

use crate::error::{ErrorKind, MetricsError};
use crate::Result;

/// Every component metric name starts with this prefix.
pub const COMPONENT_PREFIX: &str = "dynamo_component_";

/// Labels filled in from the hierarchy; users may not set them.
pub const RESERVED_LABELS: [&str; 3] = ["dynamo_namespace", "dynamo_component", "dynamo_endpoint"];

/// Histogram buckets used when the user gives none (the Prometheus client defaults).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The longest label name accepted, in bytes (label names are ASCII). Grafana Mimir and Cortex
/// refuse longer ones by default; Prometheus and client_golang set no maximum.
pub const MAX_LABEL_NAME_BYTES: usize = 1024;

/// The longest label value accepted, in UTF-8 bytes: Grafana Mimir's and Cortex's default, so
/// every series we export can be remote-written there unchanged.
pub const MAX_LABEL_VALUE_BYTES: usize = 2048;

/// At most this many characters of an over-long input are quoted in an error message.
const QUOTED_CHARS: usize = 40;

/// The start of `s` for a message, with its full length when it is cut.
fn quoted(s: &str) -> String {
    match s.char_indices().nth(QUOTED_CHARS) {
        Some((end, _)) => format!("{}... ({} bytes)", &s[..end], s.len()),
        None => s.to_string(),
    }
}

const NAME_RULE: &str = "names may use [a-zA-Z0-9_:] and must not be only underscores";
const LABEL_RULE: &str = "names may use [a-zA-Z0-9_] and must not be only underscores";

/// Replaces every char outside the allowed set with `_` (one `_` per char, not per byte).
fn map_chars(raw: &str, allow_colon: bool) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn only_underscores(s: &str) -> bool {
    s.bytes().all(|b| b == b'_')
}

/// The name rules without an error message, so each caller can name the input its own way.
fn sanitize_name_inner(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let mut s = map_chars(raw, true);
    // After mapping, the first char can only be a letter, `_`, a digit or `:`.
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    (!only_underscores(&s)).then_some(s)
}

/// The label rules without an error message.
fn sanitize_label_inner(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let mapped = map_chars(raw, false);
    // Prometheus reserves `__` for its own labels. Strip pairs until none is left, so that input
    // such as `____x` cannot keep a reserved prefix.
    let mut rest = mapped.as_str();
    while let Some(r) = rest.strip_prefix("__") {
        rest = r;
    }
    // A single leading `_` is already valid; prepending another would recreate `__`, so only an
    // empty result or a leading digit gets the `_`.
    let s = if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{rest}")
    } else {
        rest.to_owned()
    };
    (!only_underscores(&s)).then_some(s)
}

/// Turns arbitrary text into a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn sanitize_prometheus_name(raw: &str) -> Result<String> {
    sanitize_name_inner(raw).ok_or_else(|| {
        MetricsError::new(
            ErrorKind::InvalidName,
            format!("name '{raw}' is empty or has no valid characters ({NAME_RULE})"),
        )
    })
}

/// Turns arbitrary text into a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`, never `__…`).
pub fn sanitize_prometheus_label(raw: &str) -> Result<String> {
    sanitize_label_inner(raw).ok_or_else(|| {
        MetricsError::new(
            ErrorKind::InvalidName,
            format!("label '{raw}' is empty or has no valid characters ({LABEL_RULE})"),
        )
    })
}

/// The full name of a component metric: sanitized, with `dynamo_component_` prefixed once.
pub fn build_component_metric_name(name: &str) -> Result<String> {
    let s = sanitize_name_inner(name).ok_or_else(|| {
        MetricsError::new(
            ErrorKind::InvalidName,
            format!("metric name '{name}' is empty or has no valid characters ({NAME_RULE})"),
        )
    })?;
    if s.starts_with(COMPONENT_PREFIX) {
        Ok(s)
    } else {
        Ok(format!("{COMPONENT_PREFIX}{s}"))
    }
}

/// The label value for a hierarchy level (`namespace`, `component` or `endpoint`).
pub fn hierarchy_label_value(level: &str, raw: &str) -> Result<String> {
    sanitize_label_inner(raw).ok_or_else(|| {
        MetricsError::new(
            ErrorKind::InvalidName,
            format!("{level} name '{raw}' is empty or has no valid characters ({LABEL_RULE})"),
        )
    })
}

/// Checks a user-supplied label name as given; unlike hierarchy names it is never rewritten,
/// since silently renaming a user's label would be surprising.
pub fn validate_label_name(name: &str, context: &str) -> Result<()> {
    if name.len() > MAX_LABEL_NAME_BYTES {
        return Err(MetricsError::new(
            ErrorKind::InvalidLabel,
            format!(
                "{context} name '{}' is invalid: label names may be at most {MAX_LABEL_NAME_BYTES} bytes long",
                quoted(name)
            ),
        ));
    }
    let mut bytes = name.bytes();
    let valid = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(MetricsError::new(
            ErrorKind::InvalidLabel,
            format!(
                "{context} name '{name}' is invalid: label names must match [a-zA-Z_][a-zA-Z0-9_]*"
            ),
        ));
    }
    if name.starts_with("__") {
        return Err(MetricsError::new(
            ErrorKind::InvalidLabel,
            format!("{context} name '{name}' is invalid: names starting with '__' are reserved by Prometheus"),
        ));
    }
    Ok(())
}

/// Checks the length of a label value (a const label's or a series'); `label` is its name.
pub fn validate_label_value(metric: &str, label: &str, value: &str) -> Result<()> {
    if value.len() > MAX_LABEL_VALUE_BYTES {
        return Err(MetricsError::new(
            ErrorKind::InvalidLabel,
            format!(
                "value of label '{label}' of metric '{metric}' is {} bytes long: label values may be at most {MAX_LABEL_VALUE_BYTES} bytes of UTF-8 (got '{}')",
                value.len(),
                quoted(value)
            ),
        ));
    }
    Ok(())
}

fn check_user_label(name: &str, context: &str, is_histogram: bool) -> Result<()> {
    validate_label_name(name, context)?;
    if RESERVED_LABELS.contains(&name) {
        return Err(MetricsError::new(
            ErrorKind::InvalidLabel,
            format!("label '{name}' is added automatically from the hierarchy and cannot be set by the user"),
        ));
    }
    if is_histogram && name == "le" {
        return Err(MetricsError::new(
            ErrorKind::InvalidLabel,
            "label 'le' is not allowed on histograms; it holds the bucket bound",
        ));
    }
    Ok(())
}

/// Checks the const and variable label names of one metric together.
pub fn validate_user_labels(
    const_label_names: &[&str],
    variable_label_names: &[&str],
    is_histogram: bool,
) -> Result<()> {
    for name in const_label_names {
        check_user_label(name, "const label", is_histogram)?;
    }
    for name in variable_label_names {
        check_user_label(name, "variable label", is_histogram)?;
    }
    // Label sets are small (a handful of names), so a quadratic scan beats building a set.
    let all: Vec<&str> = const_label_names
        .iter()
        .chain(variable_label_names)
        .copied()
        .collect();
    for (i, name) in all.iter().enumerate() {
        if all[..i].contains(name) {
            return Err(MetricsError::new(
                ErrorKind::InvalidLabel,
                format!("duplicate label name '{name}'"),
            ));
        }
    }
    Ok(())
}

/// Help text is required: Prometheus tooling shows it and Dynamo always sets it.
pub fn validate_help(help: &str, metric: &str) -> Result<()> {
    if help.trim().is_empty() {
        return Err(MetricsError::new(
            ErrorKind::InvalidHelp,
            format!("help text of metric '{metric}' must not be empty"),
        ));
    }
    Ok(())
}

/// Spells a bound the way the exposition does (`+Inf`, `NaN`, `1`), so messages match the output.
fn bound_text(v: f64) -> String {
    let mut out = Vec::new();
    crate::encode::text::write_bound(&mut out, v);
    String::from_utf8(out).expect("formatted numbers are ASCII")
}

/// Returns the finite, strictly increasing upper bounds to use for a histogram.
pub fn validate_buckets(buckets: &[f64], metric: &str) -> Result<Vec<f64>> {
    // The `+Inf` bucket is always emitted; accept it spelled out once at the end, as many clients do.
    let bounds = match buckets.split_last() {
        Some((&last, rest)) if last == f64::INFINITY => rest,
        _ => buckets,
    };
    if bounds.is_empty() {
        return Err(MetricsError::new(
            ErrorKind::InvalidBuckets,
            format!("buckets of '{metric}' must not be empty (+Inf is implicit)"),
        ));
    }
    if let Some((i, &v)) = bounds.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(MetricsError::new(
            ErrorKind::InvalidBuckets,
            format!(
                "buckets of '{metric}' must be finite: {} at index {i} (only a single trailing +Inf is allowed)",
                bound_text(v)
            ),
        ));
    }
    if let Some(i) = (1..bounds.len()).find(|&i| bounds[i - 1] >= bounds[i]) {
        return Err(MetricsError::new(
            ErrorKind::InvalidBuckets,
            format!(
                "buckets of '{metric}' must be strictly increasing: {} >= {} at index {i}",
                bound_text(bounds[i - 1]),
                bound_text(bounds[i])
            ),
        ));
    }
    Ok(bounds.to_vec())
}

/// A NATS subject token from a hierarchy name: every char outside `[A-Za-z0-9_-]` becomes `_`
/// (one per char), because `.` separates tokens, `*` and `>` are wildcards and whitespace ends a
/// subject. The NATS subjects built from it are in `plane::subjects`.
pub fn nats_subject_token(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_err<T: std::fmt::Debug>(r: Result<T>, kind: ErrorKind, needles: &[&str]) {
        let e = r.expect_err("expected an error");
        assert_eq!(e.kind, kind, "{}", e.message);
        for n in needles {
            assert!(
                e.message.contains(n),
                "{:?} does not contain {n:?}",
                e.message
            );
        }
    }

    #[test]
    fn name_vectors() {
        let cases = [
            ("test name", "test_name"),
            ("test.name", "test_name"),
            ("test@name", "test_name"),
            ("test-name", "test_name"),
            ("test$name#123", "test_name_123"),
            ("test:name", "test:name"),
            ("test__name", "test__name"),
            ("__test", "__test"),
            ("123test", "_123test"),
            ("@test", "_test"),
            ("-test", "_test"),
            (".test", "_test"),
            ("123.test-name@domain", "_123_test_name_domain"),
            (":test", "_:test"),
            ("aé✓", "a__"), // one `_` per char, not per byte
        ];
        for (raw, want) in cases {
            assert_eq!(
                sanitize_prometheus_name(raw).unwrap(),
                want,
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn name_errors() {
        for raw in ["@#$%", "!!!!", "", "_", "___", "é"] {
            assert_err(
                sanitize_prometheus_name(raw),
                ErrorKind::InvalidName,
                &[&format!("'{raw}'"), "no valid characters"],
            );
        }
    }

    #[test]
    fn label_vectors() {
        let cases = [
            ("test:label", "test_label"),
            ("__test", "test"),
            (":test", "_test"),
            ("123:test-label@domain", "_123_test_label_domain"),
            ("test____label", "test____label"),
            ("test label", "test_label"),
            ("_test", "_test"),
            ("___test", "_test"),
            ("____test", "test"),
            ("__1abc", "_1abc"),
            ("Test", "Test"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                sanitize_prometheus_label(raw).unwrap(),
                want,
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn label_errors() {
        for raw in ["____", "", "_", "__", ":::", "@#$%"] {
            assert_err(
                sanitize_prometheus_label(raw),
                ErrorKind::InvalidName,
                &[&format!("'{raw}'"), "no valid characters"],
            );
        }
    }

    #[test]
    fn component_metric_names() {
        let cases = [
            ("test metric", "dynamo_component_test_metric"),
            ("123metric", "dynamo_component__123metric"),
            ("dynamo_component_x", "dynamo_component_x"),
            ("requests_total", "dynamo_component_requests_total"),
            ("dynamo component x", "dynamo_component_x"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                build_component_metric_name(raw).unwrap(),
                want,
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn component_metric_name_errors() {
        let e = build_component_metric_name("@#$%").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidName);
        assert_eq!(
            e.message,
            "metric name '@#$%' is empty or has no valid characters \
             (names may use [a-zA-Z0-9_:] and must not be only underscores)"
        );
        assert_err(
            build_component_metric_name(""),
            ErrorKind::InvalidName,
            &["metric name ''"],
        );
    }

    #[test]
    fn hierarchy_values() {
        assert_eq!(
            hierarchy_label_value("namespace", "dynamo").unwrap(),
            "dynamo"
        );
        assert_eq!(
            hierarchy_label_value("component", "my-backend").unwrap(),
            "my_backend"
        );
        assert_eq!(
            hierarchy_label_value("endpoint", "__generate").unwrap(),
            "generate"
        );
        assert_eq!(hierarchy_label_value("endpoint", "1gen").unwrap(), "_1gen");
        assert_err(
            hierarchy_label_value("endpoint", ""),
            ErrorKind::InvalidName,
            &["endpoint name '' is empty or has no valid characters"],
        );
        assert_err(
            hierarchy_label_value("namespace", "@@"),
            ErrorKind::InvalidName,
            &["namespace name '@@' is empty or has no valid characters"],
        );
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_a", "model", "Model_1", "_", "le"] {
            validate_label_name(ok, "const label").unwrap();
        }
        for bad in ["", "1a", "a-b", "a:b", "a b", "é", "a\n"] {
            assert_err(
                validate_label_name(bad, "variable label"),
                ErrorKind::InvalidLabel,
                &[
                    &format!("variable label name '{bad}'"),
                    "[a-zA-Z_][a-zA-Z0-9_]*",
                ],
            );
        }
        for reserved in ["__name__", "__x", "___"] {
            assert_err(
                validate_label_name(reserved, "const label"),
                ErrorKind::InvalidLabel,
                &[
                    &format!("const label name '{reserved}'"),
                    "reserved by Prometheus",
                ],
            );
        }
    }

    #[test]
    fn label_lengths() {
        let longest = "a".repeat(MAX_LABEL_NAME_BYTES);
        validate_label_name(&longest, "variable label").unwrap();
        let e = validate_label_name(&format!("{longest}a"), "variable label").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidLabel);
        assert!(e.message.contains("at most 1024 bytes"), "{}", e.message);
        assert!(e.message.contains("(1025 bytes)"), "{}", e.message);
        // A megabyte name is named by its start, not quoted whole.
        let huge = validate_label_name(&"b".repeat(1 << 20), "const label").unwrap_err();
        assert!(huge.message.len() < 200, "{}", huge.message.len());

        validate_label_value("m", "model", &"v".repeat(MAX_LABEL_VALUE_BYTES)).unwrap();
        // Counted in UTF-8 bytes: 683 three-byte chars are 2049 bytes.
        assert_err(
            validate_label_value("m", "model", &"✓".repeat(683)),
            ErrorKind::InvalidLabel,
            &[
                "label 'model'",
                "metric 'm'",
                "2049 bytes",
                "at most 2048 bytes",
            ],
        );
        validate_label_value("m", "model", &"✓".repeat(682)).unwrap();
    }

    #[test]
    fn user_labels_ok() {
        validate_user_labels(&[], &[], true).unwrap();
        validate_user_labels(&["model", "region"], &["status", "method"], true).unwrap();
        validate_user_labels(&["le"], &[], false).unwrap();
        validate_user_labels(&[], &["le"], false).unwrap();
    }

    #[test]
    fn user_labels_errors() {
        assert_err(
            validate_user_labels(&["1bad"], &[], false),
            ErrorKind::InvalidLabel,
            &["const label name '1bad'"],
        );
        assert_err(
            validate_user_labels(&[], &["__bad"], false),
            ErrorKind::InvalidLabel,
            &["variable label name '__bad'"],
        );
        for reserved in RESERVED_LABELS {
            let want = format!(
                "label '{reserved}' is added automatically from the hierarchy and cannot be set by the user"
            );
            assert_err(
                validate_user_labels(&[reserved], &[], false),
                ErrorKind::InvalidLabel,
                &[&want],
            );
            assert_err(
                validate_user_labels(&[], &[reserved], true),
                ErrorKind::InvalidLabel,
                &[&want],
            );
        }
        let le = "label 'le' is not allowed on histograms; it holds the bucket bound";
        assert_err(
            validate_user_labels(&["le"], &[], true),
            ErrorKind::InvalidLabel,
            &[le],
        );
        assert_err(
            validate_user_labels(&["a"], &["le"], true),
            ErrorKind::InvalidLabel,
            &[le],
        );
        assert_err(
            validate_user_labels(&["x", "x"], &[], false),
            ErrorKind::InvalidLabel,
            &["duplicate label name 'x'"],
        );
        assert_err(
            validate_user_labels(&[], &["a", "y", "y"], false),
            ErrorKind::InvalidLabel,
            &["duplicate label name 'y'"],
        );
        assert_err(
            validate_user_labels(&["a", "z"], &["z"], false),
            ErrorKind::InvalidLabel,
            &["duplicate label name 'z'"],
        );
    }

    #[test]
    fn help_text() {
        validate_help("Total requests", "requests_total").unwrap();
        validate_help(" x ", "m").unwrap();
        for empty in ["", "   ", "\n\t"] {
            let e = validate_help(empty, "requests_total").unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidHelp);
            assert_eq!(
                e.message,
                "help text of metric 'requests_total' must not be empty"
            );
        }
    }

    #[test]
    fn buckets_ok() {
        assert_eq!(
            validate_buckets(&DEFAULT_BUCKETS, "m").unwrap(),
            DEFAULT_BUCKETS.to_vec()
        );
        assert_eq!(validate_buckets(&[1.0], "m").unwrap(), vec![1.0]);
        assert_eq!(
            validate_buckets(&[-1.0, 0.0, 1.0], "m").unwrap(),
            vec![-1.0, 0.0, 1.0]
        );
        assert_eq!(
            validate_buckets(&[0.5, 1.0, f64::INFINITY], "m").unwrap(),
            vec![0.5, 1.0]
        );
    }

    #[test]
    fn buckets_errors() {
        for empty in [&[][..], &[f64::INFINITY][..]] {
            assert_err(
                validate_buckets(empty, "lat"),
                ErrorKind::InvalidBuckets,
                &["buckets of 'lat' must not be empty"],
            );
        }
        assert_err(
            validate_buckets(&[0.1, f64::NAN, 1.0], "lat"),
            ErrorKind::InvalidBuckets,
            &["'lat'", "must be finite", "NaN at index 1"],
        );
        assert_err(
            validate_buckets(&[f64::NEG_INFINITY, 1.0], "lat"),
            ErrorKind::InvalidBuckets,
            &["'lat'", "-Inf at index 0"],
        );
        // Only one trailing +Inf is dropped; a second one is an error.
        assert_err(
            validate_buckets(&[1.0, f64::INFINITY, f64::INFINITY], "lat"),
            ErrorKind::InvalidBuckets,
            &["'lat'", "+Inf at index 1"],
        );
        assert_err(
            validate_buckets(&[f64::INFINITY, 1.0], "lat"),
            ErrorKind::InvalidBuckets,
            &["+Inf at index 0"],
        );
        assert_err(
            validate_buckets(&[0.1, 0.25, 0.5, 0.5, 1.0], "x"),
            ErrorKind::InvalidBuckets,
            &["buckets of 'x' must be strictly increasing: 0.5 >= 0.5 at index 3"],
        );
        assert_err(
            validate_buckets(&[2.0, 1.0], "x"),
            ErrorKind::InvalidBuckets,
            &["must be strictly increasing: 2 >= 1 at index 1"],
        );
    }
}
