//! Creating a family with its per-metric options beyond the spec (the series limit, idle
//! expiry): the one place that orders their checks, so a bad option registers nothing.

use super::expiry;
use super::limit::family_limit;
use super::registry::{Created, FamilySpec, Registry};
use crate::error::Result;
use crate::hierarchy::NodeId;

/// Per-metric options as the user gave them (JS numbers, checked here).
#[derive(Clone, Copy, Debug, Default)]
pub struct FamilyOptions {
    /// The metric's own series limit (`maxSeries`); the runtime's when `None`.
    pub max_series: Option<f64>,
    /// Idle-series expiry of a Vec (`ttlSeconds`); none when `None`.
    pub ttl_seconds: Option<f64>,
}

impl Registry {
    /// Creates the family of `spec` at `node`, or at the root named `<prefix>_<name>` when
    /// `prefix` is given, with `options` applied.
    pub fn create_with(
        &mut self,
        node: NodeId,
        prefix: Option<&str>,
        spec: &FamilySpec,
        options: FamilyOptions,
    ) -> Result<Created> {
        if let Some(t) = options.ttl_seconds {
            expiry::validate_ttl(t, &spec.name, spec.vec)?;
        }
        let max_series = family_limit(&spec.name, options.max_series, self.max_series_per_family)?;
        let mut created = match prefix {
            Some(p) => self.create_prefixed_family(p, spec),
            None => self.create_family(node, spec),
        }?;
        if options.ttl_seconds.is_some() {
            created.layout = self.expire_idle(created.family)?;
        }
        Ok(Created {
            max_series,
            ..created
        })
    }
}
