//! Health state behind the status server's health and liveness routes.
//!
//! The process carries one status set by the application. When the configuration names endpoints
//! (`DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS`), readiness is decided by those endpoints instead, so a
//! worker only reports ready once every endpoint it depends on is serving.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A health status as Dynamo spells it (`ready` / `notready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Serving: the health route answers 200.
    Ready,
    /// Not serving yet (or any more): the health route answers 503.
    NotReady,
}

impl HealthStatus {
    /// Parses `ready` / `notready`, ignoring case and surrounding whitespace.
    pub fn parse(s: &str) -> Option<HealthStatus> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("ready") {
            Some(HealthStatus::Ready)
        } else if s.eq_ignore_ascii_case("notready") {
            Some(HealthStatus::NotReady)
        } else {
            None
        }
    }

    /// The lowercase name, as served and as the environment variable takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ready => "ready",
            HealthStatus::NotReady => "notready",
        }
    }

    fn from_bool(ready: bool) -> HealthStatus {
        if ready {
            HealthStatus::Ready
        } else {
            HealthStatus::NotReady
        }
    }
}

/// The JSON document served on the health and liveness paths.
#[derive(Serialize)]
struct HealthBody<'a> {
    status: HealthStatus,
    uptime: Duration,
    endpoints: &'a BTreeMap<String, HealthStatus>,
}

/// The health state of one runtime: the process status and each reported endpoint's.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    // A bool is all the process status needs, and an atomic keeps the scrape path lock-free.
    ready: AtomicBool,
    endpoints: RwLock<BTreeMap<String, HealthStatus>>,
    use_endpoint_health_status: Vec<String>,
}

impl Health {
    /// Starts at `starting`; with `use_endpoint_health_status` non-empty, those endpoints decide.
    pub fn new(starting: HealthStatus, use_endpoint_health_status: Vec<String>) -> Health {
        Health {
            started: Instant::now(),
            ready: AtomicBool::new(starting == HealthStatus::Ready),
            endpoints: RwLock::new(BTreeMap::new()),
            use_endpoint_health_status,
        }
    }

    /// Sets the process-level status.
    pub fn set_status(&self, s: HealthStatus) {
        self.ready
            .store(s == HealthStatus::Ready, Ordering::Relaxed);
    }

    /// The process-level status (not the overall result; see [`Health::is_healthy`]).
    pub fn status(&self) -> HealthStatus {
        HealthStatus::from_bool(self.ready.load(Ordering::Relaxed))
    }

    /// Reports endpoint `name` as `s`.
    pub fn set_endpoint(&self, name: &str, s: HealthStatus) {
        self.write_endpoints().insert(name.to_string(), s);
    }

    /// Stops reporting endpoint `name`.
    pub fn remove_endpoint(&self, name: &str) {
        self.write_endpoints().remove(name);
    }

    /// Time since this health state (the runtime) was created.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// With endpoints configured, every one of them must be known and ready; otherwise the
    /// process status decides.
    pub fn is_healthy(&self) -> bool {
        if self.use_endpoint_health_status.is_empty() {
            return self.status() == HealthStatus::Ready;
        }
        let endpoints = self.read_endpoints();
        self.use_endpoint_health_status
            .iter()
            .all(|name| endpoints.get(name) == Some(&HealthStatus::Ready))
    }

    /// HTTP status code (200 healthy, 503 not) and JSON body for the health routes.
    pub fn body(&self) -> (u16, String) {
        let healthy = self.is_healthy();
        let endpoints = self.read_endpoints();
        let body = HealthBody {
            status: HealthStatus::from_bool(healthy),
            uptime: self.uptime(),
            endpoints: &endpoints,
        };
        // Serializing plain strings, enums and a Duration cannot fail.
        let json = serde_json::to_string(&body).expect("health body serializes");
        (if healthy { 200 } else { 503 }, json)
    }

