//! The connection one runtime shares between its workers and its callers.

use std::time::Duration;

use async_nats::Client;
use tokio::sync::watch;

use super::request::Inbox;
use crate::error::{ErrorKind, MetricsError, Result};

/// Longest a flush may take while stopping or closing (the server may be unreachable).
pub(crate) const CLOSE_WAIT: Duration = Duration::from_secs(1);

pub(crate) fn nats_err(what: impl std::fmt::Display) -> MetricsError {
    MetricsError::new(ErrorKind::Nats, what.to_string())
}

/// A NATS connection shared by the worker and client sides of one runtime.
pub struct NatsPlane {
    pub(crate) client: Client,
    url: String,
    /// Bumped on every disconnect, so waiting callers fail and in-flight handlers are
    /// cancelled instead of hanging or producing into the void.
    pub(crate) disconnects: watch::Receiver<u64>,
    /// The callers' one response subscription, shared by every request.
    pub(crate) inbox: Inbox,
}

impl NatsPlane {
    /// Connects or fails within `timeout` with an error naming the URL.
    pub async fn connect(url: &str, timeout: Duration) -> Result<NatsPlane> {
        let (tx, rx) = watch::channel(0u64);
        let connect = async_nats::ConnectOptions::new()
            .connection_timeout(timeout)
            .event_callback(move |event| {
                let tx = tx.clone();
                async move {
                    if let async_nats::Event::Disconnected = event {
                        tx.send_modify(|n| *n += 1);
                    }
                }
            })
            .connect(url);
        let client = match tokio::time::timeout(timeout + Duration::from_millis(500), connect).await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(nats_err(format!("cannot connect to NATS at {url}: {e}"))),
            Err(_) => {
                return Err(nats_err(format!(
                    "cannot connect to NATS at {url}: no answer within {} ms",
                    timeout.as_millis()
                )))
            }
        };
        let inbox = Inbox::new(client.new_inbox());
        Ok(NatsPlane {
            client,
            url: url.to_string(),
            disconnects: rx,
            inbox,
        })
    }

    /// The URL this plane connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection, for the KV metrics pub/sub (`kv_metrics/`).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The largest message (payload and headers) the server accepts, in bytes.
    pub fn max_payload(&self) -> usize {
        self.client.max_payload()
    }

    /// Flushes and closes the connection; bounded, so shutdown never waits on a NATS outage.
    pub async fn close(&self) {
        self.inbox.stop();
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            let _ = self.client.flush().await;
            let _ = self.client.drain().await;
        })
        .await;
    }
}
