//! Shutdown phases: drain, then cancel stuck scrapes, then fail connection I/O, then abort.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long in-flight requests may run once shutdown starts.
const GRACE_PERIOD: Duration = Duration::from_secs(1);
/// How long cancelled scrapes get to write their 500 before connection I/O is failed.
const CANCEL_WAIT: Duration = Duration::from_millis(100);
/// How long closed connections get to unwind before the server task itself is aborted.
const CLOSE_WAIT: Duration = Duration::from_millis(250);

/// Shutdown progress, ordered so waiters can ask "has it reached at least X".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    Serving,
    Draining,
    /// Scrapes still running are cancelled.
    Cancelling,
    /// Connection I/O fails.
    Closing,
}

/// Resolves once `phase` is reached, or when the [`super::StatusServer`] is dropped (which counts
/// as every phase at once, so a forgotten server does not keep serving).
pub(super) async fn reached(mut rx: watch::Receiver<Phase>, phase: Phase) {
    let _ = rx.wait_for(|p| *p >= phase).await;
}

/// Walks the phases with `advance` until the server task `handle` has ended.
pub(super) async fn run(handle: &mut JoinHandle<()>, advance: impl Fn(Phase)) {
    advance(Phase::Draining);
    if tokio::time::timeout(GRACE_PERIOD, &mut *handle)
        .await
        .is_ok()
    {
        return;
    }
    advance(Phase::Cancelling);
    if tokio::time::timeout(CANCEL_WAIT, &mut *handle)
        .await
        .is_ok()
    {
        return;
    }
    advance(Phase::Closing);
    if tokio::time::timeout(CLOSE_WAIT, &mut *handle)
        .await
        .is_err()
    {
        // Dropping the serve future drops the listener; connection tasks were already told to
        // fail their I/O.
        handle.abort();
        let _ = (&mut *handle).await;
    }
}
