//! Where and when a scrape renders: the one place that chooses. `prometheusMetricsFmt()` asks
//! through [`Runtime::render`] on the JS thread, the status server through
//! [`Runtime::render_stream`]; both run the subtree's callbacks once (joining a run in flight),
//! take one snapshot (slab values and the series they cover), and hand it to the encoder.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::single_flight::{Claim, Outcome, OutcomeSender};
use super::{deadline, InvokeFuture};
use crate::encode::{text, Cursor, Snapshot};
use crate::error::{ErrorKind, MetricsError, Result};
use crate::hierarchy::NodeId;
use crate::runtime::Runtime;

/// The most slots a runtime may hold for a render to be encoded on the JS thread that asked:
/// below it, encoding there costs less than the two thread crossings of encoding elsewhere,
/// and blocks that thread for less than a JS library's render of the same series would.
const INLINE_SLOTS: usize = 4096;

/// A large exposition is streamed in chunks of about this size: small enough to come from the
/// allocator's reused heap (not a fresh mmap per chunk), large enough that per-chunk costs
/// (lock, channel, write) stay negligible.
const STREAM_CHUNK: usize = 64 * 1024;

/// The callbacks a scrape asks the JS side to run.
pub struct ScrapeCall {
    /// Callback ids, in registration order.
    pub ids: Vec<u32>,
    /// The snapshot token the JS side commits under once they settled.
    pub token: u64,
}

/// What running a scrape's callbacks on the JS thread gave.
pub enum HookRun {
    /// They all returned at once (the snapshot is committed): one message per failure.
    Done(Vec<String>),
    /// Some returned a Promise: the failures once they settle.
    Pending(InvokeFuture),
    /// The hook itself could not run.
    Failed(String),
}

/// A render's text, now or later.
pub enum Rendered {
    /// Rendered on the calling thread.
    Now(String),
    /// Rendered on a runtime thread.
    Later(Pin<Box<dyn Future<Output = Result<String>> + Send>>),
}

/// How the callbacks of a scrape went.
pub(crate) enum Ran {
    Done(std::result::Result<Vec<String>, String>),
    Missed { n: usize, limit: Duration },
}

impl Runtime {
    /// Renders `node` and its descendants for a caller on the JS thread. `run` runs the
    /// subtree's callbacks right there (starting them through the thread-safe hook would wake a
    /// Rust thread and then the JS thread again for nothing); `caller` is the token of the
    /// scrape whose callback asks, which must not wait for its own scrape. Small runtimes whose
    /// callbacks return at once render here and now; the rest render on a runtime thread.
    pub fn render(
        self: &Arc<Self>,
        node: NodeId,
        caller: Option<u64>,
        run: impl FnOnce(ScrapeCall) -> HookRun,
    ) -> Result<Rendered> {
        self.check_open()?;
        self.registry().hierarchy.node(node)?;
        let ids = self.registry().callbacks_in(node);
        let inline = self.registry().used_slots() <= INLINE_SLOTS;
        if ids.is_empty() {
            if inline {
                self.set_uptime();
                return self
                    .js_text(self.encode_text(node, &self.read_slabs()))
                    .map(Rendered::Now);
            }
            return Ok(self.later(node));
        }
        let (tx, rx) = match self.single_flight.claim(node) {
            Claim::Joined(_) if caller.is_some_and(|t| self.runs(t, node)) => {
                return Err(MetricsError::new(
                    ErrorKind::Scrape,
                    "a metrics callback awaits prometheusMetricsFmt() of the scrape that is running it, which waits for that callback; read the values directly or render another level",
                ))
            }
            Claim::Joined(_) => return Ok(self.later(node)),
            Claim::Owner(tx, rx) => (tx, rx),
        };
        let (token, limit) = self.begin(node, None);
        let n = ids.len();
        let ran: InvokeFuture = match run(ScrapeCall { ids, token }) {
            HookRun::Done(failures) if inline => {
                let values = self.conclude(token, Some(Ran::Done(Ok(failures))));
                let text = self.close(node, &tx, &rx, values);
                return self.js_text(text).map(Rendered::Now);
            }
            HookRun::Done(failures) => Box::pin(async move { Ok(failures) }),
            HookRun::Pending(later) => later,
            HookRun::Failed(msg) => Box::pin(async move { Err(msg) }),
        };
        let me = Arc::clone(self);
        Ok(Rendered::Later(Box::pin(async move {
            let values = me.settle(token, n, limit, Some(ran)).await;
            let text = me.close(node, &tx, &rx, values);
            me.js_text(text)
        })))
    }

