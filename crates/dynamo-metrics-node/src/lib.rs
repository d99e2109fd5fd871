//! N-API binding of dynamo-metrics-core. A thin layer: argument conversion, the JS callback hook,
//! and error codes. Metric updates never come through here; they write JS slabs directly.

use std::sync::{Arc, Mutex};

use dynamo_metrics_core::config::{ConfigOverrides, SystemConfig};
use dynamo_metrics_core::family::MetricKind;
use dynamo_metrics_core::hierarchy::Level;
use dynamo_metrics_core::registry::{Created, FamilySpec};
use dynamo_metrics_core::runtime::{Inline, Runtime};
use dynamo_metrics_core::scrape::{CallbackInvoker, InvokeFuture};
use dynamo_metrics_core::MetricsError;
use napi::bindgen_prelude::{
    Either, External, Float64Array, Function, Promise, PromiseRaw, Uint32Array, Uint8Array,
};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, Result, Status};
use napi_derive::napi;

pub mod kv_metrics;
pub mod plane;

/// napi-rs only throws `Status` codes from `#[napi]` functions, so the core's error code travels as
/// a `[CODE] ` prefix of the message; `src-ts/errors.ts` turns it into a typed error class.
pub(crate) fn js(e: MetricsError) -> napi::Error {
    napi::Error::new(
        Status::InvalidArg,
        format!("[{}] {}", e.kind.code(), e.message),
    )
}

#[napi(object)]
pub struct RuntimeOptions {
    pub system_enabled: Option<bool>,
    pub system_port: Option<u32>,
    pub system_host: Option<String>,
    pub starting_health_status: Option<String>,
    pub health_path: Option<String>,
    pub live_path: Option<String>,
    pub use_endpoint_health_status: Option<Vec<String>>,
    pub scrape_timeout_ms: Option<u32>,
    /// NATS URL for the request plane (wins over `NATS_SERVER`).
    pub nats_server: Option<String>,
    /// f64 slots per slab (the JS side allocates slabs of this size).
    pub slab_size: u32,
}

/// What the JS scrape hook receives: the callbacks to run and the snapshot token to commit.
#[napi(object)]
pub struct ScrapeRequest {
    pub ids: Vec<u32>,
    pub token: f64,
}

/// What the hook returns: the failures at once, or a Promise of them (async callbacks).
type HookResult = Either<Vec<String>, Promise<Vec<String>>>;

type Hook = ThreadsafeFunction<ScrapeRequest, HookResult, ScrapeRequest, Status, false, true>;

/// The hook's result as the core awaits it.
fn awaited(r: HookResult) -> InvokeFuture {
    match r {
        Either::A(failures) => Box::pin(async move { Ok(failures) }),
        Either::B(promise) => Box::pin(async move { promise.await.map_err(|e| e.reason.clone()) }),
    }
}

struct HookInvoker(Arc<Hook>);

impl CallbackInvoker for HookInvoker {
    fn invoke(&self, ids: Vec<u32>, token: u64) -> InvokeFuture {
        let hook = Arc::clone(&self.0);
        Box::pin(async move {
            let req = ScrapeRequest {
                ids,
                token: token as f64,
            };
            let r = hook
                .call_async_catch(req)
                .await
                .map_err(|e| e.reason.clone())?;
            awaited(r).await
        })
    }
}

#[napi(object)]
pub struct FamilyOptions {
    /// counter | intcounter | gauge | intgauge | histogram
    pub kind: String,
    pub vec: bool,
    pub name: String,
    pub help: String,
    pub label_names: Vec<String>,
    /// [key, value] pairs.
    pub const_labels: Vec<Vec<String>>,
    pub buckets: Option<Vec<f64>>,
}

#[napi(object)]
pub struct FamilyInfo {
    pub id: u32,
    pub name: String,
    pub slot: Option<u32>,
    pub width: u32,
    /// Slot 1 of the series is a u64 integer lane (see `Family::int_lane`).
    pub int_lane: bool,
    pub buckets: Vec<f64>,
    /// [key, value] pairs, auto labels included, sorted by key.
    pub const_labels: Vec<Vec<String>>,
}

fn family_info(c: Created) -> FamilyInfo {
    FamilyInfo {
        id: c.family,
        name: c.name,
        slot: c.slot,
        width: c.width,
        int_lane: c.int_lane,
        buckets: c.buckets,
        const_labels: c
            .const_labels
            .into_iter()
            .map(|(k, v)| vec![k, v])
            .collect(),
    }
}

pub(crate) fn pairs(v: Vec<Vec<String>>) -> Vec<(String, String)> {
    v.into_iter()
        .map(|p| {
            let mut it = p.into_iter();
            (it.next().unwrap_or_default(), it.next().unwrap_or_default())
        })
        .collect()
}

