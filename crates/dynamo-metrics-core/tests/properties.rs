//! Property tests of the name rules (`names`, NATS subjects) and the text encoder (escaping,
//! value spelling, whole renders parsed back). Generated inputs include every Unicode plane,
//! control characters and NUL; the case counts are bounded so the file runs in seconds
//! (`PROPTEST_CASES` raises them for a longer run).
use dynamo_metrics_core::encode::{text, Snapshot};
use dynamo_metrics_core::hierarchy::ROOT;
use dynamo_metrics_core::names;
use dynamo_metrics_core::plane::subjects;
use dynamo_metrics_core::series::{FamilySpec, MetricKind, Registry};
use dynamo_metrics_core::ErrorKind;
use proptest::prelude::*;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 2000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        // A failure is shrunk and printed; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text a caller may pass: mostly the characters the rules treat specially, some of anything.
fn text_input() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        'a',
        'Z',
        '0',
        '9',
        '_',
        ':',
        '-',
        '.',
        '*',
        '>',
        ' ',
        '\t',
        '\n',
        '\r',
        '\0',
        '"',
        '\\',
        'é',
        '✓',
        '\u{FFFD}',
        '\u{1F600}',
        '\u{7F}',
        '\u{2028}',
    ]);
    let ch = prop_oneof![3 => special, 1 => any::<char>()];
    prop::collection::vec(ch, 0..24).prop_map(|v| v.into_iter().collect())
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

