//! The one error type of the core. Each kind has a stable code that the binding puts on the thrown
//! JS error as `error.code`; `src-ts/binding/errors.ts` maps every code (the list is generated
//! from [`ErrorKind::ALL`]) to a typed class, so a message always names the offending input and
//! the rule it broke.

use std::fmt;

/// Declares [`ErrorKind`], [`ErrorKind::ALL`] and [`ErrorKind::code`] from one list, so a kind
/// cannot exist without its code or be left out of the generated TS list.
macro_rules! error_kinds {
    ($($(#[doc = $doc:literal])* $kind:ident => $code:literal,)*) => {
        /// What went wrong, as a JS caller tells errors apart.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl ErrorKind {
            /// Every kind, in declaration order (the order of the generated TS list).
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),*];

            /// Stable code carried to JS as `error.code`.
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $code,)*
                }
            }
        }
    };
}

error_kinds! {
    /// A metric or hierarchy name that is empty or cannot be sanitized.
    InvalidName => "ERR_DYNAMO_INVALID_NAME",
    /// A label name or label set that breaks a rule (reserved, `le`, duplicate, missing, unknown).
    InvalidLabel => "ERR_DYNAMO_INVALID_LABEL",
    /// Empty help text.
    InvalidHelp => "ERR_DYNAMO_INVALID_HELP",
    /// Histogram buckets that are empty, not finite or not strictly increasing.
    InvalidBuckets => "ERR_DYNAMO_INVALID_BUCKETS",
    /// A value a metric cannot take (non-integer to an Int metric, negative counter increment).
    InvalidValue => "ERR_DYNAMO_INVALID_VALUE",
    /// The same series registered twice at the same level.
    Duplicate => "ERR_DYNAMO_DUPLICATE_METRIC",
    /// The same family name with a different type, help, label names or buckets, or a name that
    /// collides with another family's sample names.
    Conflict => "ERR_DYNAMO_METRIC_CONFLICT",
    /// Bad configuration (environment variables or options).
    Config => "ERR_DYNAMO_CONFIG",
    /// The status server could not start (port taken, bad address).
    Server => "ERR_DYNAMO_SERVER",
    /// The runtime was shut down.
    Closed => "ERR_DYNAMO_CLOSED",
    /// NATS is unreachable or a NATS operation failed.
    Nats => "ERR_DYNAMO_NATS",
    /// A request handler failed; the message is the handler's.
    Handler => "ERR_DYNAMO_HANDLER",
    /// Serving or calling endpoints went wrong (served twice, no instances).
    Endpoint => "ERR_DYNAMO_ENDPOINT",
    /// An argument of the wrong type or shape where no narrower kind applies: a callback that is
    /// not a function, a request that is not JSON, a Component where a Namespace belongs.
    InvalidArgument => "ERR_DYNAMO_INVALID_ARGUMENT",
    /// `prometheusMetricsFmt()` cannot answer: the text is longer than a JS string can be, or a
    /// callback awaits the scrape that waits for it.
    Scrape => "ERR_DYNAMO_SCRAPE",
}

/// An error of the core: its kind (the JS class) and a message naming the input and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsError {
    /// Which class the JS side throws.
    pub kind: ErrorKind,
    /// What the user reads.
    pub message: String,
}

impl MetricsError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        MetricsError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MetricsError {}

/// The result of every fallible core call.
pub type Result<T> = std::result::Result<T, MetricsError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_with_its_own_code() {
        let codes: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert!(codes.iter().all(|c| c.starts_with("ERR_DYNAMO_")));
    }
}