#[napi(object)]
pub struct ServerInfo {
    pub host: String,
    pub port: u32,
}

#[napi]
pub struct NativeRuntime {
    pub(crate) rt: Arc<Runtime>,
    /// Keeps the JS slabs alive while Rust may read them.
    slabs: Mutex<Vec<Float64Array>>,
    server: Option<ServerInfo>,
}

/// Resolves the configuration, starts the status server when enabled, and installs the hook.
// The hook's type is spelled out for the generated index.d.ts (an alias would reach it as a name).
#[allow(clippy::type_complexity)]
#[napi]
pub async fn create_runtime(
    options: RuntimeOptions,
    hook: ThreadsafeFunction<
        ScrapeRequest,
        Either<Vec<String>, Promise<Vec<String>>>,
        ScrapeRequest,
        Status,
        false,
        true,
    >,
) -> Result<NativeRuntime> {
    let overrides = ConfigOverrides {
        system_enabled: options.system_enabled,
        system_port: options.system_port,
        system_host: options.system_host,
        starting_health_status: options.starting_health_status,
        health_path: options.health_path,
        live_path: options.live_path,
        use_endpoint_health_status: options.use_endpoint_health_status,
        scrape_timeout_ms: options.scrape_timeout_ms,
        nats_server: options.nats_server,
    };
    let config = SystemConfig::from_process_env(&overrides).map_err(js)?;
    let rt = Runtime::new(config, options.slab_size).map_err(js)?;
    rt.set_invoker(Some(Arc::new(HookInvoker(Arc::new(hook)))));
    rt.connect_nats().await.map_err(js)?;
    let addr = match rt.start_server().await {
        Ok(a) => a,
        Err(e) => {
            rt.shutdown().await;
            return Err(js(e));
        }
    };
    Ok(NativeRuntime {
        rt,
        slabs: Mutex::new(Vec::new()),
        server: addr.map(|a| ServerInfo {
            host: a.ip().to_string(),
            port: a.port() as u32,
        }),
    })
}

/// Prometheus's default histogram buckets, as the core defines them (the JS constant reads this).
#[napi]
pub fn default_buckets() -> Vec<f64> {
    dynamo_metrics_core::names::DEFAULT_BUCKETS.to_vec()
}

/// Plain-function handle for series creation (slot reservations and batches): `#[napi]` class
/// methods cost ~0.7 µs each here (unwrap plus type-tag check), a plain function much less.
pub struct Handle(Arc<Runtime>);

/// Reserves `out.length` slot ranges of `family`'s width for series registered later in a batch,
/// written into `out` (a buffer the JS side keeps: no array is created per call).
#[napi]
pub fn reserve_slots(handle: &External<Handle>, family: u32, mut out: Uint32Array) -> Result<()> {
    let slots = handle
        .0
        .registry_mut()
        .map_err(js)?
        .reserve_slots(family, out.len() as u32)
        .map_err(js)?;
    // SAFETY: this runs on the JS thread inside the call, so no JS code touches `out` meanwhile.
    unsafe { out.as_mut() }.copy_from_slice(&slots);
    Ok(())
}

/// Registers a batch of series: the first `n_ints` of `ints` are the records (family, slot, each
/// value's UTF-8 length), the first `n_bytes` of `bytes` the values. Buffers the JS side keeps,
/// written in place: no string is created or converted per batch.
#[napi]
pub fn add_series_batch(
    handle: &External<Handle>,
    ints: Uint32Array,
    n_ints: u32,
    bytes: Uint8Array,
    n_bytes: u32,
) -> Result<()> {
    let ints = ints.get(..n_ints as usize).unwrap_or(&ints);
    let bytes = bytes.get(..n_bytes as usize).unwrap_or(&bytes);
    handle
        .0
        .registry_mut()
        .map_err(js)?
        .add_series_batch(ints, bytes)
        .map_err(js)
}

#[napi]
impl NativeRuntime {
    /// The handle for [`reserve_slots`] and [`add_series_batch`].
    #[napi(getter)]
    pub fn handle(&self) -> External<Handle> {
        External::new(Handle(Arc::clone(&self.rt)))
    }

    #[napi(getter)]
    pub fn server_info(&self) -> Option<ServerInfo> {
        self.server.as_ref().map(|s| ServerInfo {
            host: s.host.clone(),
            port: s.port,
        })
    }

    /// Returns the child level's node id (the same id when asked twice).
    #[napi]
    pub fn child(&self, parent: u32, level: String, name: String) -> Result<u32> {
        let level = Level::parse(&level).map_err(js)?;
        self.rt
            .registry_mut()
            .map_err(js)?
            .child(parent, level, &name)
            .map_err(js)
    }

