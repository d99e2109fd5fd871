//! System status server configuration: Dynamo's `DYN_SYSTEM_*` environment variables, overridden
//! by the options given to `DistributedRuntime.create()`.
//!
//! Every value is validated even when the server ends up disabled, so a typo surfaces at startup
//! instead of the day someone turns the server on. Each setting is read by [`setting`]: the option
//! wins over its variable, which wins over the default, and one rule checks both.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::{ErrorKind, MetricsError};
use crate::health::HealthStatus;

/// Enables the status server (1/true/on/yes or 0/false/off/no).
pub const ENV_SYSTEM_ENABLED: &str = "DYN_SYSTEM_ENABLED";
/// Port of the status server; setting it also enables the server.
pub const ENV_SYSTEM_PORT: &str = "DYN_SYSTEM_PORT";
/// Address the status server binds.
pub const ENV_SYSTEM_HOST: &str = "DYN_SYSTEM_HOST";
/// `ready` or `notready` until the program says otherwise.
pub const ENV_STARTING_HEALTH_STATUS: &str = "DYN_SYSTEM_STARTING_HEALTH_STATUS";
/// Path of the health route.
pub const ENV_HEALTH_PATH: &str = "DYN_SYSTEM_HEALTH_PATH";
/// Path of the liveness route.
pub const ENV_LIVE_PATH: &str = "DYN_SYSTEM_LIVE_PATH";
/// JSON list of the endpoints whose health decides `/health`.
pub const ENV_USE_ENDPOINT_HEALTH_STATUS: &str = "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS";
/// Deadline of one scrape's metrics callbacks, in milliseconds.
pub const ENV_SCRAPE_TIMEOUT_MS: &str = "DYN_METRICS_SCRAPE_TIMEOUT_MS";
/// Dynamo's variable for the NATS server of the request plane.
pub const ENV_NATS_SERVER: &str = "NATS_SERVER";

/// Port of the status server when none is given.
pub const DEFAULT_PORT: u16 = 9090;
/// Address of the status server when none is given.
pub const DEFAULT_HOST: &str = "0.0.0.0";
/// Path of the health route when none is given.
pub const DEFAULT_HEALTH_PATH: &str = "/health";
/// Path of the liveness route when none is given.
pub const DEFAULT_LIVE_PATH: &str = "/live";
/// Callback deadline of one scrape when none is given.
pub const DEFAULT_SCRAPE_TIMEOUT_MS: u32 = 1000;
/// Served by the status server itself, so a health or live path may not take it.
pub const METRICS_PATH: &str = "/metrics";

/// Options passed by the user to `DistributedRuntime.create()`; each one wins over its variable.
/// Numbers arrive as the JS numbers they were (f64), so the range rule sees `80.9` or `NaN`
/// before anything converts them.
#[derive(Debug, Clone, Default)]
pub struct ConfigOverrides {
    /// `systemEnabled`.
    pub system_enabled: Option<bool>,
    /// `systemPort`.
    pub system_port: Option<f64>,
    /// `systemHost`.
    pub system_host: Option<String>,
    /// `startingHealthStatus`.
    pub starting_health_status: Option<String>,
    /// `healthPath`.
    pub health_path: Option<String>,
    /// `livePath`.
    pub live_path: Option<String>,
    /// `useEndpointHealthStatus`.
    pub use_endpoint_health_status: Option<Vec<String>>,
    /// `scrapeTimeoutMs`.
    pub scrape_timeout_ms: Option<f64>,
    /// `natsServer`: URL of the NATS server for the request plane; wins over `NATS_SERVER`.
    pub nats_server: Option<String>,
}

