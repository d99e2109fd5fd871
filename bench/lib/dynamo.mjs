// dynamo-metrics (this repository), used as a user does: the built CJS entry point. The parent
// points NAPI_RS_NATIVE_LIBRARY_PATH at the release build of the addon.
import { createRequire } from 'node:module'
import { COMBOS, DEFAULT_BUCKETS, HIST_OBS, M, S, V } from './common.mjs'

const require = createRequire(import.meta.url)
// run.mjs hands over a snapshot of dist/ (bench/.native/pkg) so the code under test cannot change
// halfway through a pass; run directly, the live build is used.
const PKG = process.env.BENCH_DYNAMO_PKG ?? require.resolve('../../dist/cjs/index.js')
const d = require(PKG)

export const name = 'dynamo'

export function meta() {
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? null
  return {
    version: require('../../package.json').version,
    pkg: PKG,
    addon: override ?? 'default loader (repo root .node)',
    addonLoaded: override === null ? null : require.cache[require.resolve(override)] !== undefined,
  }
}

let rt
let ep

/** `server`: start the status server on a free loopback port (scrape cases). */
export async function setup({ server = false } = {}) {
  // The series limit raised past the cases' 100k-series families (the guard costs the same).
  const limit = { maxSeriesPerFamily: 2 ** 32 - 1 }
  rt = await d.DistributedRuntime.create(
    server ? { systemPort: 0, systemHost: '127.0.0.1', ...limit } : { systemEnabled: false, ...limit },
  )
  ep = rt.namespace('bench').component('c').endpoint('e')
}

export async function teardown() {
  await rt.shutdown()
  keep.length = 0
}

export function port() {
  return rt.systemStatusServer.port
}

// ---------------------------------------------------------------- hot path
// Each builder returns { run(n), read() }: run executes n operations, read returns what the
// library reports through its public API (checked against the number of operations).

export const ops = {
  counter_inc() {
    const c = ep.metrics.createCounter('bench_counter_total', 'c')
    return {
      run(n) {
        for (let i = 0; i < n; i++) c.inc()
      },
      read: async () => c.get(),
    }
  },
  countervec_inc() {
    const cv = ep.metrics.createCounterVec('bench_countervec_total', 'c', ['method', 'status'])
    return {
      run(n) {
        for (let i = 0; i < n; i++) cv.inc({ method: M[i & 3], status: S[(i >> 2) & 3] })
      },
      read: async () => COMBOS.reduce((a, l) => a + cv.get(l), 0),
    }
  },
  bound_inc() {
    const cv = ep.metrics.createCounterVec('bench_bound_total', 'c', ['method', 'status'])
    const kids = COMBOS.map((l) => cv.labels(l))
    return {
      run(n) {
        for (let i = 0; i < n; i++) kids[i & 15].inc()
      },
      read: async () => COMBOS.reduce((a, l) => a + cv.get(l), 0),
    }
  },
  gauge_set() {
    const g = ep.metrics.createGauge('bench_gauge', 'g')
    let base = 0
    return {
      // sets 1, 2, 3, ...: the last value read back equals the number of sets
      run(n) {
        for (let i = 1; i <= n; i++) g.set(base + i)
        base += n
      },
      read: async () => g.get(),
    }
  },
  histogram_observe() {
    const h = ep.metrics.createHistogram('bench_histogram_seconds', 'h')
    return {
      run(n) {
        for (let i = 0; i < n; i++) h.observe(V[i & 1023])
      },
      read: async () => h.getCount(),
    }
  },
  // The same three with idle-series expiry on (`ttlSeconds`, 1 h: nothing expires during a pass;
  // the writes set the touched mark and the sweep runs every 15 min).
  countervec_inc_ttl() {
    const cv = ep.metrics.createCounterVec('bench_countervec_ttl_total', 'c', ['method', 'status'], undefined, { ttlSeconds: 3600 })
    return {
      run(n) {
        for (let i = 0; i < n; i++) cv.inc({ method: M[i & 3], status: S[(i >> 2) & 3] })
      },
      read: async () => COMBOS.reduce((a, l) => a + cv.get(l), 0),
    }
  },
  bound_inc_ttl() {
    const cv = ep.metrics.createCounterVec('bench_bound_ttl_total', 'c', ['method', 'status'], undefined, { ttlSeconds: 3600 })
    const kids = COMBOS.map((l) => cv.labels(l))
    return {
      run(n) {
        for (let i = 0; i < n; i++) kids[i & 15].inc()
      },
      read: async () => COMBOS.reduce((a, l) => a + cv.get(l), 0),
    }
  },
  histogramvec_observe_ttl() {
    const hv = ep.metrics.createHistogramVec('bench_histogramvec_ttl_seconds', 'h', ['method', 'status'], { ttlSeconds: 3600 })
    return {
      run(n) {
        for (let i = 0; i < n; i++) hv.observe(V[i & 1023], { method: M[i & 3], status: S[(i >> 2) & 3] })
      },
      read: async () => COMBOS.reduce((a, l) => a + hv.getCount(l), 0),
    }
  },
  histogramvec_observe() {
    const hv = ep.metrics.createHistogramVec('bench_histogramvec_seconds', 'h', ['method', 'status'])
    return {
      run(n) {
        for (let i = 0; i < n; i++) hv.observe(V[i & 1023], { method: M[i & 3], status: S[(i >> 2) & 3] })
      },
      read: async () => COMBOS.reduce((a, l) => a + hv.getCount(l), 0),
    }
  },
}

