//! Dynamo's frontend metric rules (`lib/llm/src/http/service/metrics.rs`): the `dynamo_frontend`
//! prefix and its sanitizing, and the log-spaced histogram buckets with their `DYN_METRICS_*`
//! overrides. One home, so the TS frontend and any Rust caller build the same families.

use crate::error::{ErrorKind, MetricsError};
use crate::names;
use crate::Result;

/// Dynamo's `name_prefix::FRONTEND`.
pub const FRONTEND_PREFIX: &str = "dynamo_frontend";
/// Overrides the prefix (sanitized; see [`sanitize_frontend_prefix`]).
pub const PREFIX_ENV: &str = "DYN_METRICS_PREFIX";
/// Dynamo's `MAX_BUCKET_COUNT`.
pub const MAX_BUCKET_COUNT: u32 = 512;

/// `min`, `max`, `count` of [`generate_log_buckets`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogBuckets {
    /// The first bound after `0.0` (log spacing needs it positive).
    pub min: f64,
    /// The last bound.
    pub max: f64,
    /// How many bounds, `0.0` included; duplicates left by rounding are removed, so the result
    /// can be shorter.
    pub count: u32,
}

/// One log-bucketed frontend histogram: its option key, its env prefix and Dynamo's defaults.
pub struct HistogramDefault {
    /// The JS option key that overrides it (`FrontendMetricsOptions.buckets.<key>`).
    pub key: &'static str,
    /// The variable prefix: `<env>_MIN`, `<env>_MAX`, `<env>_COUNT`, as Dynamo reads them.
    pub env: &'static str,
    /// Dynamo's bounds, used when neither option nor variable says otherwise.
    pub default: LogBuckets,
}

const fn lb(min: f64, max: f64, count: u32) -> LogBuckets {
    LogBuckets { min, max, count }
}

/// Dynamo's snapshot defaults (`cached_tokens` reuses the input-sequence buckets, as Dynamo does).
pub const HISTOGRAMS: [HistogramDefault; 5] = [
    HistogramDefault {
        key: "requestDuration",
        env: "DYN_METRICS_REQUEST_DURATION",
        default: lb(1.0, 512.0, 10),
    },
    HistogramDefault {
        key: "inputSequence",
        env: "DYN_METRICS_INPUT_SEQUENCE",
        default: lb(50.0, 128000.0, 12),
    },
    HistogramDefault {
        key: "outputSequence",
        env: "DYN_METRICS_OUTPUT_SEQUENCE",
        default: lb(50.0, 32000.0, 10),
    },
    HistogramDefault {
        key: "ttft",
        env: "DYN_METRICS_TTFT",
        default: lb(0.001, 480.0, 18),
    },
    HistogramDefault {
        key: "itl",
        env: "DYN_METRICS_ITL",
        default: lb(0.001, 2.0, 13),
    },
];

/// Dynamo's `sanitize_frontend_prometheus_prefix`: the metric-name rule, and `dynamo_frontend`
/// when the input is empty or sanitizes to nothing.
pub fn sanitize_frontend_prefix(raw: &str) -> String {
    names::sanitize_prometheus_name(raw).unwrap_or_else(|_| FRONTEND_PREFIX.to_owned())
}

/// `<prefix>_<name>`, both sanitized (the prefix by the frontend rule, the name by the metric rule).
pub fn frontend_metric_name(prefix: &str, name: &str) -> Result<String> {
    let name = names::sanitize_prometheus_name(name)?;
    Ok(format!("{}_{name}", sanitize_frontend_prefix(prefix)))
}

fn round_to_sig_figs(value: f64, sig_figs: i32) -> f64 {
    if value == 0.0 {
        return 0.0;
    }
    let magnitude = value.abs().log10().floor();
    let scale = 10f64.powf(f64::from(sig_figs) - 1.0 - magnitude);
    (value * scale).round() / scale
}