/// The resolved configuration of a runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemConfig {
    /// Whether the status server runs.
    pub enabled: bool,
    /// Parsed here once; the server binds it as it is.
    pub host: IpAddr,
    /// 0 asks the OS for a free port.
    pub port: u16,
    /// Health until the program sets it.
    pub starting_health: HealthStatus,
    /// Path of the health route.
    pub health_path: String,
    /// Path of the liveness route.
    pub live_path: String,
    /// Endpoints whose health decides `/health` (empty: the process status decides).
    pub use_endpoint_health_status: Vec<String>,
    /// Deadline for the metrics callback of one scrape.
    pub scrape_timeout: Duration,
    /// NATS URL of the request plane; None means in-process only.
    pub nats_server: Option<String>,
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
pub enum Source {
    /// An environment variable.
    Env(&'static str),
    /// An option of `DistributedRuntime.create()`.
    Option(&'static str),
    /// The argument of a method, such as `setHealthStatus`.
    Argument(&'static str),
}

impl Source {
    fn describe(self) -> String {
        match self {
            Source::Env(name) => format!("environment variable {name}"),
            Source::Option(name) => format!("option {name}"),
            Source::Argument(name) => format!("argument of {name}"),
        }
    }

    fn invalid(self, value: impl std::fmt::Display, rule: &str) -> MetricsError {
        config_error(format!("invalid {} value {value}: {rule}", self.describe()))
    }
}

/// Reads one setting: the option given in code wins over the environment variable, which wins
/// over `default`. `from_option` and `from_env` apply the setting's rule to either source.
fn setting<O, T>(
    option: Option<O>,
    option_name: &'static str,
    var: Option<String>,
    env_name: &'static str,
    from_option: impl FnOnce(O, Source) -> crate::Result<T>,
    from_env: impl FnOnce(&str, Source) -> crate::Result<T>,
    default: impl FnOnce() -> T,
) -> crate::Result<T> {
    match (option, var) {
        (Some(o), _) => from_option(o, Source::Option(option_name)),
        (None, Some(v)) => from_env(&v, Source::Env(env_name)),
        (None, None) => Ok(default()),
    }
}

/// A JS number that must be an integer in `min..=max`; checked before any conversion, so `80.9`,
/// `NaN` or `-1` are refused instead of becoming 80, a random port or 4294967295.
fn integer_in(v: f64, min: u64, max: u64, src: Source, rule: &str) -> crate::Result<u64> {
    if v.is_finite() && v.fract() == 0.0 && v >= min as f64 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(src.invalid(format_number(v), rule))
    }
}

/// A number as JS prints it (`NaN`, `Infinity`, `80.9`, `-1`, `100000000000000000000`).
fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v}")
    }
}

