//! Binding of the request plane: automatic endpoint metrics, endpoint health, and the NATS
//! transport (serving, discovery, requests). Logic lives in the core; this converts arguments.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use dynamo_metrics_core::plane::endpoint_metrics;
use dynamo_metrics_core::plane::serve::CREDIT_WAIT;
use dynamo_metrics_core::plane::subjects::{
    endpoint_subject, service_name, DELIVERY_ERROR_CODE, HANDLER_ERROR_CODE, SERVICE_VERSION,
};
use dynamo_metrics_core::plane::{
    IncomingRequest, NatsPlane, RequestSink, ResponseStream, ServeSpec, ServedEndpoint,
};
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;

use crate::{coded, js, pairs, FamilyInfo, NativeRuntime, Result};

/// A request or a cancellation for a served NATS endpoint, delivered to the JS ingress.
#[napi(object)]
pub struct NatsEvent {
    /// `request` or `cancel`
    pub kind: String,
    pub token: f64,
    pub request_id: String,
    pub payload: Option<Buffer>,
}

type EventFn = ThreadsafeFunction<NatsEvent, (), NatsEvent, Status, false, true>;

struct Sink(EventFn);

impl RequestSink for Sink {
    fn deliver(&self, req: IncomingRequest) {
        self.0.call(
            NatsEvent {
                kind: "request".into(),
                token: req.token as f64,
                request_id: req.request_id,
                payload: Some(Buffer::from(req.payload.to_vec())),
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }

    fn cancel(&self, token: u64) {
        self.0.call(
            NatsEvent {
                kind: "cancel".into(),
                token: token as f64,
                request_id: String::new(),
                payload: None,
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}

#[napi(object)]
pub struct NatsInstance {
    pub id: String,
    pub subject: String,
}

/// A served NATS endpoint: the JS ingress answers its requests through it.
#[napi]
pub struct NatsServed {
    inner: Arc<ServedEndpoint>,
}

#[napi]
impl NatsServed {
    #[napi(getter)]
    pub fn subject(&self) -> String {
        self.inner.subject().to_string()
    }

    /// Publishes one response of request `token` once the caller's credit allows it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn send<'env>(
        &self,
        env: &'env Env,
        token: f64,
        payload: Buffer,
    ) -> Result<PromiseRaw<'env, ()>> {
        let bytes = Bytes::copy_from_slice(&payload);
        let inner = Arc::clone(&self.inner);
        coded(env, async move { inner.send(token as u64, bytes).await })
    }

    /// Ends request `token`: a final message carrying `payload` (a last response, or empty), or
    /// the error `error` (`delivery`: the worker could not deliver a response, else the
    /// handler failed). Checked here (a message over the max payload throws and the request
    /// stays pending); the publish itself runs in the background, so ending a request costs
    /// no second crossing back into JS.
    #[napi]
    pub fn finish(
        &self,
        token: f64,
        payload: Buffer,
        error: Option<String>,
        delivery: Option<bool>,
    ) -> Result<()> {
        let code = if delivery == Some(true) {
            DELIVERY_ERROR_CODE
        } else {
            HANDLER_ERROR_CODE
        };
        let msg = self
            .inner
            .final_message(
                token as u64,
                Bytes::copy_from_slice(&payload),
                error.as_deref().map(|m| (m, code)),
            )
            .map_err(js)?;
        napi::bindgen_prelude::spawn(async move {
            let _ = msg.publish().await;
        });
        Ok(())
    }

    /// The `statsHandler` value reported in `$SRV.STATS` (JSON text).
    #[napi]
    pub fn set_stats(&self, json: String) -> Result<()> {
        self.inner.set_stats_json(&json).map_err(js)
    }

    /// Stops announcing and receiving requests.
    #[napi]
    pub async fn stop(&self) {
        self.inner.stop().await;
    }
}

/// The NATS service name of a component (`<namespace>_<component>`, sanitized), also used for the
/// in-process plane's stats so both report the same name.
#[napi]
pub fn service_name_of(namespace: String, component: String) -> String {
    service_name(&namespace, &component)
}

/// The subject instance `instance` of an endpoint serves over NATS (the in-process plane reports
/// it too, so both planes' stats read alike).
#[napi]
pub fn endpoint_subject_of(
    namespace: String,
    component: String,
    endpoint: String,
    instance: String,
) -> String {
    endpoint_subject(&service_name(&namespace, &component), &endpoint, &instance)
}

/// The version a served NATS service announces (and the in-process stats report).
#[napi]
pub fn plane_service_version() -> String {
    SERVICE_VERSION.to_string()
}

fn plane(rt: &NativeRuntime) -> Result<Arc<NatsPlane>> {
    rt.rt.require_nats().map_err(js)
}

#[napi]
impl NativeRuntime {
    /// URL of the connected NATS server, or null for the in-process plane.
    #[napi(getter)]
    pub fn nats_url(&self) -> Option<String> {
        self.rt.nats().map(|p| p.url().to_string())
    }

    /// Creates Dynamo's automatic work-handler metrics on endpoint `node`.
    #[napi]
    pub fn create_endpoint_metrics(
        &self,
        node: u32,
        labels: Vec<Vec<String>>,
    ) -> Result<Vec<FamilyInfo>> {
        let mut reg = self.rt.registry_mut().map_err(js)?;
        let created = endpoint_metrics::create(&mut reg, node, &pairs(labels)).map_err(js)?;
        Ok(created.into_iter().map(FamilyInfo::from).collect())
    }

    /// Reports endpoint `name` in `/health` (`ready` or `notready`), or removes it (`null`).
    #[napi]
    pub fn set_endpoint_health(&self, name: String, status: Option<String>) -> Result<()> {
        self.rt
            .set_endpoint_health(&name, status.as_deref())
            .map_err(js)
    }

    /// Serves `endpoint` of `namespace`/`component` over NATS as instance `instance`.
    #[napi(ts_return_type = "Promise<NatsServed>")]
    #[allow(clippy::too_many_arguments)] // N-API arguments are positional; each is one JS argument
    pub fn serve_nats<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        component: String,
        endpoint: String,
        instance: String,
        credit_timeout_ms: Option<u32>,
        on_event: ThreadsafeFunction<NatsEvent, (), NatsEvent, Status, false, true>,
    ) -> Result<PromiseRaw<'env, NatsServed>> {
        let plane = plane(self)?;
        coded(env, async move {
            let spec = ServeSpec {
                service: service_name(&namespace, &component),
                endpoint,
                instance,
                credit_wait: credit_timeout_ms
                    .map_or(CREDIT_WAIT, |ms| Duration::from_millis(u64::from(ms))),
            };
            let inner = plane.serve(spec, Arc::new(Sink(on_event))).await?;
            Ok(NatsServed { inner })
        })
    }

    /// Live instances of an endpoint, from `$SRV.INFO` answers within `wait_ms`.
    #[napi(ts_return_type = "Promise<Array<NatsInstance>>")]
    pub fn nats_discover<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        component: String,
        endpoint: String,
        wait_ms: u32,
    ) -> Result<PromiseRaw<'env, Vec<NatsInstance>>> {
        let plane = plane(self)?;
        let service = service_name(&namespace, &component);
        coded(env, async move {
            let found = plane
                .discover(&service, &endpoint, Duration::from_millis(wait_ms as u64))
                .await?;
            Ok(found
                .into_iter()
                .map(|i| NatsInstance {
                    id: i.id,
                    subject: i.subject,
                })
                .collect())
        })
    }

    /// The `$SRV.STATS` answers (JSON text) of a component's service instances within `wait_ms`.
    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub fn nats_stats<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        component: String,
        wait_ms: u32,
    ) -> Result<PromiseRaw<'env, Vec<String>>> {
        let plane = plane(self)?;
        let service = service_name(&namespace, &component);
        coded(env, async move {
            let found = plane
                .stats(&service, Duration::from_millis(wait_ms as u64))
                .await?;
            Ok(found.into_iter().map(|v| v.to_string()).collect())
        })
    }

    /// Asks the worker serving `subject` to cancel `request_id`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn nats_cancel<'env>(
        &self,
        env: &'env Env,
        subject: String,
        request_id: String,
    ) -> Result<PromiseRaw<'env, ()>> {
        let plane = plane(self)?;
        coded(
            env,
            async move { plane.cancel(&subject, &request_id).await },
        )
    }
}

