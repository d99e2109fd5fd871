//! The core of a `DistributedRuntime`: the series table, the slabs, the scrape path, the runtime's
//! own metrics and the status server, behind one handle the binding drives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use crate::config::SystemConfig;
use crate::error::{ErrorKind, MetricsError, Result};
use crate::family::{MetricKind, NativeMetric};
use crate::health::{Health, HealthStatus};
use crate::hierarchy::{NodeId, ROOT};
use crate::plane::NatsPlane;
use crate::registry::{Cursor, FamilySpec, Registry};
use crate::scrape::{
    self, CallbackInvoker, Claim, InvokeFuture, Outcome, OutcomeSender, SingleFlight,
};
use crate::server::{ScrapeBody, ScrapeFn, StatusServer};
use crate::slab::Slabs;

pub const UPTIME_NAME: &str = "uptime_seconds";
pub const UPTIME_HELP: &str = "Total uptime of the DistributedRuntime in seconds";
pub const CALLBACK_ERRORS_NAME: &str = "metrics_callback_errors_total";
pub const CALLBACK_ERRORS_HELP: &str =
    "Total number of metrics callbacks that threw, rejected or missed the scrape deadline";

/// A render claimed by the JS thread (see [`Runtime::claim_inline`]). Dropped without
/// [`InlineClaim::render`], its run ends: the scrapes that joined it fail, later ones start anew.
pub struct InlineClaim {
    /// The callbacks to run, as a scrape hook request.
    pub ids: Vec<u32>,
    /// The snapshot token to commit under.
    pub token: u64,
    rt: Arc<Runtime>,
    node: NodeId,
    limit: Duration,
    tx: OutcomeSender<Arc<Vec<f64>>>,
    rx: Outcome<Arc<Vec<f64>>>,
}

impl InlineClaim {
    /// Renders once `ran` (the callbacks' outcome: one message per failure) settles or the
    /// deadline passes; the scrapes that joined the run get the same values.
    pub async fn render(self, ran: InvokeFuture) -> Result<String> {
        let InlineClaim {
            ids,
            token,
            rt,
            node,
            limit,
            tx,
            rx,
        } = self;
        let values = rt.settle(token, ids.len(), limit, Some(ran)).await;
        Ok(close(&rt, node, &tx, &rx, values))
    }

    /// Renders now, on the calling (JS) thread, from the `failures` of callbacks that all
    /// returned at once (their snapshot is committed): when [`Runtime::renders_inline`].
    pub fn render_now(self, failures: Vec<String>) -> String {
        let values = self.rt.conclude(self.token, Some(Ran::Done(Ok(failures))));
        close(&self.rt, self.node, &self.tx, &self.rx, values)
    }
}

/// Hands a claimed run's values to the scrapes that joined it, and encodes them.
fn close(
    rt: &Runtime,
    node: NodeId,
    tx: &OutcomeSender<Arc<Vec<f64>>>,
    rx: &Outcome<Arc<Vec<f64>>>,
    values: Vec<f64>,
) -> String {
    let values = Arc::new(values);
    let _ = tx.send(Some(Arc::new(Ok(Arc::clone(&values)))));
    rt.single_flight.finish(node, rx);
    rt.encode_text(node, &values)
}

/// How the callbacks of a scrape went.
enum Ran {
    Done(std::result::Result<Vec<String>, String>),
    Missed { n: usize, limit: Duration },
}

/// The most slots a runtime may hold for a render to be encoded on the JS thread that asked.
const INLINE_SLOTS: usize = 4096;

/// What [`Runtime::claim_inline`] found.
pub enum Inline {
    /// A run the caller owns: run the callbacks, then render.
    Claimed(InlineClaim),
    /// No callbacks in the subtree.
    NoCallbacks,
    /// A scrape of this level is in flight: join it ([`Runtime::scrape`]).
    Busy,
}

pub struct Runtime {
    registry: RwLock<Registry>,
    slabs: Slabs,
    invoker: RwLock<Option<Arc<dyn CallbackInvoker>>>,
    /// Snapshots committed from the JS thread, by scrape token (None until committed).
    snapshots: Mutex<HashMap<u64, Option<Vec<f64>>>>,
    next_token: AtomicU64,
    single_flight: SingleFlight<Arc<Vec<f64>>>,
    config: SystemConfig,
    health: Arc<Health>,
    server: tokio::sync::Mutex<Option<StatusServer>>,
    uptime: prometheus::Gauge,
    callback_errors: prometheus::IntCounter,
    closed: AtomicBool,
    /// Largest exposition so far, to pre-size the next one.
    last_len: std::sync::atomic::AtomicUsize,
    /// The NATS request plane, when a NATS server is configured.
    nats: RwLock<Option<Arc<NatsPlane>>>,
}