/// An environment value as a number: digits only (`u64::from_str` would also take a leading
/// `+`), so anything else is NaN and fails the range rule with the text the user wrote.
fn env_number(value: &str) -> f64 {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse::<f64>().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

const PORT_RULE: &str = "the port must be an integer 0-65535 (0 picks a free port)";
const TIMEOUT_RULE: &str =
    "the scrape timeout must be a positive integer number of milliseconds (at most 4294967295)";

fn port(v: f64, src: Source) -> crate::Result<u16> {
    integer_in(v, 0, u16::MAX.into(), src, PORT_RULE).map(|p| p as u16)
}

fn port_env(value: &str, src: Source) -> crate::Result<u16> {
    port(env_number(value), src).map_err(|_| src.invalid(format!("{value:?}"), PORT_RULE))
}

fn timeout(v: f64, src: Source) -> crate::Result<Duration> {
    integer_in(v, 1, u32::MAX.into(), src, TIMEOUT_RULE).map(Duration::from_millis)
}

fn timeout_env(value: &str, src: Source) -> crate::Result<Duration> {
    timeout(env_number(value), src).map_err(|_| src.invalid(format!("{value:?}"), TIMEOUT_RULE))
}

fn parse_host(value: &str, src: Source) -> crate::Result<IpAddr> {
    let trimmed = value.trim();
    // Accept the bracketed IPv6 form people copy from URLs.
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    bare.parse::<IpAddr>().map_err(|_| {
        src.invalid(
            format!("{value:?}"),
            "the host must be an IP address such as 0.0.0.0, 127.0.0.1 or ::",
        )
    })
}

/// The one parser of a health status, for the configuration and for `setHealthStatus`.
pub fn parse_health(value: &str, src: Source) -> crate::Result<HealthStatus> {
    HealthStatus::parse(value).ok_or_else(|| {
        src.invalid(
            format!("{value:?}"),
            "allowed values are \"ready\" and \"notready\"",
        )
    })
}

fn parse_path(value: &str, src: Source) -> crate::Result<String> {
    if !value.starts_with('/') {
        return Err(src.invalid(format!("{value:?}"), "the path must start with \"/\""));
    }
    if value == METRICS_PATH {
        return Err(src.invalid(
            format!("{value:?}"),
            &format!("{METRICS_PATH} is reserved for the metrics route"),
        ));
    }
    Ok(value.to_string())
}

fn parse_endpoint_list(value: &str, src: Source) -> crate::Result<Vec<String>> {
    serde_json::from_str::<Vec<String>>(value).map_err(|e| {
        src.invalid(
            format!("{value:?}"),
            &format!("expected a JSON list of endpoint names such as [\"generate\"] ({e})"),
        )
    })
}

fn parse_enabled(value: &str, src: Source) -> crate::Result<bool> {
    if is_truthy(value) {
        Ok(true)
    } else if is_falsy(value) {
        Ok(false)
    } else {
        Err(src.invalid(
            format!("{value:?}"),
            "expected one of 1/true/on/yes or 0/false/off/no",
        ))
    }
}

fn given<T>(v: T, _: Source) -> crate::Result<T> {
    Ok(v)
}

/// A blank URL means no NATS server, as an unset variable does.
fn nats_url(value: &str, _: Source) -> crate::Result<Option<String>> {
    let url = value.trim();
    Ok((!url.is_empty()).then(|| url.to_string()))
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
        // Checked even when the option decides, so a typo in the environment still surfaces.
        let env_enabled = var(ENV_SYSTEM_ENABLED)
            .map(|v| parse_enabled(&v, Source::Env(ENV_SYSTEM_ENABLED)))
            .transpose()?;
        let port_var = var(ENV_SYSTEM_PORT);
        let enabled = match o.system_enabled {
            Some(e) => e,
            // Passing a port in code is an explicit request for the server.
            None if o.system_port.is_some() => true,
            None => env_enabled.unwrap_or(port_var.is_some()),
        };
        let port = setting(
            o.system_port,
            "systemPort",
            port_var,
            ENV_SYSTEM_PORT,
            port,
            port_env,
            || DEFAULT_PORT,
        )?;
        let host = setting(
            o.system_host.as_deref(),
            "systemHost",
            var(ENV_SYSTEM_HOST),
            ENV_SYSTEM_HOST,
            parse_host,
            parse_host,
            || SystemConfig::default().host,
        )?;
        let starting_health = setting(
            o.starting_health_status.as_deref(),
            "startingHealthStatus",
            var(ENV_STARTING_HEALTH_STATUS),
            ENV_STARTING_HEALTH_STATUS,
            parse_health,
            parse_health,
            || HealthStatus::NotReady,
        )?;
        let health_path = setting(
            o.health_path.as_deref(),
            "healthPath",
            var(ENV_HEALTH_PATH),
            ENV_HEALTH_PATH,
            parse_path,
            parse_path,
            || DEFAULT_HEALTH_PATH.to_string(),
        )?;
        let live_path = setting(
            o.live_path.as_deref(),
            "livePath",
            var(ENV_LIVE_PATH),
            ENV_LIVE_PATH,
            parse_path,
            parse_path,
            || DEFAULT_LIVE_PATH.to_string(),
        )?;
        let use_endpoint_health_status = setting(
            o.use_endpoint_health_status.clone(),
            "useEndpointHealthStatus",
            var(ENV_USE_ENDPOINT_HEALTH_STATUS),
            ENV_USE_ENDPOINT_HEALTH_STATUS,
            given,
            parse_endpoint_list,
            Vec::new,
        )?;
        let scrape_timeout = setting(
            o.scrape_timeout_ms,
            "scrapeTimeoutMs",
            var(ENV_SCRAPE_TIMEOUT_MS),
            ENV_SCRAPE_TIMEOUT_MS,
            timeout,
            timeout_env,
            || Duration::from_millis(DEFAULT_SCRAPE_TIMEOUT_MS.into()),
        )?;
        let nats_server = setting(
            o.nats_server.as_deref(),
            "natsServer",
            var(ENV_NATS_SERVER),
            ENV_NATS_SERVER,
            nats_url,
            nats_url,
            || None,
        )?;
        Ok(SystemConfig {
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
            system_port: Some(0.0),
            ..Default::default()
        };
        let c = resolve_with(&port_env, &port).unwrap();
        assert!(c.enabled);
        assert_eq!(c.port, 0);

        let port_off = ConfigOverrides {
            system_port: Some(7000.0),
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
            scrape_timeout_ms: Some(250.0),
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
            system_port: Some(70000.0),
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
            scrape_timeout_ms: Some(0.0),
            ..Default::default()
        };
        assert!(config_err(resolve_with(&[], &o)).contains("scrapeTimeoutMs"));
    }

    #[test]
    fn numeric_options_are_checked_as_the_numbers_given() {
        for (port, shown) in [
            (80.9, "80.9"),
            (1.5, "1.5"),
            (f64::NAN, "NaN"),
            (-1.0, "-1"),
            (65536.0, "65536"),
            (f64::INFINITY, "Infinity"),
        ] {
            let o = ConfigOverrides {
                system_port: Some(port),
                ..Default::default()
            };
            let m = config_err(resolve_with(&[], &o));
            assert!(m.contains("systemPort") && m.contains(shown), "{m}");
        }
        for (ms, shown) in [(-1.0, "-1"), (1e20, "100000000000000000000"), (2.5, "2.5")] {
            let o = ConfigOverrides {
                scrape_timeout_ms: Some(ms),
                ..Default::default()
            };
            let m = config_err(resolve_with(&[], &o));
            assert!(m.contains("scrapeTimeoutMs") && m.contains(shown), "{m}");
        }
        let o = ConfigOverrides {
            system_port: Some(65535.0),
            scrape_timeout_ms: Some(4_294_967_295.0),
            ..Default::default()
        };
        let c = resolve_with(&[], &o).unwrap();
        assert_eq!(c.port, 65535);
        assert_eq!(c.scrape_timeout, Duration::from_millis(4_294_967_295));
    }
}