    /// Renders `node` for the status server: the callbacks run through the invoker, the text is
    /// encoded in chunks as the receiver takes them (the table is locked per chunk only, and a
    /// large exposition never sits in memory whole).
    pub async fn render_stream(
        self: &Arc<Self>,
        node: NodeId,
        prometheus: Option<Duration>,
    ) -> Result<tokio::sync::mpsc::Receiver<bytes::Bytes>> {
        let values = self.snapshot(node, prometheus).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let plan = me.plans.get(&me.registry(), node);
            let mut cursor = Cursor::default();
            loop {
                let mut buf = Vec::with_capacity(STREAM_CHUNK + 16 * 1024);
                let done = text::encode_some(
                    &me.registry(),
                    &plan,
                    &values,
                    &mut cursor,
                    &mut buf,
                    STREAM_CHUNK,
                );
                if !buf.is_empty() && tx.send(bytes::Bytes::from(buf)).await.is_err() {
                    break; // the client went away
                }
                if done {
                    break;
                }
            }
        });
        Ok(rx)
    }

    /// A render on a runtime thread, joining the run in flight for `node` if there is one.
    fn later(self: &Arc<Self>, node: NodeId) -> Rendered {
        let me = Arc::clone(self);
        Rendered::Later(Box::pin(async move {
            let values = me.snapshot(node, None).await?;
            me.js_text(me.encode_text(node, &values))
        }))
    }

    /// `text` if a JS string can hold it (the engine's limit counts UTF-16 units).
    fn js_text(&self, text: String) -> Result<String> {
        let max = self.limits.max_string_length;
        if text.len() <= max || utf16_len(text.as_bytes()) <= max {
            return Ok(text);
        }
        Err(MetricsError::new(
            ErrorKind::Scrape,
            format!(
                "the exposition is {} bytes, longer than the longest JS string ({max} characters); scrape /metrics of the status server instead, which streams it in chunks",
                text.len()
            ),
        ))
    }

    /// Hands a claimed run's values to the scrapes that joined it, and encodes them.
    fn close(
        &self,
        node: NodeId,
        tx: &OutcomeSender<Arc<Snapshot>>,
        rx: &Outcome<Arc<Snapshot>>,
        values: Snapshot,
    ) -> String {
        let values = Arc::new(values);
        let _ = tx.send(Some(Arc::new(Ok(Arc::clone(&values)))));
        self.single_flight.finish(node, rx);
        self.encode_text(node, &values)
    }

    /// The text of `node` and its descendants from one snapshot.
    fn encode_text(&self, node: NodeId, values: &Snapshot) -> String {
        let registry = self.registry();
        // Size the buffer from the last scrape so a large exposition is written without regrowth.
        let mut out =
            Vec::with_capacity(self.last_len.load(std::sync::atomic::Ordering::Relaxed) + 4096);
        let plan = self.plans.get(&registry, node);
        text::encode_some(
            &registry,
            &plan,
            values,
            &mut Cursor::default(),
            &mut out,
            usize::MAX,
        );
        drop(registry);
        self.last_len
            .fetch_max(out.len(), std::sync::atomic::Ordering::Relaxed);
        debug_assert!(std::str::from_utf8(&out).is_ok());
        // SAFETY: the encoder only writes bytes of Rust strings (names, help, label values) and
        // ASCII punctuation and digits, so the buffer is valid UTF-8.
        unsafe { String::from_utf8_unchecked(out) }
    }

    /// Runs the subtree's callbacks (shared by concurrent scrapes) and returns the slab values.
    async fn snapshot(
        self: &Arc<Self>,
        node: NodeId,
        prometheus: Option<Duration>,
    ) -> Result<Arc<Snapshot>> {
        self.check_open()?;
        self.registry().hierarchy.node(node)?;
        let me = Arc::clone(self);
        self.single_flight
            .run(node, move || {
                Box::pin(async move { me.collect(node, prometheus).await })
            })
            .await
    }

    async fn collect(&self, node: NodeId, prometheus: Option<Duration>) -> Result<Arc<Snapshot>> {
        let ids = self.registry().callbacks_in(node);
        let (token, limit) = self.begin(node, prometheus);
        // With no callbacks in the subtree there is nothing to wait for on the JS thread: read the
        // slabs from here, so a busy or blocked event loop never delays such a scrape.
        let invoker = if ids.is_empty() { None } else { self.invoker() };
        let n = ids.len();
        let ran = invoker.map(|inv| inv.invoke(ScrapeCall { ids, token }));
        Ok(Arc::new(self.settle(token, n, limit, ran).await))
    }

    /// Starts a scrape's snapshot of `node`: its token (for the JS side to commit under) and
    /// deadline.
    fn begin(&self, node: NodeId, prometheus: Option<Duration>) -> (u64, Duration) {
        let limit = deadline(self.config.scrape_timeout, prometheus);
        self.set_uptime();
        let token = self
            .next_token
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token, (node, None));
        (token, limit)
    }

    /// Whether scrape `token` is still running the callbacks of `node`.
    fn runs(&self, token: u64, node: NodeId) -> bool {
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&token)
            .is_some_and(|(n, _)| *n == node)
    }

    /// Waits for the `n` callbacks of scrape `token` (`ran`, if any run) until `limit`, then
    /// [`Runtime::conclude`]s.
    async fn settle(
        &self,
        token: u64,
        n: usize,
        limit: Duration,
        ran: Option<InvokeFuture>,
    ) -> Snapshot {
        let ran = match ran {
            None => None,
            Some(ran) => Some(match tokio::time::timeout(limit, ran).await {
                Ok(out) => Ran::Done(out),
                Err(_) => Ran::Missed { n, limit },
            }),
        };
        self.conclude(token, ran)
    }

    /// Counts the failures of scrape `token`'s callbacks and returns its values: the snapshot
    /// the JS side committed, else the slabs as they are now.
    fn conclude(&self, token: u64, ran: Option<Ran>) -> Snapshot {
        match ran {
            None => {}
            Some(Ran::Done(Ok(failures))) => {
                for msg in failures {
                    self.count_callback_error(&format!("metrics callback failed: {msg}"));
                }
            }
            Some(Ran::Done(Err(msg))) => {
                self.count_callback_error(&format!("could not run the metrics callbacks: {msg}"));
            }
            Some(Ran::Missed { n, limit }) => {
                self.count_callback_error(&format!(
                    "{n} metrics callback(s) did not finish within {} ms; serving the latest values",
                    limit.as_millis()
                ));
            }
        }
        let committed = self
            .snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&token)
            .and_then(|(_, values)| values);
        committed.unwrap_or_else(|| self.read_slabs())
    }

    /// Called on the JS thread once the callbacks of scrape `token` settled.
    pub fn commit_snapshot(&self, token: u64) {
        let mut snaps = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, slot)) = snaps.get_mut(&token) {
            *slot = Some(self.read_slabs());
        }
    }

    /// The slabs as they are now: a consistent copy on the JS thread (their writer), per value
    /// from a Rust thread (a scrape with no callbacks, or whose JS thread missed the deadline).
    /// The table stays locked during the copy, so the series the snapshot covers are exactly
    /// those registered before it, whose slots hold their own values.
    fn read_slabs(&self) -> Snapshot {
        let registry = self.registry();
        let mut buf = Vec::new();
        self.slabs().copy_into(registry.used_slots(), &mut buf);
        Snapshot::new(&registry, buf)
    }
}