/// One answer to a [`NatsCaller`] call, delivered through its one callback.
#[napi(object)]
pub struct NatsReply {
    /// The call's key.
    pub key: u32,
    /// The response, or null (the stream ended without one, or `error` is set).
    pub payload: Option<Buffer>,
    /// True when the stream has ended (no `next` for this key).
    pub done: bool,
    /// The failure's code (`ERR_DYNAMO_*`), when the call failed.
    pub code: Option<String>,
    /// The failure's message, when the call failed.
    pub error: Option<String>,
}

type ReplyFn = ThreadsafeFunction<NatsReply, (), NatsReply, Status, false, true>;
type Streams = Arc<Mutex<std::collections::HashMap<u32, ResponseStream>>>;

/// The caller side of the NATS plane with one callback for every answer: each call returns at
/// once and its answer comes back through that callback, so answers that arrive together reach
/// JS in one wake-up instead of one promise settlement (and its thread crossing) each.
#[napi]
pub struct NatsCaller {
    plane: Arc<NatsPlane>,
    reply: Arc<ReplyFn>,
    streams: Streams,
}

fn deliver(reply: &ReplyFn, key: u32, r: dynamo_metrics_core::Result<Option<Bytes>>, done: bool) {
    let v = match r {
        Ok(p) => NatsReply {
            key,
            payload: p.map(|b| Buffer::from(b.to_vec())),
            done,
            code: None,
            error: None,
        },
        Err(e) => NatsReply {
            key,
            payload: None,
            done: true,
            code: Some(e.kind.code().to_string()),
            error: Some(e.message),
        },
    };
    reply.call(v, ThreadsafeFunctionCallMode::NonBlocking);
}

