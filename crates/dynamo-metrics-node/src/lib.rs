//! N-API binding of dynamo-metrics-core. It only converts: JS arguments to core types, core
//! results and errors to JS values (an error's code travels as the thrown error's `code`). Metric
//! updates never come through here; they write JS slabs directly.

use std::future::Future;
use std::sync::{Arc, Mutex};

use dynamo_metrics_core::config::{ConfigOverrides, SystemConfig};
use dynamo_metrics_core::hierarchy::Level;
use dynamo_metrics_core::runtime::{JsLimits, Runtime};
use dynamo_metrics_core::scrape::{CallbackInvoker, HookRun, InvokeFuture, Rendered, ScrapeCall};
use dynamo_metrics_core::series::create::FamilyOptions as CoreFamilyOptions;
use dynamo_metrics_core::series::layout::SlotLayout as CoreLayout;
use dynamo_metrics_core::series::{Created, FamilySpec, MetricKind};
use dynamo_metrics_core::MetricsError;
use napi::bindgen_prelude::{
    Either, External, Float64Array, Function, Object, Promise, PromiseRaw, ToNapiValue,
    Uint32Array, Uint8Array,
};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, JsError, Status};
use napi_derive::napi;

pub mod frontend;
pub mod kv_metrics;
mod options;
pub mod plane;

/// Results of the binding's functions: the error's status string becomes the JS error's `code`.
pub(crate) type Result<T> = std::result::Result<T, napi::Error<String>>;

/// A core error as the JS error `src-ts/binding/errors.ts` turns into its class.
pub(crate) fn js(e: MetricsError) -> napi::Error<String> {
    napi::Error::new(e.kind.code().to_string(), e.message)
}

/// A napi error (a failed conversion or call) with its status as the code.
pub(crate) fn napi_error(e: napi::Error) -> napi::Error<String> {
    napi::Error::new(e.status.as_ref().to_string(), e.reason)
}

/// Runs `fut` on the runtime's threads; its core error rejects the Promise with the same coded
/// error a synchronous call throws. (A Rust-side rejection can only carry a napi `Status`, so the
/// error object is made on the JS thread, where the result arrives.)
pub(crate) fn coded<'env, T, F>(env: &'env Env, fut: F) -> Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = dynamo_metrics_core::Result<T>> + Send + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, |env, r| {
        r.map_err(|e| {
            let thrown = JsError::from(js(e)).into_unknown(*env);
            napi::Error::from(thrown)
        })
    })
    .map_err(napi_error)
}

