//! Binding of the core's frontend rules (the resolved prefix and histogram buckets) and the
//! coarse clock the request tracker reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dynamo_metrics_core::frontend::{self, LogBuckets};
use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;

use dynamo_metrics_core::{ErrorKind, MetricsError};

use crate::{js, Result};

#[napi(object)]
pub struct FrontendBucketsOverride {
    pub key: String,
    pub min: f64,
    pub max: f64,
    pub count: u32,
}

#[napi(object)]
pub struct FrontendHistogramBuckets {
    pub key: String,
    pub buckets: Vec<f64>,
}

#[napi(object)]
pub struct FrontendConfig {
    pub prefix: String,
    pub histograms: Vec<FrontendHistogramBuckets>,
}

/// Resolves a frontend metrics set's prefix and buckets from the options and the process env.
#[napi]
pub fn frontend_config(
    prefix: Option<String>,
    overrides: Vec<FrontendBucketsOverride>,
) -> Result<FrontendConfig> {
    let o: Vec<(String, LogBuckets)> = overrides
        .into_iter()
        .map(|b| {
            let lb = LogBuckets {
                min: b.min,
                max: b.max,
                count: b.count,
            };
            (b.key, lb)
        })
        .collect();
    let c = frontend::resolve(&|k| std::env::var(k).ok(), prefix.as_deref(), &o).map_err(js)?;
    Ok(FrontendConfig {
        prefix: c.prefix,
        histograms: c
            .buckets
            .into_iter()
            .map(|(k, b)| FrontendHistogramBuckets {
                key: k.to_owned(),
                buckets: b,
            })
            .collect(),
    })
}

/// Where the clock thread writes: the JS typed array's first element.
struct Slot(*mut f64);
// SAFETY: the pointer is only written by the clock thread, which `CoarseClock` joins before the
// typed array holding the memory is released (see `Drop`).
unsafe impl Send for Slot {}

/// A monotonic clock JS reads as a plain typed-array load: a thread writes the milliseconds since
/// the clock started into `buf[0]` every `tick_us` microseconds. Reading `performance.now()`
/// costs ~100 ns of CPU per call on a VM, the tracker's whole budget per token; this read ~1 ns,
/// at the price of `tick_us` resolution and one thread's wake-ups.
#[napi]
pub struct CoarseClock {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    // Declared last: dropped after `Drop::drop` has joined the thread.
    _buf: Float64Array,
}

#[napi]
impl CoarseClock {
    #[napi(constructor)]
    pub fn new(mut buf: Float64Array, tick_us: u32) -> Result<Self> {
        if buf.is_empty() || tick_us == 0 {
            return Err(js(MetricsError::new(
                ErrorKind::Config,
                "the clock needs a non-empty buffer and a tick > 0 us",
            )));
        }
        // SAFETY: only the pointer is taken here; the thread is the only writer.
        let slot = Slot(unsafe { buf.as_mut() }.as_mut_ptr());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let tick = Duration::from_micros(u64::from(tick_us));
        let start = Instant::now();
        let thread = std::thread::Builder::new()
            .name("dynamo-clock".into())
            .spawn(move || {
                let slot = slot;
                while !stopped.load(Ordering::Acquire) {
                    let ms = start.elapsed().as_secs_f64() * 1000.0;
                    // SAFETY: see `Slot`; an aligned 8-byte store, so JS never reads a torn value.
                    unsafe { std::ptr::write_volatile(slot.0, ms) };
                    std::thread::sleep(tick);
                }
            })
            .map_err(|e| {
                js(MetricsError::new(
                    ErrorKind::Config,
                    format!("cannot start the clock thread: {e}"),
                ))
            })?;
        Ok(CoarseClock {
            stop,
            thread: Some(thread),
            _buf: buf,
        })
    }

    /// Stops and joins the thread (the buffer keeps its last value); idempotent.
    #[napi]
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CoarseClock {
    fn drop(&mut self) {
        self.stop();
    }
}