/// Dynamo's `generate_log_buckets`: `0.0`, then `count - 1` log-spaced values ending at `max`,
/// rounded to 2 significant figures, consecutive duplicates removed.
pub fn generate_log_buckets(b: LogBuckets) -> Vec<f64> {
    match b.count {
        0 => return Vec::new(),
        1 => return vec![0.0],
        _ => {}
    }
    let (lo, hi) = (b.min.ln(), b.max.ln());
    let steps = f64::from(b.count - 1);
    let mut out = vec![0.0];
    for i in 1..b.count {
        let v = (lo + (hi - lo) * f64::from(i) / steps).exp();
        out.push(round_to_sig_figs(v, 2));
    }
    out.dedup();
    out
}

fn check(b: LogBuckets, what: &str) -> Result<LogBuckets> {
    let ok = b.min.is_finite()
        && b.max.is_finite()
        && b.min > 0.0
        && b.min < b.max
        && b.count > 1
        && b.count <= MAX_BUCKET_COUNT;
    if ok {
        Ok(b)
    } else {
        Err(MetricsError::new(
            ErrorKind::Config,
            format!(
                "{what}: min={} max={} count={} is invalid (need finite 0 < min < max and 2 <= count <= {MAX_BUCKET_COUNT})",
                b.min, b.max, b.count
            ),
        ))
    }
}

