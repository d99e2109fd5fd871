//! System status server configuration: Dynamo's `DYN_SYSTEM_*` environment variables, overridden
//! by the options given to `DistributedRuntime.create()`.
//!
//! Every value is validated even when the server ends up disabled, so a typo surfaces at startup
//! instead of the day someone turns the server on. Each setting is read by `setting`: the option
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
/// Series per metric family before new label sets fold into its overflow series
/// (see [`crate::series::limit`]).
pub const ENV_MAX_SERIES_PER_FAMILY: &str = "DYN_METRICS_MAX_SERIES_PER_FAMILY";
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

/// The options of `DistributedRuntime.create()`, declared once: hands every option to
/// `$callback!` as `$(#[doc = "..."])* $(#[ts = "..."])? name: [Type],`. The core builds
/// [`ConfigOverrides`] from it; the binding builds its N-API options object and the conversion
/// into [`ConfigOverrides`] from the same list, so an option exists in all three or in none. The
/// docs are what users read on the JS option; `#[ts]` narrows the JS type (the binding's only use).
/// The docs are `#[doc = "..."]`, not `///`: forwarded through a macro, `///` arrives as a raw
/// string that napi-rs copies into the generated declaration with its `r"`. The types are in
/// brackets so they are forwarded as plain tokens: a `$t:ty` reaches napi-rs as an opaque group
/// in which it does not see the `Option`, and it would make the option required.
#[macro_export]
macro_rules! runtime_options {
    ($callback:ident) => {
        $callback! {
            #[doc = " Start the system status server; wins over `DYN_SYSTEM_ENABLED` / `DYN_SYSTEM_PORT`."]
            system_enabled: [Option<bool>],
            #[doc = " Port of the status server (0 = a free port); wins over `DYN_SYSTEM_PORT` and enables the server."]
            system_port: [Option<f64>],
            #[doc = " Address to bind; wins over `DYN_SYSTEM_HOST` (default `0.0.0.0`)."]
            system_host: [Option<String>],
            #[doc = " `ready` or `notready`; wins over `DYN_SYSTEM_STARTING_HEALTH_STATUS` (default `notready`)."]
            #[ts = "'ready' | 'notready'"]
            starting_health_status: [Option<String>],
            #[doc = " Wins over `DYN_SYSTEM_HEALTH_PATH` (default `/health`)."]
            health_path: [Option<String>],
            #[doc = " Wins over `DYN_SYSTEM_LIVE_PATH` (default `/live`)."]
            live_path: [Option<String>],
            #[doc = " Endpoints that must be ready for `/health` to be 200; wins over `DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS`."]
            use_endpoint_health_status: [Option<Vec<String>>],
            #[doc = " Deadline for the callbacks of one scrape in ms; wins over `DYN_METRICS_SCRAPE_TIMEOUT_MS` (default 1000)."]
            scrape_timeout_ms: [Option<f64>],
            #[doc = " Status server: ms a client has to send a complete request head; wins over `DYN_SYSTEM_HEADER_READ_TIMEOUT_MS` (default 10000)."]
            header_read_timeout_ms: [Option<f64>],
            #[doc = " Status server: ms a keep-alive connection may sit without a request; wins over `DYN_SYSTEM_IDLE_TIMEOUT_MS` (default 60000)."]
            idle_timeout_ms: [Option<f64>],
            #[doc = " Status server: ms a response may wait for its reader to take a byte; wins over `DYN_SYSTEM_WRITE_TIMEOUT_MS` (default 10000)."]
            write_timeout_ms: [Option<f64>],
            #[doc = " Status server: open connections at most (new ones past it are closed); wins over `DYN_SYSTEM_MAX_CONNECTIONS` (default 2048)."]
            max_connections: [Option<f64>],
            #[doc = " Status server: `/metrics` renders in flight at most; wins over `DYN_SYSTEM_MAX_CONCURRENT_RENDERS` (default 16)."]
            max_concurrent_renders: [Option<f64>],
            #[doc = " Status server: ms a scrape past `maxConcurrentRenders` waits before a 503 with `Retry-After` (0 = none); wins over `DYN_SYSTEM_RENDER_WAIT_MS` (default 2000)."]
            render_wait_ms: [Option<f64>],
            #[doc = " NATS server of the request plane (e.g. `nats://127.0.0.1:4222`); wins over `NATS_SERVER`. Without one, endpoints are served in-process."]
            nats_server: [Option<String>],
            #[doc = " Series per metric family before new label sets fold into its overflow series (a metric's `maxSeries` wins); wins over `DYN_METRICS_MAX_SERIES_PER_FAMILY` (default 10000)."]
            max_series_per_family: [Option<f64>],
        }
    };
}