// ---------------------------------------------------------------- first touch
/** A fresh CounterVec; touch(R) creates one series per route value. */
export function firstTouch(k) {
  const cv = ep.metrics.createCounterVec(`bench_first_touch_${k}_total`, 'c', ['route', 'status'])
  return {
    touch(R) {
      for (let i = 0; i < R.length; i++) cv.inc({ route: R[i], status: '200' })
    },
    async count(R) {
      let series = 0
      let sum = 0
      for (let i = 0; i < R.length; i++) {
        const v = cv.get({ route: R[i], status: '200' })
        if (v > 0) series++
        sum += v
      }
      return { series, sum }
    },
  }
}

// ---------------------------------------------------------------- scrape
/** Metric objects stay reachable, as in an application (the peers' registries hold theirs). */
const keep = []

/** Populates the registry; render() is `endpoint.prometheusMetricsFmt()`. */
export function populate(kind, R) {
  if (kind === 'counter') {
    const cv = ep.metrics.createCounterVec('bench_requests_total', 'Requests', ['route', 'status'])
    keep.push(cv)
    for (let i = 0; i < R.length; i++) cv.inc({ route: R[i], status: '200' })
    return { metric: cv.name }
  }
  const hv = ep.metrics.createHistogramVec('bench_latency_seconds', 'Latency', ['route', 'status'], {
    buckets: DEFAULT_BUCKETS,
  })
  keep.push(hv)
  for (let i = 0; i < R.length; i++) {
    const l = { route: R[i], status: '200' }
    for (const v of HIST_OBS) hv.observe(v, l)
  }
  return { metric: hv.name }
}

export function render() {
  return ep.prometheusMetricsFmt()
}

// ---------------------------------------------------------------- callbacks
/** `n` gauges, each set by its own sync metrics callback. */
export function callbacks(n) {
  const state = { tick: 0, calls: 0 }
  const gauges = []
  for (let k = 0; k < n; k++) {
    const g = ep.metrics.createGauge(`bench_cb_gauge_${k}`, 'g')
    gauges.push(g)
    keep.push(g)
    ep.registerMetricsCallback(() => {
      state.calls++
      g.set(state.tick)
    })
  }
  return { state, first: gauges[0].name }
}