fn env_number(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<f64>> {
    match env(name) {
        None => Ok(None),
        Some(s) => s.trim().parse::<f64>().map(Some).map_err(|_| {
            MetricsError::new(ErrorKind::Config, format!("{name}='{s}' is not a number"))
        }),
    }
}

/// The resolved configuration of one frontend metrics set.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontendConfig {
    /// The sanitized prefix every frontend family is named with.
    pub prefix: String,
    /// Bucket bounds per [`HISTOGRAMS`] key, in that order.
    pub buckets: Vec<(&'static str, Vec<f64>)>,
}

/// Resolves the prefix (option, else `DYN_METRICS_PREFIX`, else `dynamo_frontend`; sanitized)
/// and each histogram's buckets (option, else `DYN_METRICS_<X>_{MIN,MAX,COUNT}`, else Dynamo's
/// default). A bad override is a `Config` error naming it: unlike Dynamo, which falls back
/// with a log line, a setting is never dropped silently.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    prefix: Option<&str>,
    overrides: &[(String, LogBuckets)],
) -> Result<FrontendConfig> {
    if let Some((k, _)) = overrides
        .iter()
        .find(|(k, _)| !HISTOGRAMS.iter().any(|h| h.key == k))
    {
        let keys: Vec<&str> = HISTOGRAMS.iter().map(|h| h.key).collect();
        return Err(MetricsError::new(
            ErrorKind::Config,
            format!(
                "unknown frontend histogram '{k}' (one of {})",
                keys.join(", ")
            ),
        ));
    }
    let raw = match prefix {
        Some(p) => p.to_owned(),
        None => env(PREFIX_ENV).unwrap_or_else(|| FRONTEND_PREFIX.to_owned()),
    };
    let mut buckets = Vec::with_capacity(HISTOGRAMS.len());
    for h in &HISTOGRAMS {
        let b = match overrides.iter().find(|(k, _)| k == h.key) {
            Some((_, b)) => check(*b, &format!("frontend histogram '{}'", h.key))?,
            None => {
                let min = env_number(env, &format!("{}_MIN", h.env))?;
                let max = env_number(env, &format!("{}_MAX", h.env))?;
                let count = env_number(env, &format!("{}_COUNT", h.env))?;
                let count = match count {
                    None => h.default.count,
                    Some(c) if c.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&c) => {
                        c as u32
                    }
                    Some(c) => {
                        return Err(MetricsError::new(
                            ErrorKind::Config,
                            format!("{}_COUNT={c} is not a whole number", h.env),
                        ))
                    }
                };
                let b = LogBuckets {
                    min: min.unwrap_or(h.default.min),
                    max: max.unwrap_or(h.default.max),
                    count,
                };
                check(b, &format!("{}_{{MIN,MAX,COUNT}}", h.env))?
            }
        };
        buckets.push((h.key, generate_log_buckets(b)));
    }
    Ok(FrontendConfig {
        prefix: sanitize_frontend_prefix(&raw),
        buckets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn prefix_follows_dynamo() {
        assert_eq!(sanitize_frontend_prefix("test prefix"), "test_prefix");
        assert_eq!(sanitize_frontend_prefix("123test"), "_123test");
        assert_eq!(
            sanitize_frontend_prefix("nv-llm/http service"),
            "nv_llm_http_service"
        );
        assert_eq!(sanitize_frontend_prefix(""), FRONTEND_PREFIX);
        assert_eq!(sanitize_frontend_prefix("@#$%"), FRONTEND_PREFIX);
        assert_eq!(
            frontend_metric_name("custom_prefix", "requests_total").unwrap(),
            "custom_prefix_requests_total"
        );
    }

    #[test]
    fn default_buckets_match_dynamo() {
        let c = resolve(&no_env, None, &[]).unwrap();
        assert_eq!(c.prefix, "dynamo_frontend");
        let get = |k: &str| c.buckets.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        let d = get("requestDuration");
        // 512^(i/9) = 2^i, rounded to 2 significant figures.
        assert_eq!(
            d,
            vec![0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 130.0, 260.0, 510.0]
        );
        assert_eq!(get("ttft").len(), 18);
        assert_eq!(*get("itl").last().unwrap(), 2.0);
        // Rounded to 2 significant figures and strictly increasing.
        for (_, b) in &c.buckets {
            assert!(b.windows(2).all(|w| w[0] < w[1]), "{b:?}");
        }
        assert_eq!(get("inputSequence")[1], 100.0);
    }

    #[test]
    fn env_and_options_override() {
        let env = |k: &str| match k {
            "DYN_METRICS_PREFIX" => Some("nv-llm/http service".to_owned()),
            "DYN_METRICS_ITL_COUNT" => Some("3".to_owned()),
            _ => None,
        };
        let c = resolve(&env, None, &[]).unwrap();
        assert_eq!(c.prefix, "nv_llm_http_service");
        assert_eq!(c.buckets[4].1, vec![0.0, 0.045, 2.0]);
        let o = [("ttft".to_owned(), lb(1.0, 100.0, 3))];
        let c = resolve(&env, Some("mine"), &o).unwrap();
        assert_eq!(c.prefix, "mine");
        assert_eq!(c.buckets[3].1, vec![0.0, 10.0, 100.0]);
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let env = |k: &str| (k == "DYN_METRICS_TTFT_MIN").then(|| "abc".to_owned());
        let e = resolve(&env, None, &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("DYN_METRICS_TTFT_MIN"), "{}", e.message);
        let e = resolve(&no_env, None, &[("itl".to_owned(), lb(2.0, 1.0, 5))]).unwrap_err();
        assert!(e.message.contains("'itl'"), "{}", e.message);
        let e = resolve(&no_env, None, &[("nope".to_owned(), lb(1.0, 2.0, 5))]).unwrap_err();
        assert!(e.message.contains("unknown frontend histogram 'nope'"));
    }
}

#[cfg(test)]
mod registry_tests {
    use crate::hierarchy::{Level, ROOT};
    use crate::series::MetricKind;
    use crate::series::{FamilySpec, Registry};

    #[test]
    fn prefixed_families_have_no_hierarchy_labels() {
        let mut r = Registry::new(4096);
        // A namespace exists, yet the family sits at the root with no `dynamo_*` labels.
        r.child(ROOT, Level::Namespace, "ns").unwrap();
        let spec = FamilySpec {
            kind: MetricKind::IntCounter,
            vec: true,
            name: "requests_total".into(),
            help: "Total number of LLM requests processed".into(),
            label_names: vec!["model".into()],
            const_labels: vec![],
            buckets: None,
        };
        let c = r
            .create_prefixed_family("nv-llm/http service", &spec)
            .unwrap();
        assert_eq!(c.name, "nv_llm_http_service_requests_total");
        assert!(c.const_labels.is_empty());
        let d = r
            .create_prefixed_family("nv-llm/http service", &spec)
            .unwrap_err();
        assert_eq!(d.kind, crate::ErrorKind::Duplicate);
        let c = r
            .create_prefixed_family(
                "",
                &FamilySpec {
                    name: "x".into(),
                    ..spec
                },
            )
            .unwrap();
        assert_eq!(c.name, "dynamo_frontend_x");
    }
}