macro_rules! config_overrides {
    ($($(#[doc = $doc:literal])* $(#[ts = $ts:literal])? $name:ident: [$($ty:tt)*],)*) => {
        /// Options passed by the user to `DistributedRuntime.create()` (declared in
        /// [`runtime_options!`]); each one wins over its variable. Numbers arrive as the JS
        /// numbers they were (f64), so the range rule sees `80.9` or `NaN` before anything
        /// converts them.
        #[derive(Debug, Clone, Default)]
        pub struct ConfigOverrides {
            $($(#[doc = $doc])* pub $name: $($ty)*,)*
        }
    };
}
runtime_options!(config_overrides);

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
    /// The status server's timeouts and caps.
    pub limits: crate::server::ServerLimits,
    /// Series per family unless the metric sets its own (the cardinality guard).
    pub max_series_per_family: u32,
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
            max_series_per_family: crate::series::limit::DEFAULT_MAX_SERIES,
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
    // A request's path is a URI path: printable ASCII without `?` or `#`. Any other path
    // (a space, a non-ASCII letter) could never be requested.
    let requestable = value
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'?' && b != b'#')
        && value
            .parse::<axum::http::uri::PathAndQuery>()
            .is_ok_and(|p| p.path() == value);
    if !requestable {
        return Err(src.invalid(
            format!("{value:?}"),
            "no request can have this path (use printable ASCII without spaces, \"?\" or \"#\"; percent-encode anything else)",
        ));
    }
    Ok(value.to_string())
}

/// The per-family series limit, from `maxSeriesPerFamily`, its variable or a metric's `maxSeries`.
pub fn max_series(v: f64, src: Source) -> crate::Result<u32> {
    count(v, 1, src).map(|n| n as u32)
}

fn max_series_env(value: &str, src: Source) -> crate::Result<u32> {
    count_env(value, 1, src).map(|n| n as u32)
}

/// A server limit: a whole number from `min` to 4294967295, checked as the JS number given.
fn count(v: f64, min: u32, src: Source) -> crate::Result<u64> {
    let rule = format!("expected an integer from {min} to {}", u32::MAX);
    integer_in(v, min.into(), u32::MAX.into(), src, &rule)
}

fn count_env(value: &str, min: u32, src: Source) -> crate::Result<u64> {
    count(env_number(value), min, src).map_err(|_| {
        src.invalid(
            format!("{value:?}"),
            &format!("expected an integer from {min} to {}", u32::MAX),
        )
    })
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

        use crate::server::limits::*;
        let limit = |o: Option<f64>, name, env, min: u32, default: u32| {
            setting(
                o,
                name,
                var(env),
                env,
                |v, src| count(v, min, src),
                |v, src| count_env(v, min, src),
                || u64::from(default),
            )
        };
        let ms = Duration::from_millis;
        let limits = crate::server::ServerLimits {
            header_read_timeout: ms(limit(
                o.header_read_timeout_ms,
                "headerReadTimeoutMs",
                ENV_HEADER_READ_TIMEOUT_MS,
                1,
                DEFAULT_HEADER_READ_TIMEOUT_MS,
            )?),
            idle_timeout: ms(limit(
                o.idle_timeout_ms,
                "idleTimeoutMs",
                ENV_IDLE_TIMEOUT_MS,
                1,
                DEFAULT_IDLE_TIMEOUT_MS,
            )?),
            write_timeout: ms(limit(
                o.write_timeout_ms,
                "writeTimeoutMs",
                ENV_WRITE_TIMEOUT_MS,
                1,
                DEFAULT_WRITE_TIMEOUT_MS,
            )?),
            max_connections: limit(
                o.max_connections,
                "maxConnections",
                ENV_MAX_CONNECTIONS,
                1,
                DEFAULT_MAX_CONNECTIONS,
            )? as usize,
            max_concurrent_renders: limit(
                o.max_concurrent_renders,
                "maxConcurrentRenders",
                ENV_MAX_CONCURRENT_RENDERS,
                1,
                DEFAULT_MAX_CONCURRENT_RENDERS,
            )? as usize,
            render_wait: ms(limit(
                o.render_wait_ms,
                "renderWaitMs",
                ENV_RENDER_WAIT_MS,
                0,
                DEFAULT_RENDER_WAIT_MS,
            )?),
        };
        let max_series_per_family = setting(
            o.max_series_per_family,
            "maxSeriesPerFamily",
            var(ENV_MAX_SERIES_PER_FAMILY),
            ENV_MAX_SERIES_PER_FAMILY,
            max_series,
            max_series_env,
            || crate::series::limit::DEFAULT_MAX_SERIES,
        )?;
        Ok(SystemConfig {
            limits,
            max_series_per_family,
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
