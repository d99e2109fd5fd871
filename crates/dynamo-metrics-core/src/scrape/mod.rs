//! One scrape of a subtree: run its JS callbacks once (shared by concurrent scrapes, bounded by a
//! deadline), take the slab snapshot, encode. `render` holds the policy of where and when.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

mod render;
mod single_flight;

pub use render::{HookRun, Rendered, ScrapeCall};
pub use single_flight::{Claim, Outcome, OutcomeSender, SingleFlight};

/// The callbacks' outcome: one message per failure, or why they could not run.
pub type InvokeFuture =
    Pin<Box<dyn Future<Output = std::result::Result<Vec<String>, String>> + Send>>;

/// Runs callbacks on the JS thread. Implemented by the binding; the JS side must call
/// [`crate::runtime::Runtime::commit_snapshot`] with the call's token after the callbacks settle
/// and before the future resolves. Resolves with one message per callback that threw or rejected.
pub trait CallbackInvoker: Send + Sync + 'static {
    /// Starts the callbacks of `call` from a runtime thread.
    fn invoke(&self, call: ScrapeCall) -> InvokeFuture;
}

/// The callback deadline: the configured one, tightened to leave room for encoding when
/// Prometheus announces a shorter scrape timeout.
pub fn deadline(configured: Duration, prometheus: Option<Duration>) -> Duration {
    match prometheus {
        Some(p) => configured.min(p.mul_f64(0.8)),
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_prometheus_timeout_tightens_the_deadline() {
        let s = Duration::from_secs;
        assert_eq!(deadline(s(1), None), s(1));
        assert_eq!(deadline(s(1), Some(s(10))), s(1));
        assert_eq!(
            deadline(s(1), Some(Duration::from_millis(500))),
            Duration::from_millis(400)
        );
    }
}
