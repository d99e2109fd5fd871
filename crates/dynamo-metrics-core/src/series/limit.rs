//! The cardinality guard: how many series one family may hold, and what happens past it. The JS
//! side enforces it where series are created (`src-ts/series/cardinality.ts`), from the limit
//! each family gets here and the names below (written out in `contracts.generated.ts`).
//!
//! Past the limit a new label set is not given a series: its writes go to the family's one
//! overflow series, whose every variable label value is [`OVERFLOW_MARKER`], and each such write
//! adds 1 to [`OVERFLOW_METRIC`]`{`[`OVERFLOW_LABEL`]`="<family>"}` at the family's level.

use crate::config::{self, Source};
use crate::error::Result;

/// Series per family when neither the metric, `maxSeriesPerFamily` nor
/// `DYN_METRICS_MAX_SERIES_PER_FAMILY` sets one.
pub const DEFAULT_MAX_SERIES: u32 = 10_000;

/// Every variable label value of a family's overflow series. It starts with `__`, which no
/// sanitized Dynamo name does, so it is unlikely to be a real value.
pub const OVERFLOW_MARKER: &str = "__overflow__";

/// The counter of folded writes (`dynamo_component_` is prefixed like any component metric).
pub const OVERFLOW_METRIC: &str = "series_overflow_total";

/// Help text of [`OVERFLOW_METRIC`].
pub const OVERFLOW_METRIC_HELP: &str =
    "Writes folded into the overflow series of a metric that reached its series limit";

/// The label of [`OVERFLOW_METRIC`] naming the family whose writes folded.
pub const OVERFLOW_LABEL: &str = "metric";

/// The limit of new family `metric` (its name as given): its own `maxSeries` when given (an
/// integer from 1 to 4294967295, else a `ConfigError` naming the metric), else the runtime's.
pub fn family_limit(metric: &str, option: Option<f64>, runtime_default: u32) -> Result<u32> {
    match option {
        Some(v) => config::max_series(v, Source::Option("maxSeries")).map_err(|mut e| {
            e.message = format!("metric '{metric}': {}", e.message);
            e
        }),
        None => Ok(runtime_default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_metric_limit_wins_over_the_runtime_one() {
        assert_eq!(family_limit("m", None, 10_000).unwrap(), 10_000);
        assert_eq!(family_limit("m", Some(5.0), 10_000).unwrap(), 5);
        assert_eq!(family_limit("m", Some(4294967295.0), 1).unwrap(), u32::MAX);
    }

    #[test]
    fn a_bad_metric_limit_is_a_config_error() {
        for bad in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY, 4294967296.0] {
            let e = family_limit("lat", Some(bad), 10_000).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{bad}");
            assert!(e.message.starts_with("metric 'lat': "), "{}", e.message);
            assert!(e.message.contains("option maxSeries"), "{}", e.message);
            assert!(e.message.contains("from 1 to 4294967295"), "{}", e.message);
        }
    }

    #[test]
    fn the_marker_is_not_a_user_label_name_and_the_counter_name_is_valid() {
        // The marker is a value, but one no sanitized hierarchy name produces.
        assert!(crate::names::validate_label_name(OVERFLOW_MARKER, "x").is_err());
        crate::names::validate_label_name(OVERFLOW_LABEL, "x").unwrap();
        assert_eq!(
            crate::names::build_component_metric_name(OVERFLOW_METRIC).unwrap(),
            "dynamo_component_series_overflow_total"
        );
    }
}
