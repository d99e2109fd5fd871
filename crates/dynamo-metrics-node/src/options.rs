//! Reads `DistributedRuntime.create()`'s options object field by field: a value of the wrong JS
//! type is a `ConfigError` naming the option and what it must be, where napi's own conversion of
//! a `#[napi(object)]` would throw an untyped `StringExpected`/`NumberExpected` error. Ranges and
//! values are the core's to check (`config.rs`); this only checks JS types.

use dynamo_metrics_core::{ErrorKind, MetricsError};
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, Object, Unknown};
use napi::ValueType;

use crate::{js, napi_error, Result, RuntimeOptions};

/// How a JS type is named in a message.
fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Null => "null",
        ValueType::Boolean => "a boolean",
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Symbol => "a symbol",
        ValueType::Object => "an object",
        ValueType::Function => "a function",
        ValueType::BigInt => "a bigint",
        _ => "a value of another type",
    }
}

/// Option `key` of `o`: None when absent (undefined), else a `T` read from a value of JS type
/// `want` (`what` says it in words), or the ConfigError naming the option.
fn option<T: FromNapiValue>(
    o: &Object,
    key: &str,
    want: ValueType,
    what: &str,
) -> Result<Option<T>> {
    let v: Unknown = o.get_named_property_unchecked(key).map_err(napi_error)?;
    let got = v.get_type().map_err(napi_error)?;
    if got == ValueType::Undefined {
        return Ok(None);
    }
    let bad = || {
        js(MetricsError::new(
            ErrorKind::Config,
            format!(
                "DistributedRuntime.create: option {key} must be {what}; got {}",
                type_name(got)
            ),
        ))
    };
    if got != want {
        return Err(bad());
    }
    T::from_unknown(v).map(Some).map_err(|_| bad())
}

/// The options object as [`RuntimeOptions`]; every field is named, so none can be left out.
pub(crate) fn runtime_options(o: &Object) -> Result<RuntimeOptions> {
    use ValueType::{Boolean, Number, Object as Obj, String as Str};
    const NUMBER: &str = "a number";
    const STRING: &str = "a string";
    Ok(RuntimeOptions {
        system_enabled: option(o, "systemEnabled", Boolean, "true or false")?,
        system_port: option(o, "systemPort", Number, NUMBER)?,
        system_host: option(o, "systemHost", Str, STRING)?,
        starting_health_status: option(o, "startingHealthStatus", Str, STRING)?,
        health_path: option(o, "healthPath", Str, STRING)?,
        live_path: option(o, "livePath", Str, STRING)?,
        use_endpoint_health_status: option(
            o,
            "useEndpointHealthStatus",
            Obj,
            "an array of strings",
        )?,
        scrape_timeout_ms: option(o, "scrapeTimeoutMs", Number, NUMBER)?,
        header_read_timeout_ms: option(o, "headerReadTimeoutMs", Number, NUMBER)?,
        idle_timeout_ms: option(o, "idleTimeoutMs", Number, NUMBER)?,
        write_timeout_ms: option(o, "writeTimeoutMs", Number, NUMBER)?,
        max_connections: option(o, "maxConnections", Number, NUMBER)?,
        max_concurrent_renders: option(o, "maxConcurrentRenders", Number, NUMBER)?,
        render_wait_ms: option(o, "renderWaitMs", Number, NUMBER)?,
        nats_server: option(o, "natsServer", Str, STRING)?,
        max_series_per_family: option(o, "maxSeriesPerFamily", Number, NUMBER)?,
        // Set by the package itself, never by a caller.
        slab_size: o
            .get_named_property_unchecked("slabSize")
            .map_err(napi_error)?,
        max_string_length: o
            .get_named_property_unchecked("maxStringLength")
            .map_err(napi_error)?,
    })
}
