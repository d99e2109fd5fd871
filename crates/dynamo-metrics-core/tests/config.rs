//! Configuration through the public API: options over `DYN_SYSTEM_*` variables over defaults,
//! and the rule and the message of every setting.
use std::time::Duration;

use dynamo_metrics_core::config::*;
use dynamo_metrics_core::health::HealthStatus;
use dynamo_metrics_core::{ErrorKind, Result};

mod common;

fn resolve_with(vars: &[(&str, &str)], o: &ConfigOverrides) -> Result<SystemConfig> {
    common::resolve(vars, o)
}

fn env(vars: &[(&str, &str)]) -> Result<SystemConfig> {
    resolve_with(vars, &ConfigOverrides::default())
}

fn config_err(r: Result<SystemConfig>) -> String {
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

#[test]
fn max_series_per_family_default_env_and_option() {
    assert_eq!(env(&[]).unwrap().max_series_per_family, 10_000);
    let var = "DYN_METRICS_MAX_SERIES_PER_FAMILY";
    assert_eq!(env(&[(var, "50")]).unwrap().max_series_per_family, 50);
    let option = ConfigOverrides {
        max_series_per_family: Some(7.0),
        ..Default::default()
    };
    assert_eq!(
        resolve_with(&[(var, "50")], &option)
            .unwrap()
            .max_series_per_family,
        7
    );
    for bad in ["0", "-1", "1.5", "ten", "4294967296"] {
        let m = config_err(env(&[(var, bad)]));
        assert!(m.contains(var) && m.contains(bad), "{m}");
    }
    for bad in [0.0, 2.5, f64::NAN, -3.0] {
        let o = ConfigOverrides {
            max_series_per_family: Some(bad),
            ..Default::default()
        };
        let m = config_err(resolve_with(&[], &o));
        assert!(m.contains("option maxSeriesPerFamily"), "{m}");
    }
}
