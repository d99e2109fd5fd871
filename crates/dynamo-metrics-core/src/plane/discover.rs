//! Finding instances and their stats: the NATS micro-service discovery subjects (`$SRV.*`).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use super::connect::{nats_err, NatsPlane};
use crate::error::Result;
use crate::names::nats_subject_token;

/// One live instance of an endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// The instance id (lowercase hex).
    pub id: String,
    /// The subject it serves.
    pub subject: String,
}

impl NatsPlane {
    /// Instances of `endpoint` in `service`, from `$SRV.INFO` answers gathered for `wait`.
    pub async fn discover(
        &self,
        service: &str,
        endpoint: &str,
        wait: Duration,
    ) -> Result<Vec<Instance>> {
        let infos = self.gather(&format!("$SRV.INFO.{service}"), wait).await?;
        let want = nats_subject_token(endpoint);
        let mut out = Vec::new();
        for info in infos {
            let Some(eps) = info.get("endpoints").and_then(|e| e.as_array()) else {
                continue;
            };
            for ep in eps {
                if ep.get("name").and_then(|n| n.as_str()) != Some(want.as_str()) {
                    continue;
                }
                let subject = ep.get("subject").and_then(|s| s.as_str()).unwrap_or("");
                let id = ep
                    .get("metadata")
                    .and_then(|m| m.get("instance_id"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                if !subject.is_empty() && !id.is_empty() {
                    out.push(Instance {
                        id: id.to_string(),
                        subject: subject.to_string(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }

    /// The `$SRV.STATS` answers of `service`'s instances gathered for `wait`.
    pub async fn stats(&self, service: &str, wait: Duration) -> Result<Vec<serde_json::Value>> {
        self.gather(&format!("$SRV.STATS.{service}"), wait).await
    }

    /// Every answer to `subject` that arrives within `wait` (the micro-service discovery pattern).
    pub async fn gather(&self, subject: &str, wait: Duration) -> Result<Vec<serde_json::Value>> {
        let inbox = self.client.new_inbox();
        let mut sub = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| nats_err(format!("NATS subscribe failed: {e}")))?;
        self.client
            .publish_with_reply(subject.to_string(), inbox, Bytes::new())
            .await
            .map_err(|e| nats_err(format!("NATS publish to '{subject}' failed: {e}")))?;
        self.client
            .flush()
            .await
            .map_err(|e| nats_err(format!("NATS flush failed: {e}")))?;
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
            if let Ok(v) = serde_json::from_slice(&msg.payload) {
                out.push(v);
            }
        }
        let _ = sub.unsubscribe().await;
        Ok(out)
    }
}