    #[napi]
    pub fn create_family(&self, node: u32, o: FamilyOptions) -> Result<FamilyInfo> {
        let spec = FamilySpec {
            kind: MetricKind::parse(&o.kind).map_err(js)?,
            vec: o.vec,
            name: o.name,
            help: o.help,
            label_names: o.label_names,
            const_labels: pairs(o.const_labels),
            buckets: o.buckets,
        };
        let c = self
            .rt
            .registry_mut()
            .map_err(js)?
            .create_family(node, &spec)
            .map_err(js)?;
        Ok(family_info(c))
    }

    /// Creates the series of one label set; `values[i]` is null when the JS value had a bad type.
    #[napi]
    pub fn create_series(
        &self,
        family: u32,
        keys: Vec<String>,
        values: Vec<Option<String>>,
    ) -> Result<u32> {
        let pairs: Vec<(String, Option<String>)> = keys.into_iter().zip(values).collect();
        self.rt
            .registry_mut()
            .map_err(js)?
            .create_series(family, &pairs)
            .map_err(js)
    }

    #[napi]
    pub fn remove_series(&self, family: u32, slot: u32) -> Result<bool> {
        self.rt
            .registry_mut()
            .map_err(js)?
            .remove_series(family, slot)
            .map_err(js)
    }

    #[napi]
    pub fn reset_family(&self, family: u32) -> Result<()> {
        self.rt
            .registry_mut()
            .map_err(js)?
            .reset_family(family)
            .map_err(js)
    }

    /// Hands slab `index` to Rust once; JS keeps writing it, Rust reads it at scrape time.
    #[napi]
    pub fn attach_slab(&self, index: u32, slab: Float64Array) -> Result<()> {
        let len = slab.len();
        // SAFETY: the typed array is stored below and only released after detach_all (shutdown)
        // or when this object is finalized; its buffer is private to the package and never detached.
        unsafe { self.rt.slabs().attach(index as usize, slab.as_ptr(), len) }.map_err(js)?;
        self.slabs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slab);
        Ok(())
    }

    #[napi]
    pub fn register_callback(&self, node: u32) -> Result<u32> {
        self.rt
            .registry_mut()
            .map_err(js)?
            .register_callback(node)
            .map_err(js)
    }

    #[napi]
    pub fn unregister_callback(&self, id: u32) -> bool {
        match self.rt.registry_mut() {
            Ok(mut r) => r.unregister_callback(id),
            Err(_) => false,
        }
    }

    /// Called by the JS hook, on the JS thread, after the callbacks of scrape `token` settled.
    #[napi]
    pub fn commit_snapshot(&self, token: f64) {
        self.rt.commit_snapshot(token as u64);
    }

    /// Runs the subtree's callbacks with `hook` (the scrape hook, called here on the JS thread:
    /// no Rust thread is woken to start them) and renders `node` and its descendants: here and
    /// now when the callbacks all returned at once and the runtime is small, else on a Rust
    /// thread.
    #[napi(ts_return_type = "string | Promise<string>")]
    pub fn render_with<'env>(
        &self,
        env: &'env Env,
        node: u32,
        hook: Function<'_, ScrapeRequest, Either<Vec<String>, Promise<Vec<String>>>>,
    ) -> Result<Either<String, PromiseRaw<'env, String>>> {
        let claim = match self.rt.claim_inline(node).map_err(js)? {
            Inline::Claimed(claim) => claim,
            Inline::NoCallbacks if self.rt.renders_inline() => {
                return Ok(Either::A(self.rt.render_now(node).map_err(js)?));
            }
            Inline::NoCallbacks | Inline::Busy => {
                let rt = Arc::clone(&self.rt);
                let later = async move { rt.scrape(node, None).await.map_err(js) };
                return env.spawn_future(later).map(Either::B);
            }
        };
        let req = ScrapeRequest {
            ids: claim.ids.clone(),
            token: claim.token as f64,
        };
        let ran: InvokeFuture = match hook.call(req) {
            Ok(Either::A(failures)) if self.rt.renders_inline() => {
                return Ok(Either::A(claim.render_now(failures)));
            }
            Ok(r) => awaited(r),
            Err(e) => Box::pin(async move { Err(e.reason.clone()) }),
        };
        env.spawn_future(async move { claim.render(ran).await.map_err(js) })
            .map(Either::B)
    }

    #[napi]
    pub fn set_health_status(&self, status: String) -> Result<()> {
        self.rt.set_health_status(&status).map_err(js)
    }

    /// Stops the server and the callbacks; the process can then exit.
    #[napi]
    pub async fn shutdown(&self) {
        self.rt.shutdown().await;
    }
}
