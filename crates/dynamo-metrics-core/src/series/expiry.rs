//! Idle-series expiry, opt-in per Vec (`ttlSeconds`): the rule a TTL must follow, and the
//! touched mark its family's series carry. JS sets the mark on every write and sweeps it (the
//! writes never cross into Rust); a series left unmarked for the TTL is removed through
//! [`Registry::remove_series`], so its slots are reused.

use super::layout::SlotLayout;
use super::registry::Registry;
use crate::error::{ErrorKind, MetricsError, Result};

/// The shortest TTL: below it the sweep (every quarter TTL, at least 10 ms apart) cannot keep up.
pub const MIN_TTL_SECONDS: f64 = 0.01;
/// The longest TTL (30 days): longer is "never" for a scrape target, and a typo like `86400000`
/// (milliseconds) is caught.
pub const MAX_TTL_SECONDS: f64 = 2_592_000.0;

/// `ttl` when it is a valid `ttlSeconds` for the family `metric` (a Vec when `vec`).
pub fn validate_ttl(ttl: f64, metric: &str, vec: bool) -> Result<f64> {
    if !vec {
        return Err(MetricsError::new(
            ErrorKind::Config,
            format!("ttlSeconds of metric '{metric}': idle expiry applies to Vec metrics only"),
        ));
    }
    if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl) {
        return Err(MetricsError::new(
            ErrorKind::Config,
            format!(
                "ttlSeconds of metric '{metric}' must be a number of seconds from {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}; got {}",
                js_number(ttl)
            ),
        ));
    }
    Ok(ttl)
}

/// `n` as JS prints it (`Infinity`, not Rust's `inf`).
fn js_number(n: f64) -> String {
    match n {
        f64::INFINITY => "Infinity".into(),
        f64::NEG_INFINITY => "-Infinity".into(),
        _ => n.to_string(),
    }
}

impl Registry {
    /// Gives the Vec family `id` (created a moment ago, without series) a touched mark per
    /// series; returns its new layout.
    pub fn expire_idle(&mut self, id: u32) -> Result<SlotLayout> {
        let f = self.family_mut(id)?;
        if f.series_len() > 0 || f.label_names.is_empty() {
            return Err(MetricsError::new(
                ErrorKind::Config,
                format!(
                    "ttlSeconds of metric '{}': expiry is set when a Vec is created",
                    f.name
                ),
            ));
        }
        if f.layout.touched.is_none() {
            f.layout = f.layout.with_touched();
        }
        Ok(f.layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::ROOT;
    use crate::series::{FamilySpec, MetricKind};

    #[test]
    fn ttl_bounds_and_vec_only() {
        assert_eq!(validate_ttl(0.2, "m", true).unwrap(), 0.2);
        assert_eq!(
            validate_ttl(MAX_TTL_SECONDS, "m", true).unwrap(),
            MAX_TTL_SECONDS
        );
        for bad in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            0.001,
            MAX_TTL_SECONDS * 2.0,
        ] {
            let e = validate_ttl(bad, "m", true).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{bad}");
            assert!(
                e.message.contains("ttlSeconds of metric 'm'"),
                "{}",
                e.message
            );
        }
        assert!(validate_ttl(1.0, "m", false).is_err());
    }

    #[test]
    fn an_expiring_family_gets_a_touched_slot_and_reuses_freed_slots() {
        let mut r = Registry::new(8192);
        let spec = FamilySpec {
            kind: MetricKind::Counter,
            vec: true,
            name: "idle_total".into(),
            help: "h".into(),
            label_names: vec!["a".into()],
            const_labels: vec![],
            buckets: None,
        };
        let c = r.create_family(ROOT, &spec).unwrap();
        let layout = r.expire_idle(c.family).unwrap();
        assert_eq!((layout.width, layout.touched), (2, Some(1)));
        let s = r.create_series_ordered(c.family, &["x"]).unwrap();
        assert!(r.expire_idle(c.family).is_err());
        assert!(r.remove_series(c.family, s).unwrap());
        assert_eq!(r.create_series_ordered(c.family, &["y"]).unwrap(), s);
    }
}
