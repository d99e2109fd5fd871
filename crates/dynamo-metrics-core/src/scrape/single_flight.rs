//! Concurrent scrapes of one level share one run of its callbacks: the first owns the run, the
//! others wait for its outcome.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::error::Result;
use crate::hierarchy::NodeId;

/// The outcome of a run, once it is there.
pub type Outcome<T> = watch::Receiver<Option<Arc<Result<T>>>>;

/// Concurrent scrapes of the same level share one in-flight run.
pub struct SingleFlight<T> {
    inflight: Mutex<HashMap<NodeId, Outcome<T>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

/// The sending side of a run's outcome, held by the one scrape that does the work.
pub type OutcomeSender<T> = watch::Sender<Option<Arc<Result<T>>>>;

/// A scrape's place in the run for its level: the run already in flight, or a new one it owns.
pub enum Claim<T> {
    /// A run is in flight: wait for its outcome.
    Joined(Outcome<T>),
    /// The caller must do the work and send its outcome; the others wait on the receiver.
    Owner(OutcomeSender<T>, Outcome<T>),
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// Joins the run in flight for `node`, or starts a new one that the caller owns. A run whose
    /// owner is gone (it sent its outcome, or was dropped without) is not joined.
    pub fn claim(&self, node: NodeId) -> Claim<T> {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&node) {
            Some(rx) if rx.has_changed().is_ok() => Claim::Joined(rx.clone()),
            _ => {
                let (tx, rx) = watch::channel(None);
                map.insert(node, rx.clone());
                Claim::Owner(tx, rx)
            }
        }
    }

    /// Joins the run for `node`, or starts `work` as a detached task so that a scraper that goes
    /// away (a dropped HTTP request) never strands the others.
    pub async fn run<F>(&self, node: NodeId, work: F) -> Result<T>
    where
        F: FnOnce() -> Pin<Box<dyn Future<Output = Result<T>> + Send>>,
    {
        let rx = match self.claim(node) {
            Claim::Joined(rx) => rx,
            Claim::Owner(tx, rx) => {
                let fut = work();
                tokio::spawn(async move {
                    let out = Arc::new(fut.await);
                    let _ = tx.send(Some(out));
                });
                rx
            }
        };
        self.wait(node, rx).await
    }

    /// The outcome of the run `rx` belongs to, once its owner sent it.
    pub async fn wait(&self, node: NodeId, mut rx: Outcome<T>) -> Result<T> {
        let shared = rx
            .wait_for(Option::is_some)
            .await
            .map(|v| v.clone().expect("checked by wait_for"));
        self.finish(node, &rx);
        match shared {
            Ok(s) => (*s).clone(),
            Err(_) => Err(crate::MetricsError::new(
                crate::ErrorKind::Closed,
                "the scrape was abandoned because the runtime shut down",
            )),
        }
    }

    /// Forgets a finished run so the next scrape runs the callbacks again.
    pub fn finish(&self, node: NodeId, rx: &Outcome<T>) {
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cur) = map.get(&node) {
            if cur.same_channel(rx) {
                map.remove(&node);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_joins_a_live_run_and_not_an_abandoned_one() {
        let sf: SingleFlight<u32> = SingleFlight::default();
        let Claim::Owner(tx, _rx) = sf.claim(1) else {
            panic!("the first claim of a level owns its run")
        };
        assert!(matches!(sf.claim(1), Claim::Joined(_)));
        assert!(matches!(sf.claim(2), Claim::Owner(..)), "another level");
        // The owner went away without an outcome: the next claim starts a run of its own.
        drop(tx);
        assert!(matches!(sf.claim(1), Claim::Owner(..)));
    }

    #[tokio::test]
    async fn waiters_of_a_run_get_its_outcome_and_a_later_claim_runs_again() {
        let sf: SingleFlight<u32> = SingleFlight::default();
        let Claim::Owner(tx, rx) = sf.claim(7) else {
            panic!("the first claim owns its run")
        };
        let Claim::Joined(joined) = sf.claim(7) else {
            panic!("the second claim joins")
        };
        tx.send(Some(Arc::new(Ok(42)))).unwrap();
        assert_eq!(sf.wait(7, joined).await.unwrap(), 42);
        assert_eq!(sf.wait(7, rx).await.unwrap(), 42);
        assert!(matches!(sf.claim(7), Claim::Owner(..)));
    }
}