fn is_label(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Undoes the label-value escaping of the text format (`\\`, `\"`, `\n`); None when the text
/// holds anything the format does not allow inside quotes.
fn unescape(s: &[u8], quotes: bool) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => {
                match s.get(i + 1)? {
                    b'\\' => out.push(b'\\'),
                    b'n' => out.push(b'\n'),
                    b'"' if quotes => out.push(b'"'),
                    _ => return None,
                }
                i += 2;
            }
            b'\n' => return None,
            b'"' if quotes => return None,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn render_value(v: f64) -> String {
    let mut out = Vec::new();
    text::write_value(&mut out, v);
    String::from_utf8(out).expect("values are ASCII")
}

/// Parses a value as Prometheus does (Go's ParseFloat plus the `+Inf`/`-Inf`/`NaN` spellings).
fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// One sample line: name, labels in order, value text.
type Sample = (String, Vec<(String, String)>, String);

/// A minimal reader of the text format's sample lines, strict about quoting and escapes.
fn parse_sample(line: &str) -> Option<Sample> {
    let b = line.as_bytes();
    let name_end = b.iter().position(|&c| c == b'{' || c == b' ')?;
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    let mut i = name_end;
    if b[i] == b'{' {
        i += 1;
        loop {
            let eq = i + b[i..].iter().position(|&c| c == b'=')?;
            let key = line[i..eq].to_string();
            if b.get(eq + 1) != Some(&b'"') {
                return None;
            }
            let start = eq + 2;
            let mut j = start;
            while b.get(j)? != &b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            labels.push((key, unescape(&b[start..j], true)?));
            i = j + 1;
            match b.get(i)? {
                b',' => i += 1,
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if b.get(i) != Some(&b' ') {
        return None;
    }
    Some((name, labels, line[i + 1..].to_string()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn metric_names_sanitize_to_valid_idempotent_names(raw in text_input()) {
        let has_valid = raw.chars().any(|c| c.is_ascii_alphanumeric() || c == ':');
        match names::sanitize_prometheus_name(&raw) {
            Ok(n) => {
                prop_assert!(has_valid, "{raw:?} -> {n:?}");
                prop_assert!(is_name(&n), "{raw:?} -> {n:?}");
                prop_assert!(!n.bytes().all(|c| c == b'_'));
                // One output char per input char, plus at most a leading `_`.
                let (inn, out) = (raw.chars().count(), n.chars().count());
                prop_assert!(out == inn || out == inn + 1, "{raw:?} -> {n:?}");
                prop_assert_eq!(names::sanitize_prometheus_name(&n).unwrap(), n.clone());
                let full = names::build_component_metric_name(&raw).unwrap();
                prop_assert!(is_name(&full) && full.starts_with(names::COMPONENT_PREFIX), "{full:?}");
                prop_assert_eq!(names::build_component_metric_name(&full).unwrap(), full);
            }
            Err(e) => {
                prop_assert!(!has_valid, "{raw:?}: {}", e.message);
                prop_assert_eq!(e.kind, ErrorKind::InvalidName);
                prop_assert!(e.message.contains(&format!("'{raw}'")), "{}", e.message);
                prop_assert!(names::build_component_metric_name(&raw).is_err());
            }
        }
    }

    #[test]
    fn label_names_sanitize_to_valid_unreserved_names(raw in text_input()) {
        let has_valid = raw.chars().any(|c| c.is_ascii_alphanumeric());
        let sanitized = names::sanitize_prometheus_label(&raw);
        let level = names::hierarchy_label_value("component", &raw);
        match sanitized {
            Ok(l) => {
                prop_assert!(has_valid, "{raw:?} -> {l:?}");
                prop_assert!(is_label(&l) && !l.starts_with("__"), "{raw:?} -> {l:?}");
                prop_assert!(names::validate_label_name(&l, "label").is_ok(), "{l:?}");
                prop_assert_eq!(names::sanitize_prometheus_label(&l).unwrap(), l.clone());
                prop_assert_eq!(level.unwrap(), l);
            }
            Err(e) => {
                prop_assert!(!has_valid, "{raw:?}: {}", e.message);
                prop_assert_eq!(e.kind, ErrorKind::InvalidName);
                let e = level.unwrap_err();
                let quoted = format!("'{raw}'");
                prop_assert!(e.message.contains("component name") && e.message.contains(&quoted), "{}", e.message);
            }
        }
    }

    #[test]
    fn user_label_names_are_checked_as_given(raw in text_input()) {
        let ok = is_label(&raw) && !raw.starts_with("__");
        match names::validate_label_name(&raw, "variable label") {
            Ok(()) => prop_assert!(ok, "{raw:?} accepted"),
            Err(e) => {
                prop_assert!(!ok, "{raw:?} refused: {}", e.message);
                prop_assert_eq!(e.kind, ErrorKind::InvalidLabel);
                prop_assert!(e.message.contains(&format!("variable label name '{raw}'")), "{}", e.message);
            }
        }
    }

    #[test]
    fn nats_subject_tokens_cannot_split_or_wildcard(raw in text_input(), other in text_input()) {
        let t = names::nats_subject_token(&raw);
        prop_assert_eq!(t.chars().count(), raw.chars().count());
        prop_assert!(t.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{t:?}");
        prop_assert_eq!(names::nats_subject_token(&t), t.clone());
        // Whatever the names, a service is one token and an endpoint subject two.
        let service = subjects::service_name(&raw, &other);
        prop_assert!(!service.contains(['.', '*', '>', ' ']));
        let subject = subjects::endpoint_subject(&service, &raw, "00ff");
        prop_assert_eq!(subject.split('.').count(), 2, "{}", subject);
        let header = subjects::one_line(&raw);
        prop_assert!(!header.contains(['\r', '\n']));
    }

    #[test]
    fn help_must_have_text(raw in text_input()) {
        match names::validate_help(&raw, "m") {
            Ok(()) => prop_assert!(!raw.trim().is_empty()),
            Err(e) => {
                prop_assert!(raw.trim().is_empty(), "{raw:?}");
                prop_assert_eq!(e.kind, ErrorKind::InvalidHelp);
            }
        }
    }

    #[test]
    fn buckets_are_accepted_only_finite_and_increasing(
        raw in prop::collection::vec(prop_oneof![
            4 => -1e6f64..1e6,
            1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, f64::MAX, f64::MIN_POSITIVE]),
        ], 0..12)
    ) {
        match names::validate_buckets(&raw, "h") {
            Ok(b) => {
                prop_assert!(!b.is_empty());
                prop_assert!(b.iter().all(|v| v.is_finite()));
                prop_assert!(b.windows(2).all(|w| w[0] < w[1]), "{b:?}");
                // Only a single trailing +Inf is dropped.
                prop_assert!(b.len() == raw.len() || (b.len() + 1 == raw.len() && raw[b.len()] == f64::INFINITY));
            }
            Err(e) => prop_assert_eq!(e.kind, ErrorKind::InvalidBuckets),
        }
    }

    #[test]
    fn label_values_and_help_escape_and_parse_back(raw in text_input()) {
        let mut label = Vec::new();
        text::write_label_value(&mut label, &raw);
        prop_assert_eq!(unescape(&label, true), Some(raw.clone()), "{:?}", String::from_utf8_lossy(&label));
        let mut help = Vec::new();
        text::write_help(&mut help, &raw);
        prop_assert!(!help.contains(&b'\n'));
        prop_assert_eq!(unescape(&help, false), Some(raw.clone()));
    }

    #[test]
    fn values_parse_back_to_the_same_double(bits in any::<u64>(), small in -1e7f64..1e7, int in any::<i64>()) {
        for v in [f64::from_bits(bits), small, int as f64, small.round(), -small * 1e-9] {
            let t = render_value(v);
            let back = parse_value(&t).unwrap_or_else(|| panic!("{t:?} does not parse"));
            if v.is_nan() {
                prop_assert!(back.is_nan(), "{v} -> {t}");
            } else if v == 0.0 {
                prop_assert_eq!(t, "0");
            } else {
                prop_assert_eq!(back.to_bits(), v.to_bits(), "{} -> {}", v, t);
            }
        }
    }
}

proptest! {
    // Whole renders build a registry per case: fewer cases, still under a second.
    #![proptest_config(ProptestConfig { cases: config().cases / 10, ..config() })]

    #[test]
    fn rendered_series_parse_back_to_their_labels_help_and_values(
        help in text_input(),
        const_value in text_input(),
        series in prop::collection::vec((text_input(), text_input(), any::<u64>()), 1..8),
    ) {
        let help = if help.trim().is_empty() { format!("h{help}") } else { help };
        let mut r = Registry::new(64);
        let spec = FamilySpec {
            kind: MetricKind::Gauge,
            vec: true,
            name: "g".into(),
            help: help.clone(),
            label_names: vec!["b".into(), "a".into()],
            const_labels: vec![("c".into(), const_value.clone())],
            buckets: None,
        };
        let f = r.create_family(ROOT, &spec).unwrap().family;
        let mut want = std::collections::HashMap::new();
        let mut values = vec![0.0; 0];
        for (a, b, bits) in &series {
            // The JS side keeps label sets unique (the table does not look): skip repeats.
            if want.contains_key(&(a.clone(), b.clone())) {
                continue;
            }
            // Declared order is (b, a): the render sorts them.
            let slot = r.create_series_ordered(f, &[b.as_str(), a.as_str()]).unwrap();
            let v = f64::from_bits(*bits);
            values.resize(values.len().max(slot as usize + 1), 0.0);
            values[slot as usize] = v;
            want.insert((a.clone(), b.clone()), v);
        }
        let mut out = Vec::new();
        text::encode(&r, ROOT, &Snapshot::new(&r, values), &mut out);
        let out = String::from_utf8(out).expect("the render is UTF-8");
        // Lines end at '\n' only (`str::lines` would also take a '\r' before it, which HELP keeps).
        let mut lines = out.strip_suffix('\n').unwrap_or(&out).split('\n');
        let head = lines.next().unwrap();
        prop_assert_eq!(unescape(head.strip_prefix("# HELP dynamo_component_g ").unwrap().as_bytes(), false), Some(help));
        prop_assert_eq!(lines.next(), Some("# TYPE dynamo_component_g gauge"));
        let mut seen = 0;
        for line in lines {
            let (name, labels, value) = parse_sample(line).unwrap_or_else(|| panic!("unparsable line {line:?}"));
            prop_assert_eq!(name, "dynamo_component_g");
            let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
            prop_assert_eq!(keys, vec!["a", "b", "c"]);
            prop_assert_eq!(&labels[2].1, &const_value);
            let v = want.remove(&(labels[0].1.clone(), labels[1].1.clone()));
            let v = v.unwrap_or_else(|| panic!("unexpected or repeated series {line:?}"));
            let back = parse_value(&value).unwrap();
            prop_assert!(back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()) || (v == 0.0 && back == 0.0), "{v} -> {value}");
            seen += 1;
        }
        prop_assert!(want.is_empty(), "series missing from the render: {want:?}");
        prop_assert!(seen > 0);
    }
}
