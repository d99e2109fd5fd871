//! Reads `DistributedRuntime.create()`'s options object field by field (the fields come from
//! `runtime_options!`): a value of the wrong JS type is a `ConfigError` naming the option and
//! what it must be, where napi's own conversion of a `#[napi(object)]` would throw an untyped
//! `StringExpected`/`NumberExpected` error. Ranges and values are the core's to check
//! (`config.rs`); this only checks JS types.

use dynamo_metrics_core::{ErrorKind, MetricsError};
use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, Object, Unknown};
use napi::ValueType;

use crate::{js, napi_error, Result};

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

/// The JS type an option's Rust type is read from, and how a message names it.
pub(crate) trait JsOption: Sized {
    /// The value inside the option.
    type Inner: FromNapiValue;
    /// The JS type it must have.
    const WANT: ValueType;
    /// That type in words.
    const WHAT: &'static str;
    /// The option from its value (None when absent).
    fn wrap(v: Option<Self::Inner>) -> Self;
}

macro_rules! js_option {
    ($($t:ty => $want:ident, $what:literal;)*) => {$(
        impl JsOption for Option<$t> {
            type Inner = $t;
            const WANT: ValueType = ValueType::$want;
            const WHAT: &'static str = $what;
            fn wrap(v: Option<$t>) -> Self {
                v
            }
        }
    )*};
}
js_option! {
    bool => Boolean, "true or false";
    f64 => Number, "a number";
    String => String, "a string";
    Vec<String> => Object, "an array of strings";
}

/// `snake_case` as the camelCase key napi gives the JS object.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Option `field` (its Rust name) of `o`: None when absent (undefined), else read from a value
/// of the JS type `T` wants, or the ConfigError naming the option.
pub(crate) fn option<T: JsOption>(o: &Object, field: &str) -> Result<T> {
    let key = camel(field);
    let v: Unknown = o.get_named_property_unchecked(&key).map_err(napi_error)?;
    let got = v.get_type().map_err(napi_error)?;
    if got == ValueType::Undefined {
        return Ok(T::wrap(None));
    }
    let bad = || {
        js(MetricsError::new(
            ErrorKind::Config,
            format!(
                "DistributedRuntime.create: option {key} must be {}; got {}",
                T::WHAT,
                type_name(got)
            ),
        ))
    };
    if got != T::WANT {
        return Err(bad());
    }
    T::Inner::from_unknown(v)
        .map(|v| T::wrap(Some(v)))
        .map_err(|_| bad())
}

/// A field the package itself sets (never a caller), read as napi converts it.
pub(crate) fn internal<T: FromNapiValue>(o: &Object, key: &str) -> Result<T> {
    o.get_named_property_unchecked(key).map_err(napi_error)
}