/// The options object of `DistributedRuntime.create()`: the core's options (declared once, in
/// `dynamo_metrics_core::runtime_options!`) plus the two the package sets itself; its generated
/// declaration is the TS type (without those two). The conversion names every option, from the
/// same list, so none can be left out.
macro_rules! napi_runtime_options {
    ($($(#[doc = $doc:literal])* $(#[ts = $ts:literal])? $name:ident: [$($ty:tt)*],)*) => {
        /// Options of `DistributedRuntime.create()`, declared once (in the core): the TS type is
        /// this struct's generated declaration (without the two fields the package sets itself).
        #[napi(object)]
        pub struct RuntimeOptions {
            $($(#[doc = $doc])* $(#[napi(ts_type = $ts)])? pub $name: $($ty)*,)*
            /// @internal f64 slots per slab (the JS side allocates slabs of this size).
            pub slab_size: u32,
            /// @internal The longest string the JS engine can create, in UTF-16 units.
            pub max_string_length: u32,
        }

        impl RuntimeOptions {
            /// The options object read field by field (`options.rs`): a value of the wrong JS
            /// type is a ConfigError naming the option, not napi's untyped conversion error.
            fn read(o: &napi::bindgen_prelude::Object) -> Result<Self> {
                Ok(RuntimeOptions {
                    $($name: options::option(o, stringify!($name))?,)*
                    slab_size: options::internal(o, "slabSize")?,
                    max_string_length: options::internal(o, "maxStringLength")?,
                })
            }

            fn into_core(self) -> (ConfigOverrides, JsLimits) {
                let overrides = ConfigOverrides {
                    $($name: self.$name,)*
                };
                let limits = JsLimits {
                    slab_size: self.slab_size,
                    max_string_length: self.max_string_length as usize,
                };
                (overrides, limits)
            }
        }
    };
}
dynamo_metrics_core::runtime_options!(napi_runtime_options);

/// What the JS scrape hook receives: the callbacks to run and the snapshot token to commit.
#[napi(object)]
pub struct ScrapeRequest {
    /// Callback ids, in registration order (one typed array: an array is built element by
    /// element, which cost more than the rest of the conversion).
    pub ids: Uint32Array,
    /// The snapshot token to commit under.
    pub token: f64,
}

impl From<ScrapeCall> for ScrapeRequest {
    fn from(c: ScrapeCall) -> Self {
        ScrapeRequest {
            ids: Uint32Array::new(c.ids),
            token: c.token as f64,
        }
    }
}

/// What the hook returns: the failures at once, or a Promise of them (async callbacks).
type HookResult = Either<Vec<String>, Promise<Vec<String>>>;

type Hook = ThreadsafeFunction<ScrapeRequest, HookResult, ScrapeRequest, Status, false, true>;

/// A failed hook call's reason for the log; napi gives none when the JS thread is going away
/// (the runtime's environment is tearing down), and an empty reason tells the reader nothing.
fn reason(e: &napi::Error) -> String {
    if e.reason.trim().is_empty() {
        format!(
            "the JS thread did not run them (napi status {:?}; the process or its worker is probably exiting)",
            e.status
        )
    } else {
        e.reason.clone()
    }
}

/// The hook's result as the core takes it.
fn hook_run(r: napi::Result<HookResult>) -> HookRun {
    match r {
        Ok(Either::A(failures)) => HookRun::Done(failures),
        Ok(Either::B(promise)) => {
            HookRun::Pending(Box::pin(
                async move { promise.await.map_err(|e| reason(&e)) },
            ))
        }
        Err(e) => HookRun::Failed(reason(&e)),
    }
}

struct HookInvoker(Arc<Hook>);

impl CallbackInvoker for HookInvoker {
    fn invoke(&self, call: ScrapeCall) -> InvokeFuture {
        let hook = Arc::clone(&self.0);
        Box::pin(async move {
            let r = hook.call_async_catch(call.into()).await;
            match hook_run(r) {
                HookRun::Done(failures) => Ok(failures),
                HookRun::Pending(later) => later.await,
                HookRun::Failed(msg) => Err(msg),
            }
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
    /// Names the family `<prefix>_<name>` at the root, without hierarchy labels (the frontend's).
    pub prefix: Option<String>,
    /// The metric's own series limit; the runtime's when absent.
    pub max_series: Option<f64>,
    /// Idle-series expiry of a Vec, in seconds (`series::expiry`); checked by the core.
    pub ttl_seconds: Option<f64>,
}

impl FamilyOptions {
    /// The core's spec, and the prefix of a family outside the hierarchy.
    fn into_core(
        self,
    ) -> dynamo_metrics_core::Result<(FamilySpec, Option<String>, CoreFamilyOptions)> {
        let spec = FamilySpec {
            kind: MetricKind::parse(&self.kind)?,
            vec: self.vec,
            name: self.name,
            help: self.help,
            label_names: self.label_names,
            const_labels: pairs(self.const_labels),
            buckets: self.buckets,
        };
        let options = CoreFamilyOptions {
            max_series: self.max_series,
            ttl_seconds: self.ttl_seconds,
        };
        Ok((spec, self.prefix, options))
    }
}

/// Where a series' values sit in its slot range (Rust's `series::layout`); offsets from its first slot.
#[napi(object)]
pub struct SlotLayout {
    /// Slots per series.
    pub width: u32,
    /// The u64 integer lane of a label-less counter (two u32 halves, low first).
    pub int_lane: Option<u32>,
    /// A histogram's first bucket count (one per bound, then `+Inf`; the count is their sum).
    pub buckets: Option<u32>,
    /// A histogram's sum of observed values.
    pub sum: Option<u32>,
    /// The touched mark of a Vec with idle expiry: JS sets it to 1 on every write.
    pub touched: Option<u32>,
}

impl From<CoreLayout> for SlotLayout {
    fn from(l: CoreLayout) -> Self {
        SlotLayout {
            width: l.width,
            int_lane: l.int_lane,
            buckets: l.buckets,
            sum: l.sum,
            touched: l.touched,
        }
    }
}

#[napi(object)]
pub struct FamilyInfo {
    pub id: u32,
    pub name: String,
    pub slot: Option<u32>,
    pub width: u32,
    /// Slot 1 of the series is a u64 integer lane (see `layout.intLane`).
    pub int_lane: bool,
    /// Where the values of each series of this family sit.
    pub layout: SlotLayout,
    pub buckets: Vec<f64>,
    /// [key, value] pairs, auto labels included, sorted by key.
    pub const_labels: Vec<Vec<String>>,
    /// Series the family may hold before new label sets fold into its overflow series.
    pub max_series: u32,
}

impl From<Created> for FamilyInfo {
    fn from(c: Created) -> Self {
        FamilyInfo {
            id: c.family,
            name: c.name,
            slot: c.slot,
            width: c.layout.width,
            int_lane: c.layout.int_lane.is_some(),
            layout: c.layout.into(),
            buckets: c.buckets,
            const_labels: c
                .const_labels
                .into_iter()
                .map(|(k, v)| vec![k, v])
                .collect(),
            max_series: c.max_series,
        }
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

impl From<std::net::SocketAddr> for ServerInfo {
    fn from(a: std::net::SocketAddr) -> Self {
        ServerInfo {
            host: a.ip().to_string(),
            port: a.port() as u32,
        }
    }
}

#[napi]
pub struct NativeRuntime {
    pub(crate) rt: Arc<Runtime>,
    /// Keeps the JS slabs alive while Rust may read them.
    slabs: Mutex<Vec<Float64Array>>,
    server: Option<std::net::SocketAddr>,
}

/// Resolves the configuration, starts the status server when enabled, and installs the hook.
// The hook's type is spelled out for the generated index.d.ts (an alias would reach it as a name).
#[allow(clippy::type_complexity)]
#[napi(
    ts_args_type = "options: RuntimeOptions, hook: ((arg: ScrapeRequest) => Array<string> | Promise<Array<string>>)",
    ts_return_type = "Promise<NativeRuntime>"
)]
pub fn create_runtime<'env>(
    env: &'env Env,
    options: Object<'_>,
    hook: ThreadsafeFunction<
        ScrapeRequest,
        Either<Vec<String>, Promise<Vec<String>>>,
        ScrapeRequest,
        Status,
        false,
        true,
    >,
) -> Result<PromiseRaw<'env, NativeRuntime>> {
    let (overrides, limits) = RuntimeOptions::read(&options)?.into_core();
    coded(env, async move {
        let config = SystemConfig::from_process_env(&overrides)?;
        let rt = Runtime::start(config, limits, Arc::new(HookInvoker(Arc::new(hook)))).await?;
        let server = rt.server_addr();
        Ok(NativeRuntime {
            rt,
            slabs: Mutex::new(Vec::new()),
            server,
        })
    })
}

/// Prometheus's default histogram buckets, as the core defines them (the JS constant reads this).
#[napi]
pub fn default_buckets() -> Vec<f64> {
    dynamo_metrics_core::names::DEFAULT_BUCKETS.to_vec()
}

/// Plain-function handle for series creation (slot reservations and batches): a plain function
/// skips the unwrap and type-tag check of a class method, which series creation pays per call.
pub struct Handle(Arc<Runtime>);

/// Reserves `out.length` slot ranges of `family`'s width for series registered later in a batch,
/// written into `out` (a buffer the JS side keeps: no array is created per call).
#[napi]
pub fn reserve_slots(handle: &External<Handle>, family: u32, mut out: Uint32Array) -> Result<()> {
    let slots = handle
        .0
        .registry_mut()
        .and_then(|mut r| r.reserve_slots(family, out.len() as u32))
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
        .and_then(|mut r| r.add_series_batch(ints, bytes))
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
        self.server.map(ServerInfo::from)
    }

    /// Returns the child level's node id (the same id when asked twice).
    #[napi]
    pub fn child(&self, parent: u32, level: String, name: String) -> Result<u32> {
        let level = Level::parse(&level).map_err(js)?;
        self.rt
            .registry_mut()
            .and_then(|mut r| r.child(parent, level, &name))
            .map_err(js)
    }

    #[napi]
    pub fn create_family(&self, node: u32, o: FamilyOptions) -> Result<FamilyInfo> {
        let (spec, prefix, options) = o.into_core().map_err(js)?;
        self.rt
            .registry_mut()
            .and_then(|mut r| r.create_with(node, prefix.as_deref(), &spec, options))
            .map(FamilyInfo::from)
            .map_err(js)
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
            .and_then(|mut r| r.create_series(family, &pairs))
            .map_err(js)
    }

    #[napi]
    pub fn remove_series(&self, family: u32, slot: u32) -> Result<bool> {
        self.rt
            .registry_mut()
            .and_then(|mut r| r.remove_series(family, slot))
            .map_err(js)
    }

    #[napi]
    pub fn reset_family(&self, family: u32) -> Result<()> {
        self.rt
            .registry_mut()
            .and_then(|mut r| r.reset_family(family))
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
            .and_then(|mut r| r.register_callback(node))
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

    /// Renders `node` and its descendants for `prometheusMetricsFmt()`, running the subtree's
    /// callbacks with `hook` on this (the JS) thread; `caller` is the token of the scrape whose
    /// callback is asking, if one is. Where and when it renders is the core's choice.
    #[napi(ts_return_type = "string | Promise<string>")]
    pub fn render_with<'env>(
        &self,
        env: &'env Env,
        node: u32,
        caller: Option<f64>,
        hook: Function<'_, ScrapeRequest, Either<Vec<String>, Promise<Vec<String>>>>,
    ) -> Result<Either<String, PromiseRaw<'env, String>>> {
        let rendered = self
            .rt
            .render(node, caller.map(|t| t as u64), |call| {
                hook_run(hook.call(call.into()))
            })
            .map_err(js)?;
        match rendered {
            Rendered::Now(text) => Ok(Either::A(text)),
            Rendered::Later(text) => coded(env, text).map(Either::B),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_failure_without_a_reason_still_logs_one() {
        // What napi-rs gives when the threadsafe function is closing (the environment is
        // tearing down): a status and an empty reason.
        let why = reason(&napi::Error::from_status(Status::Closing));
        assert!(why.contains("did not run them"), "{why}");
        assert!(why.contains("Closing"), "{why}");
        let why = reason(&napi::Error::new(Status::GenericFailure, "boom"));
        assert_eq!(why, "boom");
    }
}