    // A panic while holding the lock cannot leave the map half-updated (each write is one
    // insert or remove), so a poisoned lock is still safe to use.
    fn read_endpoints(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, HealthStatus>> {
        self.endpoints.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_endpoints(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, HealthStatus>> {
        self.endpoints.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse_body(h: &Health) -> (u16, Value) {
        let (code, body) = h.body();
        (code, serde_json::from_str(&body).unwrap())
    }

    #[test]
    fn status_parse_and_serialize() {
        assert_eq!(HealthStatus::parse("ready"), Some(HealthStatus::Ready));
        assert_eq!(
            HealthStatus::parse(" NotReady "),
            Some(HealthStatus::NotReady)
        );
        assert_eq!(HealthStatus::parse("READY"), Some(HealthStatus::Ready));
        assert_eq!(HealthStatus::parse("not_ready"), None);
        assert_eq!(HealthStatus::parse(""), None);
        assert_eq!(HealthStatus::Ready.as_str(), "ready");
        assert_eq!(HealthStatus::NotReady.as_str(), "notready");
        assert_eq!(
            serde_json::to_string(&HealthStatus::NotReady).unwrap(),
            "\"notready\""
        );
        assert_eq!(
            serde_json::to_string(&HealthStatus::Ready).unwrap(),
            "\"ready\""
        );
    }

    #[test]
    fn process_status_decides_without_endpoint_list() {
        let h = Health::new(HealthStatus::NotReady, vec![]);
        assert_eq!(h.status(), HealthStatus::NotReady);
        assert!(!h.is_healthy());
        let (code, v) = parse_body(&h);
        assert_eq!(code, 503);
        assert_eq!(v["status"], "notready");
        assert_eq!(v["endpoints"], serde_json::json!({}));

        h.set_status(HealthStatus::Ready);
        assert_eq!(h.status(), HealthStatus::Ready);
        assert!(h.is_healthy());
        let (code, v) = parse_body(&h);
        assert_eq!(code, 200);
        assert_eq!(v["status"], "ready");

        // Endpoints are reported but do not matter when none are listed.
        h.set_endpoint("generate", HealthStatus::NotReady);
        assert!(h.is_healthy());
        let (code, v) = parse_body(&h);
        assert_eq!(code, 200);
        assert_eq!(v["endpoints"], serde_json::json!({"generate": "notready"}));
    }

    #[test]
    fn starting_ready() {
        let h = Health::new(HealthStatus::Ready, vec![]);
        assert!(h.is_healthy());
        assert_eq!(h.body().0, 200);
    }

    #[test]
    fn listed_endpoints_decide() {
        let h = Health::new(
            HealthStatus::Ready,
            vec!["generate".to_string(), "embed".to_string()],
        );
        // Unknown endpoints are not ready, even though the process is.
        assert!(!h.is_healthy());
        assert_eq!(h.body().0, 503);

        h.set_endpoint("generate", HealthStatus::Ready);
        assert!(!h.is_healthy());

        h.set_endpoint("embed", HealthStatus::NotReady);
        assert!(!h.is_healthy());

        h.set_endpoint("embed", HealthStatus::Ready);
        assert!(h.is_healthy());
        let (code, v) = parse_body(&h);
        assert_eq!(code, 200);
        assert_eq!(v["status"], "ready");
        assert_eq!(
            v["endpoints"],
            serde_json::json!({"embed": "ready", "generate": "ready"})
        );

        // The process status is ignored once endpoints are listed.
        h.set_status(HealthStatus::NotReady);
        assert!(h.is_healthy());

        h.remove_endpoint("embed");
        assert!(!h.is_healthy());
        let (code, v) = parse_body(&h);
        assert_eq!(code, 503);
        assert_eq!(v["status"], "notready");
        assert_eq!(v["endpoints"], serde_json::json!({"generate": "ready"}));
    }

    #[test]
    fn body_has_uptime() {
        let h = Health::new(HealthStatus::Ready, vec![]);
        std::thread::sleep(Duration::from_millis(5));
        let (_, v) = parse_body(&h);
        let secs = v["uptime"]["secs"].as_u64().unwrap();
        let nanos = v["uptime"]["nanos"].as_u64().unwrap();
        assert!(secs > 0 || nanos >= 5_000_000, "uptime {v}");
        assert!(h.uptime() >= Duration::from_millis(5));
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 3);
    }
}
