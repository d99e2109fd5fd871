//! The limits that keep clients from exhausting the status server's connections and memory.
//! Each one has a default here and a `DYN_SYSTEM_*` variable and a `DistributedRuntime.create()`
//! option (read in [`crate::config`]).

use std::time::Duration;

/// Default of [`ServerLimits::header_read_timeout`], in ms.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u32 = 10_000;
/// Default of [`ServerLimits::idle_timeout`], in ms.
pub const DEFAULT_IDLE_TIMEOUT_MS: u32 = 60_000;
/// Default of [`ServerLimits::write_timeout`], in ms.
pub const DEFAULT_WRITE_TIMEOUT_MS: u32 = 10_000;
/// Default of [`ServerLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 2048;
/// Default of [`ServerLimits::max_concurrent_renders`].
pub const DEFAULT_MAX_CONCURRENT_RENDERS: u32 = 16;
/// Default of [`ServerLimits::render_wait`], in ms.
pub const DEFAULT_RENDER_WAIT_MS: u32 = 2000;
/// The shortest `X-Prometheus-Scrape-Timeout-Seconds` honoured; a shorter value is raised to it,
/// so no client can make every scrape miss its callbacks' deadline.
pub const MIN_PROMETHEUS_TIMEOUT: Duration = Duration::from_millis(250);
/// The `Retry-After` (seconds) of a scrape refused because too many renders are in flight.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Per-server limits; see the README's environment variables for what each one means to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// A client must send a complete request head within this long: from the connection's start,
    /// or from the first byte of a later request on a keep-alive connection.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// A response whose reader takes no byte for this long is abandoned and its connection closed.
    pub write_timeout: Duration,
    /// Open connections at most; a connection past it is closed at once, the others go on.
    pub max_connections: usize,
    /// `/metrics` renders in flight at most (a render lasts until its body is sent).
    pub max_concurrent_renders: usize,
    /// How long a scrape past [`ServerLimits::max_concurrent_renders`] waits for a turn before
    /// it is answered 503 with `Retry-After`.
    pub render_wait: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        let ms = |v: u32| Duration::from_millis(v.into());
        ServerLimits {
            header_read_timeout: ms(DEFAULT_HEADER_READ_TIMEOUT_MS),
            idle_timeout: ms(DEFAULT_IDLE_TIMEOUT_MS),
            write_timeout: ms(DEFAULT_WRITE_TIMEOUT_MS),
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
            max_concurrent_renders: DEFAULT_MAX_CONCURRENT_RENDERS as usize,
            render_wait: ms(DEFAULT_RENDER_WAIT_MS),
        }
    }
}