impl Runtime {
    pub fn new(config: SystemConfig, slab_size: u32) -> Result<Arc<Runtime>> {
        let mut registry = Registry::new(slab_size);
        let uptime = native_metric(&mut registry, MetricKind::Gauge, UPTIME_NAME, UPTIME_HELP)?;
        let callback_errors = native_metric(
            &mut registry,
            MetricKind::IntCounter,
            CALLBACK_ERRORS_NAME,
            CALLBACK_ERRORS_HELP,
        )?;
        let (NativeMetric::Gauge(uptime), NativeMetric::IntCounter(callback_errors)) =
            (uptime, callback_errors)
        else {
            unreachable!("native_metric returns the kind it was asked for")
        };
        let health = Arc::new(Health::new(
            config.starting_health,
            config.use_endpoint_health_status.clone(),
        ));
        Ok(Arc::new(Runtime {
            registry: RwLock::new(registry),
            slabs: Slabs::new(slab_size as usize),
            invoker: RwLock::new(None),
            snapshots: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
            single_flight: SingleFlight::default(),
            config,
            health,
            server: tokio::sync::Mutex::new(None),
            uptime,
            callback_errors,
            closed: AtomicBool::new(false),
            last_len: std::sync::atomic::AtomicUsize::new(64 * 1024),
            nats: RwLock::new(None),
        }))
    }

    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    pub fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The table for a creation call; fails once the runtime is shut down.
    pub fn registry_mut(&self) -> Result<RwLockWriteGuard<'_, Registry>> {
        self.check_open()?;
        Ok(self.registry.write().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn slabs(&self) -> &Slabs {
        &self.slabs
    }

    pub fn set_invoker(&self, invoker: Option<Arc<dyn CallbackInvoker>>) {
        *self.invoker.write().unwrap_or_else(|e| e.into_inner()) = invoker;
    }

    pub fn set_health_status(&self, status: &str) -> Result<()> {
        self.health.set_status(parse_health(status)?);
        Ok(())
    }

    /// Reports endpoint `name` in `/health` with `status`, or removes it (`None`).
    pub fn set_endpoint_health(&self, name: &str, status: Option<&str>) -> Result<()> {
        match status {
            None => self.health.remove_endpoint(name),
            Some(s) => self.health.set_endpoint(name, parse_health(s)?),
        }
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(MetricsError::new(
                ErrorKind::Closed,
                "the DistributedRuntime has been shut down",
            ));
        }
        Ok(())
    }

    /// Called on the JS thread once the callbacks of scrape `token` settled.
    pub fn commit_snapshot(&self, token: u64) {
        let mut snaps = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = snaps.get_mut(&token) {
            let used = self.registry().used_slots();
            let mut buf = Vec::new();
            self.slabs.copy_into(used, &mut buf);
            *slot = Some(buf);
        }
    }

    /// Renders `node` and its descendants after running their callbacks.
    pub async fn scrape(
        self: &Arc<Self>,
        node: NodeId,
        prometheus: Option<Duration>,
    ) -> Result<String> {
        let values = self.snapshot(node, prometheus).await?;
        Ok(self.encode_text(node, &values))
    }

    /// The text of `node` and its descendants from the slab values of one snapshot.
    fn encode_text(&self, node: NodeId, values: &[f64]) -> String {
        let registry = self.registry();
        // Size the buffer from the last scrape so a large exposition is written without regrowth.
        let mut out = Vec::with_capacity(self.last_len.load(Ordering::Relaxed) + 4096);
        registry.encode(node, values, &mut out);
        drop(registry);
        self.last_len.fetch_max(out.len(), Ordering::Relaxed);
        debug_assert!(std::str::from_utf8(&out).is_ok());
        // SAFETY: the encoder only writes bytes of Rust strings (names, help, label values) and
        // ASCII punctuation and digits, so the buffer is valid UTF-8.
        unsafe { String::from_utf8_unchecked(out) }
    }