/// The UTF-16 length of UTF-8 `bytes`: one unit per character, two for those above U+FFFF (whose
/// lead byte is 0xF0 or more); counted per byte, which is cheaper than decoding.
fn utf16_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0xBF => 0,
            0xF0..=0xFF => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SystemConfig;
    use crate::hierarchy::ROOT;
    use crate::runtime::JsLimits;
    use crate::series::{FamilySpec, MetricKind};

    /// A runtime with one gauge set to 7; `slab` must outlive the runtime's reads.
    fn runtime(max_string_length: usize, slab: &mut Vec<f64>) -> Arc<Runtime> {
        let limits = JsLimits {
            slab_size: 8192,
            max_string_length,
        };
        let rt = Runtime::new(SystemConfig::default(), limits).unwrap();
        let spec = FamilySpec {
            kind: MetricKind::Gauge,
            vec: false,
            name: "g".into(),
            help: "G".into(),
            label_names: vec![],
            const_labels: vec![],
            buckets: None,
        };
        let slot = rt
            .registry_mut()
            .unwrap()
            .create_family(ROOT, &spec)
            .unwrap()
            .slot
            .unwrap();
        slab.resize(8192, 0.0);
        slab[slot as usize] = 7.0;
        // SAFETY: the tests keep `slab` alive and unmoved until the runtime is dropped.
        unsafe { rt.slabs().attach(0, slab.as_ptr(), slab.len()) }.unwrap();
        rt
    }

    fn no_hook(_: ScrapeCall) -> HookRun {
        panic!("no callbacks to run")
    }

    async fn text(r: Rendered) -> Result<String> {
        match r {
            Rendered::Now(t) => Ok(t),
            Rendered::Later(f) => f.await,
        }
    }

    #[test]
    fn a_small_runtime_without_callbacks_renders_now() {
        let mut slab = Vec::new();
        let rt = runtime(usize::MAX, &mut slab);
        let Rendered::Now(t) = rt.render(ROOT, None, no_hook).unwrap() else {
            panic!("rendered later")
        };
        assert!(t.contains("dynamo_component_g 7\n"), "{t}");
    }

    #[test]
    fn callbacks_that_return_at_once_render_now_and_their_failures_count() {
        let mut slab = Vec::new();
        let rt = runtime(usize::MAX, &mut slab);
        let id = rt.registry_mut().unwrap().register_callback(ROOT).unwrap();
        let mut asked = Vec::new();
        let r = rt
            .render(ROOT, None, |call| {
                asked = call.ids.clone();
                HookRun::Done(vec!["boom".into()])
            })
            .unwrap();
        assert_eq!(asked, vec![id]);
        let Rendered::Now(t) = r else {
            panic!("rendered later")
        };
        assert!(
            t.contains("dynamo_component_metrics_callback_errors_total 1\n"),
            "{t}"
        );
    }

    #[tokio::test]
    async fn pending_callbacks_render_later_and_a_failed_hook_is_counted() {
        let mut slab = Vec::new();
        let rt = runtime(usize::MAX, &mut slab);
        rt.registry_mut().unwrap().register_callback(ROOT).unwrap();
        let r = rt
            .render(ROOT, None, |_| {
                HookRun::Pending(Box::pin(async { Ok(vec![]) }))
            })
            .unwrap();
        assert!(matches!(r, Rendered::Later(_)));
        assert!(text(r).await.unwrap().contains("dynamo_component_g 7\n"));
        let r = rt
            .render(ROOT, None, |_| HookRun::Failed("no hook".into()))
            .unwrap();
        let t = text(r).await.unwrap();
        assert!(
            t.contains("dynamo_component_metrics_callback_errors_total 1\n"),
            "{t}"
        );
    }

    #[tokio::test]
    async fn a_callback_rendering_its_own_scrape_is_refused_and_another_level_is_not() {
        let mut slab = Vec::new();
        let rt = runtime(usize::MAX, &mut slab);
        rt.registry_mut().unwrap().register_callback(ROOT).unwrap();
        let inner = Arc::clone(&rt);
        let mut nested = None;
        let r = rt
            .render(ROOT, None, |call| {
                nested = Some(inner.render(ROOT, Some(call.token), no_hook).map(|_| ()));
                HookRun::Pending(Box::pin(async { Ok(vec![]) }))
            })
            .unwrap();
        let e = nested.unwrap().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Scrape);
        assert!(text(r).await.is_ok());
        // Without the caller's token (another scrape's callback) the render joins and answers.
        rt.registry_mut().unwrap().register_callback(ROOT).unwrap();
        let joined = rt
            .render(ROOT, None, |call| {
                let j = inner.render(ROOT, Some(call.token + 1000), no_hook);
                assert!(matches!(j, Ok(Rendered::Later(_))));
                HookRun::Pending(Box::pin(async { Ok(vec![]) }))
            })
            .unwrap();
        assert!(text(joined).await.is_ok());
    }

    #[tokio::test]
    async fn a_text_longer_than_a_js_string_is_a_scrape_error_on_every_path() {
        let mut slab = Vec::new();
        let rt = runtime(20, &mut slab);
        let Err(e) = rt.render(ROOT, None, no_hook) else {
            panic!("rendered a text over the limit")
        };
        assert_eq!(e.kind, ErrorKind::Scrape);
        assert!(e.message.contains("/metrics"), "{}", e.message);
        rt.registry_mut().unwrap().register_callback(ROOT).unwrap();
        let r = rt
            .render(ROOT, None, |_| {
                HookRun::Pending(Box::pin(async { Ok(vec![]) }))
            })
            .unwrap();
        assert_eq!(text(r).await.unwrap_err().kind, ErrorKind::Scrape);
    }

    #[test]
    fn utf16_length_counts_units_not_bytes() {
        for s in ["", "abc", "é", "✓✓", "😀", "a😀é✓"] {
            assert_eq!(utf16_len(s.as_bytes()), s.encode_utf16().count(), "{s}");
        }
    }

    #[tokio::test]
    async fn the_stream_joins_to_the_same_text() {
        let mut slab = Vec::new();
        let rt = runtime(usize::MAX, &mut slab);
        let whole = text(rt.render(ROOT, None, no_hook).unwrap()).await.unwrap();
        let mut rx = rt.render_stream(ROOT, None).await.unwrap();
        let mut joined = Vec::new();
        while let Some(chunk) = rx.recv().await {
            joined.extend_from_slice(&chunk);
        }
        // The uptime gauge moves between the two renders; everything else is the same.
        let strip = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with("dynamo_component_uptime_seconds "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&String::from_utf8(joined).unwrap()), strip(&whole));
    }
}
