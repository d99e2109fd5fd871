//! Binding of the request plane: automatic endpoint metrics, endpoint health, and the NATS
//! transport (serving, discovery, requests). Logic lives in the core; this converts arguments.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dynamo_metrics_core::endpoint_metrics;
use dynamo_metrics_core::nats::{
    service_name, IncomingRequest, NatsPlane, RequestSink, ResponseStream, ServeSpec,
    ServedEndpoint,
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

    /// Publishes one response of request `token`.
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

    /// Ends request `token`: a final message, or the handler's error.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn finish<'env>(
        &self,
        env: &'env Env,
        token: f64,
        payload: Buffer,
        error: Option<String>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let bytes = Bytes::copy_from_slice(&payload);
        let inner = Arc::clone(&self.inner);
        coded(env, async move {
            inner.finish(token as u64, bytes, error).await
        })
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

/// The responses of one NATS request.
#[napi]
pub struct NatsResponses {
    inner: Arc<tokio::sync::Mutex<ResponseStream>>,
}

#[napi]
impl NatsResponses {
    /// The next response payload, or null after the final one.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn next<'env>(
        &self,
        env: &'env Env,
        idle_ms: u32,
    ) -> Result<PromiseRaw<'env, Option<Buffer>>> {
        let inner = Arc::clone(&self.inner);
        coded(env, async move {
            let mut s = inner.lock().await;
            let msg = s.next(Duration::from_millis(idle_ms as u64)).await?;
            Ok(msg.map(|b| Buffer::from(b.to_vec())))
        })
    }
}

/// The NATS service name of a component (`<namespace>_<component>`, sanitized), also used for the
/// in-process plane's stats so both report the same name.
#[napi]
pub fn service_name_of(namespace: String, component: String) -> String {
    service_name(&namespace, &component)
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
    pub fn serve_nats<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        component: String,
        endpoint: String,
        instance: String,
        on_event: ThreadsafeFunction<NatsEvent, (), NatsEvent, Status, false, true>,
    ) -> Result<PromiseRaw<'env, NatsServed>> {
        let plane = plane(self)?;
        coded(env, async move {
            let spec = ServeSpec {
                service: service_name(&namespace, &component),
                endpoint,
                instance,
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

    /// Sends a request to `subject`; read its responses with `next()`.
    #[napi(ts_return_type = "Promise<NatsResponses>")]
    pub fn nats_request<'env>(
        &self,
        env: &'env Env,
        subject: String,
        request_id: String,
        payload: Buffer,
    ) -> Result<PromiseRaw<'env, NatsResponses>> {
        let plane = plane(self)?;
        let bytes = Bytes::copy_from_slice(&payload);
        coded(env, async move {
            let stream = plane.request(&subject, &request_id, bytes).await?;
            Ok(NatsResponses {
                inner: Arc::new(tokio::sync::Mutex::new(stream)),
            })
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