#[napi]
impl NatsCaller {
    /// Sends a request to `subject`; its first answer comes to the callback under `key`.
    /// `window` > 0: the worker sends at most that many responses beyond what was read.
    #[napi]
    pub fn request(
        &self,
        key: u32,
        subject: String,
        request_id: String,
        payload: Buffer,
        idle_ms: u32,
        window: u32,
    ) {
        let bytes = Bytes::copy_from_slice(&payload);
        let (plane, reply, streams) = (
            Arc::clone(&self.plane),
            Arc::clone(&self.reply),
            Arc::clone(&self.streams),
        );
        napi::bindgen_prelude::spawn(async move {
            let mut stream = match plane.request(&subject, &request_id, bytes, window).await {
                Ok(s) => s,
                Err(e) => return deliver(&reply, key, Err(e), true),
            };
            let r = stream.next(Duration::from_millis(idle_ms as u64)).await;
            let done = stream.is_done();
            if !done {
                streams
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, stream);
            }
            deliver(&reply, key, r, done);
        });
    }

    /// Reads the next response of call `key`; the answer comes to the callback.
    #[napi]
    pub fn next(&self, key: u32, idle_ms: u32) {
        let (reply, streams) = (Arc::clone(&self.reply), Arc::clone(&self.streams));
        napi::bindgen_prelude::spawn(async move {
            let taken = streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            let Some(mut stream) = taken else {
                let e = dynamo_metrics_core::MetricsError::new(
                    dynamo_metrics_core::ErrorKind::Nats,
                    format!("call {key} has no open response stream"),
                );
                return deliver(&reply, key, Err(e), true);
            };
            let r = stream.next(Duration::from_millis(idle_ms as u64)).await;
            let done = stream.is_done();
            if !done {
                streams
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, stream);
            }
            deliver(&reply, key, r, done);
        });
    }

    /// Forgets call `key`'s stream (the caller stopped reading); later messages are dropped.
    #[napi]
    pub fn close(&self, key: u32) {
        self.streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}

#[napi]
impl NativeRuntime {
    /// The caller side of the NATS plane, answering through `on_reply`.
    #[napi(ts_args_type = "onReply: (reply: NatsReply) => void")]
    pub fn nats_caller(&self, on_reply: ReplyFn) -> Result<NatsCaller> {
        Ok(NatsCaller {
            plane: plane(self)?,
            reply: Arc::new(on_reply),
            streams: Arc::default(),
        })
    }
}
