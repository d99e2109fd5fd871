//! The handle of a `DistributedRuntime`: the series table, the slabs, the runtime's own metrics,
//! the status server and the NATS plane, behind one object the binding drives. How a scrape of
//! it runs is [`crate::scrape`]'s business.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

use crate::config::{self, Source, SystemConfig};
use crate::encode::Snapshot;
use crate::error::{ErrorKind, MetricsError, Result};
use crate::health::Health;
use crate::hierarchy::{NodeId, ROOT};
use crate::plane::NatsPlane;
use crate::scrape::{CallbackInvoker, SingleFlight};
use crate::series::family::{MetricKind, NativeMetric};
use crate::series::registry::{FamilySpec, Registry};
use crate::series::slab::Slabs;
use crate::server::{ScrapeBody, ScrapeFn, StatusServer};

/// Name of the runtime's uptime gauge.
pub const UPTIME_NAME: &str = "uptime_seconds";
/// Help of the runtime's uptime gauge.
pub const UPTIME_HELP: &str = "Total uptime of the DistributedRuntime in seconds";
/// Name of the counter of failed metrics callbacks.
pub const CALLBACK_ERRORS_NAME: &str = "metrics_callback_errors_total";
/// Help of the counter of failed metrics callbacks.
pub const CALLBACK_ERRORS_HELP: &str =
    "Total number of metrics callbacks that threw, rejected or missed the scrape deadline";

/// What the JS side of a runtime is like.
#[derive(Clone, Copy, Debug)]
pub struct JsLimits {
    /// f64 slots per slab (the JS side allocates slabs of this size).
    pub slab_size: u32,
    /// The longest string the JS engine can create, in UTF-16 units.
    pub max_string_length: usize,
}

/// A scrape whose callbacks run: the level it scrapes and, once the JS side committed it, its
/// snapshot.
pub(crate) type Running = (NodeId, Option<Snapshot>);

/// One runtime.
pub struct Runtime {
    registry: RwLock<Registry>,
    slabs: Slabs,
    invoker: RwLock<Option<Arc<dyn CallbackInvoker>>>,
    /// Scrapes whose callbacks run, by token.
    pub(crate) snapshots: Mutex<HashMap<u64, Running>>,
    pub(crate) next_token: AtomicU64,
    pub(crate) single_flight: SingleFlight<Arc<Snapshot>>,
    pub(crate) config: SystemConfig,
    pub(crate) limits: JsLimits,
    health: Arc<Health>,
    server: tokio::sync::Mutex<Option<StatusServer>>,
    server_addr: Mutex<Option<std::net::SocketAddr>>,
    uptime: prometheus::Gauge,
    callback_errors: prometheus::IntCounter,
    closed: AtomicBool,
    /// Largest exposition so far, to pre-size the next one.
    pub(crate) last_len: AtomicUsize,
    /// The encode plan of each level rendered so far.
    pub(crate) plans: crate::encode::PlanCache,
    /// The NATS request plane, when a NATS server is configured.
    nats: RwLock<Option<Arc<NatsPlane>>>,
}

impl Runtime {
    /// A runtime without server, NATS or callbacks (see [`Runtime::start`]).
    pub fn new(config: SystemConfig, limits: JsLimits) -> Result<Arc<Runtime>> {
        let mut registry = Registry::new(limits.slab_size);
        registry.max_series_per_family = config.max_series_per_family;
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
            slabs: Slabs::new(limits.slab_size as usize),
            invoker: RwLock::new(None),
            snapshots: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
            single_flight: SingleFlight::default(),
            config,
            limits,
            health,
            server: tokio::sync::Mutex::new(None),
            server_addr: Mutex::new(None),
            uptime,
            callback_errors,
            closed: AtomicBool::new(false),
            last_len: AtomicUsize::new(64 * 1024),
            plans: Default::default(),
            nats: RwLock::new(None),
        }))
    }

    /// A runtime as `DistributedRuntime.create()` makes it: callbacks run by `invoker`, NATS
    /// connected and the status server started when the configuration asks for them. A server
    /// that cannot start shuts the runtime down again.
    pub async fn start(
        config: SystemConfig,
        limits: JsLimits,
        invoker: Arc<dyn CallbackInvoker>,
    ) -> Result<Arc<Runtime>> {
        let rt = Runtime::new(config, limits)?;
        rt.set_invoker(Some(invoker));
        rt.connect_nats().await?;
        if let Err(e) = rt.start_server().await {
            rt.shutdown().await;
            return Err(e);
        }
        Ok(rt)
    }

    /// The runtime's health.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// The table, for reading.
    pub fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The table for a creation call; fails once the runtime is shut down.
    pub fn registry_mut(&self) -> Result<RwLockWriteGuard<'_, Registry>> {
        self.check_open()?;
        Ok(self.registry.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// The JS slabs.
    pub fn slabs(&self) -> &Slabs {
        &self.slabs
    }

    /// Sets what runs the JS callbacks of a scrape that does not start on the JS thread.
    pub fn set_invoker(&self, invoker: Option<Arc<dyn CallbackInvoker>>) {
        *self.invoker.write().unwrap_or_else(|e| e.into_inner()) = invoker;
    }

    pub(crate) fn invoker(&self) -> Option<Arc<dyn CallbackInvoker>> {
        self.invoker
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the process health (`ready` or `notready`).
    pub fn set_health_status(&self, status: &str) -> Result<()> {
        let status = config::parse_health(status, Source::Argument("setHealthStatus"))?;
        self.health.set_status(status);
        Ok(())
    }

    /// Reports endpoint `name` in `/health` with `status`, or removes it (`None`).
    pub fn set_endpoint_health(&self, name: &str, status: Option<&str>) -> Result<()> {
        match status {
            None => self.health.remove_endpoint(name),
            Some(s) => self.health.set_endpoint(
                name,
                config::parse_health(s, Source::Argument("setEndpointHealth"))?,
            ),
        }
        Ok(())
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(MetricsError::new(
                ErrorKind::Closed,
                "the DistributedRuntime has been shut down",
            ));
        }
        Ok(())
    }

    /// Brings the uptime gauge up to date (before a render reads it).
    pub(crate) fn set_uptime(&self) {
        self.uptime.set(self.health.uptime().as_secs_f64());
    }

    /// Counts a failed callback (or run of them) and logs why.
    pub(crate) fn count_callback_error(&self, why: &str) {
        self.callback_errors.inc();
        eprintln!("dynamo-metrics: {why}");
    }

    /// Starts the status server if the configuration enables it.
    async fn start_server(self: &Arc<Self>) -> Result<()> {
        if !self.config.enabled {
            return Ok(());
        }
        let weak: Weak<Runtime> = Arc::downgrade(self);
        let scrape_fn: ScrapeFn = Arc::new(move |deadline| {
            let weak = weak.clone();
            Box::pin(async move {
                match weak.upgrade() {
                    Some(rt) => rt
                        .render_stream(ROOT, deadline)
                        .await
                        .map(ScrapeBody::Chunks),
                    None => Err(MetricsError::new(ErrorKind::Closed, "the runtime is gone")),
                }
            })
        });
        let server = StatusServer::start(&self.config, Arc::clone(&self.health), scrape_fn).await?;
        *self.server_addr.lock().unwrap_or_else(|e| e.into_inner()) = Some(server.local_addr());
        *self.server.lock().await = Some(server);
        Ok(())
    }

    /// The bound address of the status server, if it runs.
    pub fn server_addr(&self) -> Option<std::net::SocketAddr> {
        *self.server_addr.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connects the NATS request plane if the configuration names a server.
    async fn connect_nats(&self) -> Result<()> {
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
