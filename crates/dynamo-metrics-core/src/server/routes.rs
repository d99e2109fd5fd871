//! The routes: `/metrics` (bounded renders, HEAD without a render), the health and liveness
//! paths, 404 and 405.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::limits::{MIN_PROMETHEUS_TIMEOUT, RETRY_AFTER_SECS};
use super::listener::ConnInfo;
use super::shutdown::{reached, Phase};
use super::{ScrapeBody, ScrapeFn, METRICS_CONTENT_TYPE};
use crate::config::SystemConfig;
use crate::error::{ErrorKind, MetricsError};
use crate::health::Health;

const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";
const JSON_CONTENT_TYPE: &str = "application/json";
pub(super) const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// What every request handler shares.
pub(super) struct App {
    health: Arc<Health>,
    scrape: ScrapeFn,
    health_path: String,
    live_path: String,
    phase: watch::Receiver<Phase>,
    /// One permit per render in flight; a render holds it until its body is sent or dropped.
    renders: Arc<Semaphore>,
    render_wait: Duration,
}

impl App {
    pub(super) fn new(
        cfg: &SystemConfig,
        health: Arc<Health>,
        scrape: ScrapeFn,
        phase: watch::Receiver<Phase>,
    ) -> App {
        App {
            health,
            scrape,
            health_path: cfg.health_path.clone(),
            live_path: cfg.live_path.clone(),
            phase,
            renders: Arc::new(Semaphore::new(cfg.limits.max_concurrent_renders)),
            render_wait: cfg.limits.render_wait,
        }
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// A response body that keeps `held` (a request guard, a render permit) until it is sent or
/// dropped: that is when the request really ends.
struct Holding<H> {
    body: Body,
    _held: H,
}

impl<H: Unpin> axum::body::HttpBody for Holding<H> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

fn hold<H: Send + Unpin + 'static>(res: Response, held: H) -> Response {
    res.map(|body| Body::new(Holding { body, _held: held }))
}

pub(super) async fn dispatch(
    State(app): State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    req: Request,
) -> Response {
    let guard = conn.request_started();
    hold(route(&app, req).await, guard)
}

async fn route(app: &App, req: Request) -> Response {
    let path = req.uri().path();
    let is_metrics = path == crate::config::METRICS_PATH;
    let is_health = path == app.health_path || path == app.live_path;
    if !is_metrics && !is_health {
        return text(
            StatusCode::NOT_FOUND,
            TEXT_CONTENT_TYPE,
            "Route not found".to_string(),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut res = text(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT_CONTENT_TYPE,
            "Method not allowed".to_string(),
        );
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    if is_metrics {
        if req.method() == Method::HEAD {
            // Headers only: a HEAD must not cost a run of the callbacks and a render.
            return (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(METRICS_CONTENT_TYPE),
                )],
            )
                .into_response();
        }
        metrics(app, req.headers()).await
    } else {
        // hyper leaves the body out of HEAD responses, so HEAD shares the GET handler here.
        let (code, body) = app.health.body();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        text(status, JSON_CONTENT_TYPE, body)
    }
}

/// The deadline Prometheus announces, raised to [`MIN_PROMETHEUS_TIMEOUT`]; an unusable value
/// is ignored rather than failing the scrape.
pub(super) fn scrape_deadline(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get(SCRAPE_TIMEOUT_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if secs > 0.0 {
        Duration::try_from_secs_f64(secs)
            .ok()
            .map(|d| d.max(MIN_PROMETHEUS_TIMEOUT))
    } else {
        None
    }
}

/// 503 with `Retry-After`: every render permit stayed taken for the render wait.
fn busy() -> Response {
    let mut res = text(
        StatusCode::SERVICE_UNAVAILABLE,
        TEXT_CONTENT_TYPE,
        "Too many concurrent scrapes; retry later".to_string(),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    res
}

async fn metrics(app: &App, headers: &HeaderMap) -> Response {
    let permit: OwnedSemaphorePermit =
        match tokio::time::timeout(app.render_wait, Arc::clone(&app.renders).acquire_owned()).await
        {
            Ok(Ok(p)) => p,
            _ => return busy(),
        };
    let scrape = (app.scrape)(scrape_deadline(headers));
    // A callback that never settles must not outlive the shutdown grace period.
    let result = tokio::select! {
        r = scrape => r,
        _ = reached(app.phase.clone(), Phase::Cancelling) => Err(MetricsError::new(
            ErrorKind::Closed,
            "the system status server is shutting down",
        )),
    };
    let res = match result {
        Ok(ScrapeBody::Text(body)) => text(StatusCode::OK, METRICS_CONTENT_TYPE, body),
        Ok(ScrapeBody::Chunks(rx)) => {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
            });
            (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(METRICS_CONTENT_TYPE),
                )],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            TEXT_CONTENT_TYPE,
            format!("Failed to get metrics: {e}"),
        ),
    };
    hold(res, permit)
}
