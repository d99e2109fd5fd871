//! The one error type of the core. Each kind maps to a typed JS error class (see `src-ts/errors.ts`),
//! so a message always names the offending input and the rule it broke.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A metric or hierarchy name that is empty or cannot be sanitized.
    InvalidName,
    /// A label name or label set that breaks a rule (reserved, `le`, duplicate, missing, unknown).
    InvalidLabel,
    /// Empty help text.
    InvalidHelp,
    /// Histogram buckets that are empty, not finite or not strictly increasing.
    InvalidBuckets,
    /// A value a metric cannot take (non-integer to an Int metric, negative counter increment).
    InvalidValue,
    /// The same series registered twice at the same level.
    Duplicate,
    /// The same family name with a different type, help, label names or buckets.
    Conflict,
    /// Bad configuration (environment variables or options).
    Config,
    /// The status server could not start (port taken, bad address).
    Server,
    /// The runtime was shut down.
    Closed,
    /// NATS is unreachable or a NATS operation failed.
    Nats,
    /// A request handler failed; the message is the handler's.
    Handler,
    /// Serving or calling endpoints went wrong (served twice, no instances).
    Endpoint,
}

impl ErrorKind {
    /// Stable code carried to JS as `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidName => "ERR_DYNAMO_INVALID_NAME",
            ErrorKind::InvalidLabel => "ERR_DYNAMO_INVALID_LABEL",
            ErrorKind::InvalidHelp => "ERR_DYNAMO_INVALID_HELP",
            ErrorKind::InvalidBuckets => "ERR_DYNAMO_INVALID_BUCKETS",
            ErrorKind::InvalidValue => "ERR_DYNAMO_INVALID_VALUE",
            ErrorKind::Duplicate => "ERR_DYNAMO_DUPLICATE_METRIC",
            ErrorKind::Conflict => "ERR_DYNAMO_METRIC_CONFLICT",
            ErrorKind::Config => "ERR_DYNAMO_CONFIG",
            ErrorKind::Server => "ERR_DYNAMO_SERVER",
            ErrorKind::Closed => "ERR_DYNAMO_CLOSED",
            ErrorKind::Nats => "ERR_DYNAMO_NATS",
            ErrorKind::Handler => "ERR_DYNAMO_HANDLER",
            ErrorKind::Endpoint => "ERR_DYNAMO_ENDPOINT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsError {
    pub kind: ErrorKind,
    pub message: String,
}

impl MetricsError {
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

pub type Result<T> = std::result::Result<T, MetricsError>;