    /// A render whose callbacks the JS thread runs itself, right away: it is called from there,
    /// so starting them through the thread-safe hook would wake a Rust thread and then the JS
    /// thread again for nothing. Unless there is nothing for JS to run here (no callbacks in the
    /// subtree, or a scrape of this level in flight to join: then [`Runtime::scrape`] or
    /// [`Runtime::render_now`] renders), the caller runs the callbacks of `ids` as the hook does
    /// and passes their outcome to [`InlineClaim::render`] (or, when they all returned at once,
    /// [`InlineClaim::render_now`]); scrapes of this level that start meanwhile join this run.
    pub fn claim_inline(self: &Arc<Self>, node: NodeId) -> Result<Inline> {
        self.check_open()?;
        self.registry().hierarchy.node(node)?;
        let ids = self.registry().callbacks_in(node);
        if ids.is_empty() {
            return Ok(Inline::NoCallbacks);
        }
        let (tx, rx) = match self.single_flight.claim(node) {
            Claim::Joined(_) => return Ok(Inline::Busy),
            Claim::Owner(tx, rx) => (tx, rx),
        };
        let (token, limit) = self.begin(None);
        Ok(Inline::Claimed(InlineClaim {
            ids,
            token,
            rt: Arc::clone(self),
            node,
            limit,
            tx,
            rx,
        }))
    }

    /// Like [`Runtime::scrape`], but encodes in chunks as the receiver takes them: the table is
    /// locked per chunk only, and a large exposition never sits in memory whole.
    pub async fn scrape_stream(
        self: &Arc<Self>,
        node: NodeId,
        prometheus: Option<Duration>,
    ) -> Result<tokio::sync::mpsc::Receiver<bytes::Bytes>> {
        // Small enough to come from the allocator's reused heap (not a fresh mmap per chunk),
        // large enough that per-chunk costs (lock, channel, write) stay negligible.
        const CHUNK: usize = 64 * 1024;
        let values = self.snapshot(node, prometheus).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let plan = me.registry().plan(node);
            let mut cursor = Cursor::default();
            loop {
                let mut buf = Vec::with_capacity(CHUNK + 16 * 1024);
                let done = me
                    .registry()
                    .encode_some(&plan, &values, &mut cursor, &mut buf, CHUNK);
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

    /// Runs the subtree's callbacks (shared by concurrent scrapes) and returns the slab values.
    async fn snapshot(
        self: &Arc<Self>,
        node: NodeId,
        prometheus: Option<Duration>,
    ) -> Result<Arc<Vec<f64>>> {
        self.check_open()?;
        self.registry().hierarchy.node(node)?;
        let me = Arc::clone(self);
        self.single_flight
            .run(node, move || {
                Box::pin(async move { me.collect(node, prometheus).await })
            })
            .await
    }

    async fn collect(&self, node: NodeId, prometheus: Option<Duration>) -> Result<Arc<Vec<f64>>> {
        let ids = self.registry().callbacks_in(node);
        let (token, limit) = self.begin(prometheus);
        // With no callbacks in the subtree there is nothing to wait for on the JS thread: read the
        // slabs from here, so a busy or blocked event loop never delays such a scrape.
        let invoker = if ids.is_empty() {
            None
        } else {
            self.invoker
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        let n = ids.len();
        let ran = invoker.map(|inv| inv.invoke(ids, token));
        Ok(Arc::new(self.settle(token, n, limit, ran).await))
    }

    /// Starts a scrape's snapshot: its token (for the JS side to commit under) and deadline.
    fn begin(&self, prometheus: Option<Duration>) -> (u64, Duration) {
        let limit = scrape::deadline(self.config.scrape_timeout, prometheus);
        self.uptime.set(self.health.uptime().as_secs_f64());
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token, None);
        (token, limit)
    }

    /// Waits for the `n` callbacks of scrape `token` (`ran`, if any run) until `limit`, then
    /// [`Runtime::conclude`]s.
    async fn settle(
        &self,
        token: u64,
        n: usize,
        limit: Duration,
        ran: Option<InvokeFuture>,
    ) -> Vec<f64> {
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
    fn conclude(&self, token: u64, ran: Option<Ran>) -> Vec<f64> {
        match ran {
            None => {}
            Some(Ran::Done(Ok(failures))) => {
                for msg in failures {
                    self.callback_errors.inc();
                    eprintln!("dynamo-metrics: metrics callback failed: {msg}");
                }
            }
            Some(Ran::Done(Err(msg))) => {
                self.callback_errors.inc();
                eprintln!("dynamo-metrics: could not run the metrics callbacks: {msg}");
            }
            Some(Ran::Missed { n, limit }) => {
                self.callback_errors.inc();
                eprintln!(
                    "dynamo-metrics: {n} metrics callback(s) did not finish within {} ms; serving the latest values",
                    limit.as_millis()
                );
            }
        }
        let committed = self
            .snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&token)
            .flatten();
        committed.unwrap_or_else(|| self.read_slabs())
    }

    /// The slabs as they are now: a consistent copy on the JS thread (their writer), per value
    /// from a Rust thread (a scrape with no callbacks, or whose JS thread missed the deadline).
    fn read_slabs(&self) -> Vec<f64> {
        let mut buf = Vec::new();
        self.slabs.copy_into(self.registry().used_slots(), &mut buf);
        buf
    }

    /// Whether a render is small enough to encode on the JS thread that asked for it: cheaper
    /// than the two thread crossings of an encode elsewhere (~30-60 µs on a 2-vCPU VM), and it
    /// blocks that thread for less than a JS library's render of the same series would.
    pub fn renders_inline(&self) -> bool {
        self.registry().used_slots() <= INLINE_SLOTS
    }

    /// Renders `node` and its descendants now, on the calling (JS) thread: a scrape with no
    /// callbacks to run (see [`Runtime::claim_inline`]), when [`Runtime::renders_inline`].
    pub fn render_now(&self, node: NodeId) -> Result<String> {
        self.check_open()?;
        self.registry().hierarchy.node(node)?;
        self.uptime.set(self.health.uptime().as_secs_f64());
        Ok(self.encode_text(node, &self.read_slabs()))
    }

    /// Starts the status server if the configuration enables it; returns its bound address.
    pub async fn start_server(self: &Arc<Self>) -> Result<Option<std::net::SocketAddr>> {
        if !self.config.enabled {
            return Ok(None);
        }
        let weak: Weak<Runtime> = Arc::downgrade(self);
        let scrape_fn: ScrapeFn = Arc::new(move |deadline| {
            let weak = weak.clone();
            Box::pin(async move {
                match weak.upgrade() {
                    Some(rt) => rt
                        .scrape_stream(ROOT, deadline)
                        .await
                        .map(ScrapeBody::Chunks),
                    None => Err(MetricsError::new(ErrorKind::Closed, "the runtime is gone")),
                }
            })
        });
        let server = StatusServer::start(&self.config, Arc::clone(&self.health), scrape_fn).await?;
        let addr = server.local_addr();
        *self.server.lock().await = Some(server);
        Ok(Some(addr))
    }

    /// Connects the NATS request plane if the configuration names a server.
    pub async fn connect_nats(&self) -> Result<()> {
        let Some(url) = self.config.nats_server.clone() else {
            return Ok(());
        };
        let plane = NatsPlane::connect(&url, Duration::from_secs(3)).await?;
        *self.nats.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(plane));
        Ok(())
    }

    /// The NATS plane, if connected.
    pub fn nats(&self) -> Option<Arc<NatsPlane>> {
        self.nats.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The NATS plane, or the error every NATS operation gives without one.
    pub fn require_nats(&self) -> Result<Arc<NatsPlane>> {
        self.nats().ok_or_else(|| {
            MetricsError::new(
                ErrorKind::Nats,
                "no NATS server is configured (set NATS_SERVER or the natsServer option)",
            )
        })
    }

    /// Stops the server and the callbacks; later calls fail with a Closed error. Idempotent.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let nats = self.nats.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(plane) = nats {
            plane.close().await;
        }
        if let Some(server) = self.server.lock().await.take() {
            server.shutdown().await;
        }
        self.set_invoker(None);
        self.slabs.detach_all();
    }
}

