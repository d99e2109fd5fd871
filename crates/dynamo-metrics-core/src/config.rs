//! System status server configuration: Dynamo's `DYN_SYSTEM_*` environment variables, overridden
//! by the options given to `DistributedRuntime.create()`.
//!
//! Every value is validated even when the server ends up disabled, so a typo surfaces at startup
//! instead of the day someone turns the server on.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::{ErrorKind, MetricsError};
use crate::health::HealthStatus;

pub const ENV_SYSTEM_ENABLED: &str = "DYN_SYSTEM_ENABLED";
pub const ENV_SYSTEM_PORT: &str = "DYN_SYSTEM_PORT";
pub const ENV_SYSTEM_HOST: &str = "DYN_SYSTEM_HOST";
pub const ENV_STARTING_HEALTH_STATUS: &str = "DYN_SYSTEM_STARTING_HEALTH_STATUS";
pub const ENV_HEALTH_PATH: &str = "DYN_SYSTEM_HEALTH_PATH";
pub const ENV_LIVE_PATH: &str = "DYN_SYSTEM_LIVE_PATH";
pub const ENV_USE_ENDPOINT_HEALTH_STATUS: &str = "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS";
pub const ENV_SCRAPE_TIMEOUT_MS: &str = "DYN_METRICS_SCRAPE_TIMEOUT_MS";
/// [`crate::server::ServerLimits::header_read_timeout`], in ms.
pub const ENV_HEADER_READ_TIMEOUT_MS: &str = "DYN_SYSTEM_HEADER_READ_TIMEOUT_MS";
/// [`crate::server::ServerLimits::idle_timeout`], in ms.
pub const ENV_IDLE_TIMEOUT_MS: &str = "DYN_SYSTEM_IDLE_TIMEOUT_MS";
/// [`crate::server::ServerLimits::write_timeout`], in ms.
pub const ENV_WRITE_TIMEOUT_MS: &str = "DYN_SYSTEM_WRITE_TIMEOUT_MS";
/// [`crate::server::ServerLimits::max_connections`].
pub const ENV_MAX_CONNECTIONS: &str = "DYN_SYSTEM_MAX_CONNECTIONS";
/// [`crate::server::ServerLimits::max_concurrent_renders`].
pub const ENV_MAX_CONCURRENT_RENDERS: &str = "DYN_SYSTEM_MAX_CONCURRENT_RENDERS";
/// [`crate::server::ServerLimits::render_wait`], in ms.
pub const ENV_RENDER_WAIT_MS: &str = "DYN_SYSTEM_RENDER_WAIT_MS";
/// Dynamo's variable for the NATS server of the request plane.
pub const ENV_NATS_SERVER: &str = "NATS_SERVER";

pub const DEFAULT_PORT: u16 = 9090;
pub const DEFAULT_HOST: &str = "0.0.0.0";
pub const DEFAULT_HEALTH_PATH: &str = "/health";
pub const DEFAULT_LIVE_PATH: &str = "/live";
pub const DEFAULT_SCRAPE_TIMEOUT_MS: u32 = 1000;
/// Served by the status server itself, so a health or live path may not take it.
pub const METRICS_PATH: &str = "/metrics";

/// Options passed by the user to `DistributedRuntime.create()`; each one wins over its variable.
#[derive(Debug, Clone, Default)]
pub struct ConfigOverrides {
    pub system_enabled: Option<bool>,
    /// u32 so an out-of-range value such as 70000 reaches validation instead of wrapping.
    pub system_port: Option<u32>,
    pub system_host: Option<String>,
    pub starting_health_status: Option<String>,
    pub health_path: Option<String>,
    pub live_path: Option<String>,
    pub use_endpoint_health_status: Option<Vec<String>>,
    pub scrape_timeout_ms: Option<u32>,
    /// `headerReadTimeoutMs`; wins over [`ENV_HEADER_READ_TIMEOUT_MS`].
    pub header_read_timeout_ms: Option<u32>,
    /// `idleTimeoutMs`; wins over [`ENV_IDLE_TIMEOUT_MS`].
    pub idle_timeout_ms: Option<u32>,
    /// `writeTimeoutMs`; wins over [`ENV_WRITE_TIMEOUT_MS`].
    pub write_timeout_ms: Option<u32>,
    /// `maxConnections`; wins over [`ENV_MAX_CONNECTIONS`].
    pub max_connections: Option<u32>,
    /// `maxConcurrentRenders`; wins over [`ENV_MAX_CONCURRENT_RENDERS`].
    pub max_concurrent_renders: Option<u32>,
    /// `renderWaitMs`; wins over [`ENV_RENDER_WAIT_MS`].
    pub render_wait_ms: Option<u32>,
    /// URL of the NATS server for the request plane; wins over `NATS_SERVER`.
    pub nats_server: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SystemConfig {
    pub enabled: bool,
    /// Parsed here once; the server binds it as it is.
    pub host: IpAddr,
    /// 0 asks the OS for a free port.
    pub port: u16,
    pub starting_health: HealthStatus,
    pub health_path: String,
    pub live_path: String,
    pub use_endpoint_health_status: Vec<String>,
    /// Deadline for the metrics callback of one scrape.
    pub scrape_timeout: Duration,
    /// NATS URL of the request plane; None means in-process only.
    pub nats_server: Option<String>,
    /// The status server's timeouts and caps.
    pub limits: crate::server::ServerLimits,
}

impl Default for SystemConfig {
    /// The configuration of an empty environment.
    fn default() -> Self {
        SystemConfig {
            enabled: false,
            host: DEFAULT_HOST.parse().expect("DEFAULT_HOST is an IP address"),
            port: DEFAULT_PORT,
            starting_health: HealthStatus::NotReady,
            health_path: DEFAULT_HEALTH_PATH.to_string(),
            live_path: DEFAULT_LIVE_PATH.to_string(),
            use_endpoint_health_status: Vec::new(),
            scrape_timeout: Duration::from_millis(DEFAULT_SCRAPE_TIMEOUT_MS.into()),
            nats_server: None,
            limits: crate::server::ServerLimits::default(),
        }
    }
}

/// 1/true/on/yes in any case, surrounding whitespace ignored.
pub fn is_truthy(s: &str) -> bool {
    let s = s.trim();
    ["1", "true", "on", "yes"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
}

/// 0/false/off/no in any case, surrounding whitespace ignored.
pub fn is_falsy(s: &str) -> bool {
    let s = s.trim();
    ["0", "false", "off", "no"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
}

fn config_error(msg: String) -> MetricsError {
    MetricsError::new(ErrorKind::Config, msg)
}

/// Where a value came from, so an error names what the user actually wrote.
#[derive(Clone, Copy)]
enum Source {
    Env(&'static str),
    Option(&'static str),
}

impl Source {
    fn describe(self) -> String {
        match self {
            Source::Env(name) => format!("environment variable {name}"),
            Source::Option(name) => format!("option {name}"),
        }
    }
}

fn parse_port(value: &str, src: Source) -> crate::Result<u16> {
    // Digits only: `u16::from_str` would also take a leading `+`.
    let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| value.parse::<u16>().ok())
        .flatten()
        .ok_or_else(|| {
            config_error(format!(
                "invalid {} value {value:?}: the port must be an integer 0-65535 (0 picks a free port)",
                src.describe()
            ))
        })
}

fn parse_host(value: &str, src: Source) -> crate::Result<IpAddr> {
    let trimmed = value.trim();
    // Accept the bracketed IPv6 form people copy from URLs.
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    bare.parse::<IpAddr>().map_err(|_| {
            config_error(format!(
                "invalid {} value {value:?}: the host must be an IP address such as 0.0.0.0, 127.0.0.1 or ::",
                src.describe()
            ))
        })
}

fn parse_health(value: &str, src: Source) -> crate::Result<HealthStatus> {
    HealthStatus::parse(value).ok_or_else(|| {
        config_error(format!(
            "invalid {} value {value:?}: allowed values are \"ready\" and \"notready\"",
            src.describe()
        ))
    })
}

fn parse_path(value: &str, src: Source) -> crate::Result<String> {
    if !value.starts_with('/') {
        return Err(config_error(format!(
            "invalid {} value {value:?}: the path must start with \"/\"",
            src.describe()
        )));
    }
    if value == METRICS_PATH {
        return Err(config_error(format!(
            "invalid {} value {value:?}: {METRICS_PATH} is reserved for the metrics route",
            src.describe()
        )));
    }
    // A request's path is a URI path: printable ASCII without `?` or `#`. Any other path
    // (a space, a non-ASCII letter) could never be requested.
    let requestable = value
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'?' && b != b'#')
        && value
            .parse::<axum::http::uri::PathAndQuery>()
            .is_ok_and(|p| p.path() == value);
    if !requestable {
        return Err(config_error(format!(
            "invalid {} value {value:?}: no request can have this path (use printable ASCII without spaces, \"?\" or \"#\"; percent-encode anything else)",
            src.describe()
        )));
    }
    Ok(value.to_string())
}

/// A whole number from option `o` or variable `v`, at least `min`; `default` when neither is set.
fn limit_u32(
    o: Option<u32>,
    v: Option<String>,
    (opt, env): (&'static str, &'static str),
    min: u32,
    default: u32,
) -> crate::Result<u32> {
    let (n, value, src) = match (o, v) {
        (Some(n), _) => (Some(n), n.to_string(), Source::Option(opt)),
        (None, Some(v)) => {
            // Digits only, for the same reason as the port.
            let n = (v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse::<u32>().ok())
                .flatten();
            (n, v, Source::Env(env))
        }
        (None, None) => return Ok(default),
    };
    n.filter(|n| *n >= min).ok_or_else(|| {
        config_error(format!(
            "invalid {} value {value:?}: expected an integer from {min} to {}",
            src.describe(),
            u32::MAX
        ))
    })
}

fn parse_endpoint_list(value: &str, src: Source) -> crate::Result<Vec<String>> {
    serde_json::from_str::<Vec<String>>(value).map_err(|e| {
        config_error(format!(
            "invalid {} value {value:?}: expected a JSON list of endpoint names such as [\"generate\"] ({e})",
            src.describe()
        ))
    })
}

fn positive_timeout(ms: Option<u32>, value: &str, src: Source) -> crate::Result<Duration> {
    match ms {
        Some(ms) if ms > 0 => Ok(Duration::from_millis(ms.into())),
        _ => Err(config_error(format!(
            "invalid {} value {value:?}: the scrape timeout must be a positive integer number of milliseconds",
            src.describe()
        ))),
    }
}

impl SystemConfig {
    /// Resolves the configuration from `env` (a variable lookup) and `o`, which wins.
    pub fn resolve(
        env: &dyn Fn(&str) -> Option<String>,
        o: &ConfigOverrides,
    ) -> crate::Result<SystemConfig> {
        // Empty (or blank) values count as unset, as with Dynamo's launch scripts.
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let env_enabled = match var(ENV_SYSTEM_ENABLED) {
            None => None,
            Some(v) if is_truthy(&v) => Some(true),
            Some(v) if is_falsy(&v) => Some(false),
            Some(v) => {
                return Err(config_error(format!(
                    "invalid environment variable {ENV_SYSTEM_ENABLED} value {v:?}: expected one of 1/true/on/yes or 0/false/off/no"
                )))
            }
        };
        let env_port = var(ENV_SYSTEM_PORT);

        let enabled = match (o.system_enabled, o.system_port) {
            (Some(e), _) => e,
            // Passing a port in code is an explicit request for the server.
            (None, Some(_)) => true,
            (None, None) => env_enabled.unwrap_or(env_port.is_some()),
        };

        let port = match (o.system_port, &env_port) {
            (Some(p), _) => parse_port(&p.to_string(), Source::Option("systemPort"))?,
            (None, Some(v)) => parse_port(v, Source::Env(ENV_SYSTEM_PORT))?,
            (None, None) => DEFAULT_PORT,
        };

        let host = match (&o.system_host, var(ENV_SYSTEM_HOST)) {
            (Some(h), _) => parse_host(h, Source::Option("systemHost"))?,
            (None, Some(h)) => parse_host(&h, Source::Env(ENV_SYSTEM_HOST))?,
            (None, None) => SystemConfig::default().host,
        };

        let starting_health = match (&o.starting_health_status, var(ENV_STARTING_HEALTH_STATUS)) {
            (Some(s), _) => parse_health(s, Source::Option("startingHealthStatus"))?,
            (None, Some(s)) => parse_health(&s, Source::Env(ENV_STARTING_HEALTH_STATUS))?,
            (None, None) => HealthStatus::NotReady,
        };

        let health_path = match (&o.health_path, var(ENV_HEALTH_PATH)) {
            (Some(p), _) => parse_path(p, Source::Option("healthPath"))?,
            (None, Some(p)) => parse_path(&p, Source::Env(ENV_HEALTH_PATH))?,
            (None, None) => DEFAULT_HEALTH_PATH.to_string(),
        };

        let live_path = match (&o.live_path, var(ENV_LIVE_PATH)) {
            (Some(p), _) => parse_path(p, Source::Option("livePath"))?,
            (None, Some(p)) => parse_path(&p, Source::Env(ENV_LIVE_PATH))?,
            (None, None) => DEFAULT_LIVE_PATH.to_string(),
        };

        let use_endpoint_health_status = match (
            &o.use_endpoint_health_status,
            var(ENV_USE_ENDPOINT_HEALTH_STATUS),
        ) {
            (Some(list), _) => list.clone(),
            (None, Some(v)) => {
                parse_endpoint_list(&v, Source::Env(ENV_USE_ENDPOINT_HEALTH_STATUS))?
            }
            (None, None) => Vec::new(),
        };

        let scrape_timeout = match (o.scrape_timeout_ms, var(ENV_SCRAPE_TIMEOUT_MS)) {
            (Some(ms), _) => {
                positive_timeout(Some(ms), &ms.to_string(), Source::Option("scrapeTimeoutMs"))?
            }
            (None, Some(v)) => {
                // Digits only, for the same reason as the port.
                let ms = (v.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| v.parse::<u32>().ok())
                    .flatten();
                positive_timeout(ms, &v, Source::Env(ENV_SCRAPE_TIMEOUT_MS))?
            }
            (None, None) => Duration::from_millis(DEFAULT_SCRAPE_TIMEOUT_MS.into()),
        };

        let nats_server = o
            .nats_server
            .clone()
            .or_else(|| var(ENV_NATS_SERVER))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());

        use crate::server::limits::*;
        let ms = |v: u32| Duration::from_millis(v.into());
        let limits = crate::server::ServerLimits {
            header_read_timeout: ms(limit_u32(
                o.header_read_timeout_ms,
                var(ENV_HEADER_READ_TIMEOUT_MS),
                ("headerReadTimeoutMs", ENV_HEADER_READ_TIMEOUT_MS),
                1,
                DEFAULT_HEADER_READ_TIMEOUT_MS,
            )?),
            idle_timeout: ms(limit_u32(
                o.idle_timeout_ms,
                var(ENV_IDLE_TIMEOUT_MS),
                ("idleTimeoutMs", ENV_IDLE_TIMEOUT_MS),
                1,
                DEFAULT_IDLE_TIMEOUT_MS,
            )?),
            write_timeout: ms(limit_u32(
                o.write_timeout_ms,
                var(ENV_WRITE_TIMEOUT_MS),
                ("writeTimeoutMs", ENV_WRITE_TIMEOUT_MS),
                1,
                DEFAULT_WRITE_TIMEOUT_MS,
            )?),
            max_connections: limit_u32(
                o.max_connections,
                var(ENV_MAX_CONNECTIONS),
                ("maxConnections", ENV_MAX_CONNECTIONS),
                1,
                DEFAULT_MAX_CONNECTIONS,
            )? as usize,
            max_concurrent_renders: limit_u32(
                o.max_concurrent_renders,
                var(ENV_MAX_CONCURRENT_RENDERS),
                ("maxConcurrentRenders", ENV_MAX_CONCURRENT_RENDERS),
                1,
                DEFAULT_MAX_CONCURRENT_RENDERS,
            )? as usize,
            render_wait: ms(limit_u32(
                o.render_wait_ms,
                var(ENV_RENDER_WAIT_MS),
                ("renderWaitMs", ENV_RENDER_WAIT_MS),
                0,
                DEFAULT_RENDER_WAIT_MS,
            )?),
        };

        Ok(SystemConfig {
            limits,
            enabled,
            host,
            port,
            starting_health,
            health_path,
            live_path,
            use_endpoint_health_status,
            scrape_timeout,
            nats_server,
        })
    }

    /// [`SystemConfig::resolve`] over the process environment.
    pub fn from_process_env(o: &ConfigOverrides) -> crate::Result<SystemConfig> {
        Self::resolve(&|name| std::env::var(name).ok(), o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve_with(vars: &[(&str, &str)], o: &ConfigOverrides) -> crate::Result<SystemConfig> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SystemConfig::resolve(&|name| map.get(name).cloned(), o)
    }

    fn env(vars: &[(&str, &str)]) -> crate::Result<SystemConfig> {
        resolve_with(vars, &ConfigOverrides::default())
    }

    fn config_err(r: crate::Result<SystemConfig>) -> String {
        let e = r.expect_err("expected a config error");
        assert_eq!(e.kind, ErrorKind::Config);
        e.message
    }

    #[test]
    fn truthy_and_falsy() {
        for s in ["1", "true", "TRUE", " on ", "Yes", "yes"] {
            assert!(is_truthy(s), "{s}");
            assert!(!is_falsy(s), "{s}");
        }
        for s in ["0", "false", "False", " off", "NO"] {
            assert!(is_falsy(s), "{s}");
            assert!(!is_truthy(s), "{s}");
        }
        for s in ["", "2", "enabled", "y", "nope"] {
            assert!(!is_truthy(s) && !is_falsy(s), "{s}");
        }
    }

    #[test]
    fn defaults() {
        let c = env(&[]).unwrap();
        assert_eq!(c, SystemConfig::default());
        assert!(!c.enabled);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.port, 9090);
        assert_eq!(c.starting_health, HealthStatus::NotReady);
        assert_eq!(c.health_path, "/health");
        assert_eq!(c.live_path, "/live");
        assert!(c.use_endpoint_health_status.is_empty());
        assert_eq!(c.scrape_timeout, Duration::from_secs(1));
    }

    #[test]
    fn enabled_by_flag_or_port() {
        assert!(env(&[("DYN_SYSTEM_ENABLED", "true")]).unwrap().enabled);
        assert!(env(&[("DYN_SYSTEM_ENABLED", "1")]).unwrap().enabled);
        assert!(!env(&[("DYN_SYSTEM_ENABLED", "off")]).unwrap().enabled);

        let c = env(&[("DYN_SYSTEM_PORT", "8081")]).unwrap();
        assert!(c.enabled);
        assert_eq!(c.port, 8081);

        // Explicitly falsy wins over a port.
        let c = env(&[("DYN_SYSTEM_PORT", "8081"), ("DYN_SYSTEM_ENABLED", "false")]).unwrap();
        assert!(!c.enabled);
        assert_eq!(c.port, 8081);
    }

    #[test]
    fn empty_values_are_unset() {
        let c = env(&[
            ("DYN_SYSTEM_ENABLED", ""),
            ("DYN_SYSTEM_PORT", ""),
            ("DYN_SYSTEM_HOST", "  "),
            ("DYN_SYSTEM_STARTING_HEALTH_STATUS", ""),
            ("DYN_SYSTEM_HEALTH_PATH", ""),
            ("DYN_SYSTEM_LIVE_PATH", ""),
            ("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", ""),
            ("DYN_METRICS_SCRAPE_TIMEOUT_MS", ""),
        ])
        .unwrap();
        assert_eq!(c, SystemConfig::default());
    }

    #[test]
    fn bad_enabled_value() {
        let m = config_err(env(&[("DYN_SYSTEM_ENABLED", "maybe")]));
        assert!(m.contains("DYN_SYSTEM_ENABLED"), "{m}");
        assert!(m.contains("maybe"), "{m}");
    }

    #[test]
    fn overrides_win() {
        let port_env = [("DYN_SYSTEM_PORT", "8081")];
        let off = ConfigOverrides {
            system_enabled: Some(false),
            ..Default::default()
        };
        assert!(!resolve_with(&port_env, &off).unwrap().enabled);

        let on = ConfigOverrides {
            system_enabled: Some(true),
            ..Default::default()
        };
        assert!(
            resolve_with(&[("DYN_SYSTEM_ENABLED", "0")], &on)
                .unwrap()
                .enabled
        );

        let port = ConfigOverrides {
            system_port: Some(0),
            ..Default::default()
        };
        let c = resolve_with(&port_env, &port).unwrap();
        assert!(c.enabled);
        assert_eq!(c.port, 0);

        let port_off = ConfigOverrides {
            system_port: Some(7000),
            system_enabled: Some(false),
            ..Default::default()
        };
        let c = resolve_with(&[], &port_off).unwrap();
        assert!(!c.enabled);
        assert_eq!(c.port, 7000);

        let all = ConfigOverrides {
            system_host: Some("127.0.0.1".into()),
            starting_health_status: Some("Ready".into()),
            health_path: Some("/healthz".into()),
            live_path: Some("/livez".into()),
            use_endpoint_health_status: Some(vec!["embed".into()]),
            scrape_timeout_ms: Some(250),
            ..Default::default()
        };
        let c = resolve_with(
            &[
                ("DYN_SYSTEM_HOST", "10.0.0.1"),
                ("DYN_SYSTEM_STARTING_HEALTH_STATUS", "notready"),
                ("DYN_SYSTEM_HEALTH_PATH", "/h"),
                ("DYN_SYSTEM_LIVE_PATH", "/l"),
                ("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", "[\"generate\"]"),
                ("DYN_METRICS_SCRAPE_TIMEOUT_MS", "5000"),
            ],
            &all,
        )
        .unwrap();
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.starting_health, HealthStatus::Ready);
        assert_eq!(c.health_path, "/healthz");
        assert_eq!(c.live_path, "/livez");
        assert_eq!(c.use_endpoint_health_status, vec!["embed".to_string()]);
        assert_eq!(c.scrape_timeout, Duration::from_millis(250));
    }

    #[test]
    fn port_rules() {
        assert_eq!(env(&[("DYN_SYSTEM_PORT", "0")]).unwrap().port, 0);
        assert_eq!(env(&[("DYN_SYSTEM_PORT", "65535")]).unwrap().port, 65535);
        assert_eq!(env(&[("DYN_SYSTEM_PORT", " 8081 ")]).unwrap().port, 8081);
        for bad in ["abc", "-1", "70000", "9090x", "+80", "1.5", "99999999999"] {
            let m = config_err(env(&[("DYN_SYSTEM_PORT", bad)]));
            assert!(m.contains("DYN_SYSTEM_PORT"), "{m}");
            assert!(m.contains(bad), "{m}");
            assert!(m.contains("0-65535"), "{m}");
        }
        let o = ConfigOverrides {
            system_port: Some(70000),
            ..Default::default()
        };
        let m = config_err(resolve_with(&[], &o));
        assert!(m.contains("systemPort"), "{m}");
        assert!(m.contains("70000"), "{m}");
        assert!(m.contains("0-65535"), "{m}");
    }

    #[test]
    fn host_rules() {
        assert_eq!(
            env(&[("DYN_SYSTEM_HOST", "127.0.0.1")])
                .unwrap()
                .host
                .to_string(),
            "127.0.0.1"
        );
        assert_eq!(
            env(&[("DYN_SYSTEM_HOST", "::1")]).unwrap().host.to_string(),
            "::1"
        );
        assert_eq!(
            env(&[("DYN_SYSTEM_HOST", "[::]")])
                .unwrap()
                .host
                .to_string(),
            "::"
        );
        for bad in ["localhost", "1.2.3", "example.com"] {
            let m = config_err(env(&[("DYN_SYSTEM_HOST", bad)]));
            assert!(m.contains("DYN_SYSTEM_HOST") && m.contains(bad), "{m}");
        }
        let o = ConfigOverrides {
            system_host: Some("nope".into()),
            ..Default::default()
        };
        let m = config_err(resolve_with(&[], &o));
        assert!(m.contains("systemHost"), "{m}");
    }

    #[test]
    fn starting_health_rules() {
        let c = env(&[("DYN_SYSTEM_STARTING_HEALTH_STATUS", "READY")]).unwrap();
        assert_eq!(c.starting_health, HealthStatus::Ready);
        let c = env(&[("DYN_SYSTEM_STARTING_HEALTH_STATUS", "NotReady")]).unwrap();
        assert_eq!(c.starting_health, HealthStatus::NotReady);
        let m = config_err(env(&[("DYN_SYSTEM_STARTING_HEALTH_STATUS", "healthy")]));
        assert!(m.contains("DYN_SYSTEM_STARTING_HEALTH_STATUS"), "{m}");
        assert!(m.contains("healthy"), "{m}");
        assert!(m.contains("\"ready\"") && m.contains("\"notready\""), "{m}");
    }

    #[test]
    fn path_rules() {
        let c = env(&[
            ("DYN_SYSTEM_HEALTH_PATH", "/healthz"),
            ("DYN_SYSTEM_LIVE_PATH", "/v1/live"),
        ])
        .unwrap();
        assert_eq!(c.health_path, "/healthz");
        assert_eq!(c.live_path, "/v1/live");

        let m = config_err(env(&[("DYN_SYSTEM_HEALTH_PATH", "healthz")]));
        assert!(
            m.contains("DYN_SYSTEM_HEALTH_PATH") && m.contains("\"/\""),
            "{m}"
        );
        let m = config_err(env(&[("DYN_SYSTEM_LIVE_PATH", "live")]));
        assert!(m.contains("DYN_SYSTEM_LIVE_PATH"), "{m}");
        let m = config_err(env(&[("DYN_SYSTEM_LIVE_PATH", "/metrics")]));
        assert!(m.contains("reserved"), "{m}");
        let o = ConfigOverrides {
            health_path: Some("x".into()),
            ..Default::default()
        };
        assert!(config_err(resolve_with(&[], &o)).contains("healthPath"));
    }

    #[test]
    fn endpoint_list_rules() {
        let c = env(&[(
            "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS",
            "[\"generate\", \"embed\"]",
        )])
        .unwrap();
        assert_eq!(c.use_endpoint_health_status, vec!["generate", "embed"]);
        let c = env(&[("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", "[]")]).unwrap();
        assert!(c.use_endpoint_health_status.is_empty());
        for bad in ["generate", "[\"generate\"", "[1]", "{\"a\":1}"] {
            let m = config_err(env(&[("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS", bad)]));
            assert!(m.contains("DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS"), "{m}");
        }
    }

    #[test]
    fn scrape_timeout_rules() {
        let c = env(&[("DYN_METRICS_SCRAPE_TIMEOUT_MS", "2500")]).unwrap();
        assert_eq!(c.scrape_timeout, Duration::from_millis(2500));
        for bad in ["0", "-5", "1.5", "abc", "99999999999"] {
            let m = config_err(env(&[("DYN_METRICS_SCRAPE_TIMEOUT_MS", bad)]));
            assert!(
                m.contains("DYN_METRICS_SCRAPE_TIMEOUT_MS") && m.contains(bad),
                "{m}"
            );
            assert!(m.contains("positive integer"), "{m}");
        }
        let o = ConfigOverrides {
            scrape_timeout_ms: Some(0),
            ..Default::default()
        };
        assert!(config_err(resolve_with(&[], &o)).contains("scrapeTimeoutMs"));
    }
}