fn parse_health(status: &str) -> Result<HealthStatus> {
    HealthStatus::parse(status).ok_or_else(|| {
        MetricsError::new(
            ErrorKind::Config,
            format!("unknown health status '{status}' (expected 'ready' or 'notready')"),
        )
    })
}

fn native_metric(
    registry: &mut Registry,
    kind: MetricKind,
    name: &str,
    help: &str,
) -> Result<NativeMetric> {
    let full = crate::names::build_component_metric_name(name)?;
    let opts = prometheus::Opts::new(full, help);
    let metric = match kind {
        MetricKind::Gauge => NativeMetric::Gauge(prometheus::Gauge::with_opts(opts).map_err(prom)?),
        MetricKind::IntCounter => {
            NativeMetric::IntCounter(prometheus::IntCounter::with_opts(opts).map_err(prom)?)
        }
        MetricKind::Counter => {
            NativeMetric::Counter(prometheus::Counter::with_opts(opts).map_err(prom)?)
        }
        MetricKind::IntGauge => {
            NativeMetric::IntGauge(prometheus::IntGauge::with_opts(opts).map_err(prom)?)
        }
        MetricKind::Histogram => unreachable!("the runtime has no native histograms yet"),
    };
    let spec = FamilySpec {
        kind,
        vec: false,
        name: name.to_string(),
        help: help.to_string(),
        label_names: Vec::new(),
        const_labels: Vec::new(),
        buckets: None,
    };
    registry.create_native(ROOT, &spec, metric.clone())?;
    Ok(metric)
}

fn prom(e: prometheus::Error) -> MetricsError {
    MetricsError::new(ErrorKind::InvalidName, e.to_string())
}
