// OpenTelemetry: @opentelemetry/sdk-metrics 2.12 + @opentelemetry/exporter-prometheus 0.223, set
// up like node-peers.md 4.1: a View raising the cardinality limit to 1,000,000 (the default 2,000
// would fold 10k/100k series into the overflow series), histograms advised to the Prometheus
// default buckets, and a scrape = exactly what the exporter's HTTP handler does (collect() +
// PrometheusSerializer.serialize()), captured through getMetricsRequestHandler with a mock response.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { COMBOS, DEFAULT_BUCKETS, HIST_OBS, M, S, V } from './common.mjs'

const require = createRequire(import.meta.url)
const { MeterProvider } = require('@opentelemetry/sdk-metrics')
const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus')

export const name = 'otel'

// Some of these packages do not export ./package.json; read it from node_modules directly.
const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version

export function meta() {
  return {
    version: [
      `sdk-metrics ${version('@opentelemetry/sdk-metrics')}`,
      `exporter-prometheus ${version('@opentelemetry/exporter-prometheus')}`,
      `api ${version('@opentelemetry/api')}`,
    ].join(', '),
  }
}

let exporter
let provider
let meter

export async function setup() {
  exporter = new PrometheusExporter({ preventServerStart: true })
  provider = new MeterProvider({
    readers: [exporter],
    views: [{ instrumentName: '*', aggregationCardinalityLimit: 1_000_000 }],
  })
  meter = provider.getMeter('bench')
}

export async function teardown() {
  await provider.shutdown()
}

const histAdvice = { advice: { explicitBucketBoundaries: DEFAULT_BUCKETS } }

/** The data points of instrument `name` from a collect(). */
async function points(name) {
  const { resourceMetrics, errors } = await exporter.collect()
  if (errors.length) throw new Error(`OTel collect errors: ${errors.join('; ')}`)
  for (const sm of resourceMetrics.scopeMetrics) {
    for (const m of sm.metrics) if (m.descriptor.name === name) return m.dataPoints
  }
  return []
}

const sumPoints = (ps) => ps.reduce((a, p) => a + p.value, 0)
const countPoints = (ps) => ps.reduce((a, p) => a + p.value.count, 0)

export const ops = {
  counter_inc() {
    const c = meter.createCounter('bench_counter')
    return {
      run(n) {
        for (let i = 0; i < n; i++) c.add(1)
      },
      read: async () => sumPoints(await points('bench_counter')),
    }
  },
  countervec_inc() {
    const c = meter.createCounter('bench_countervec')
    return {
      run(n) {
        for (let i = 0; i < n; i++) c.add(1, { method: M[i & 3], status: S[(i >> 2) & 3] })
      },
      read: async () => sumPoints(await points('bench_countervec')),
    }
  },
  // OTel has no bound instruments: the closest is passing pre-built attribute objects.
  bound_inc() {
    const c = meter.createCounter('bench_bound')
    const attrs = COMBOS.map((l) => ({ ...l }))
    return {
      run(n) {
        for (let i = 0; i < n; i++) c.add(1, attrs[i & 15])
      },
      read: async () => sumPoints(await points('bench_bound')),
    }
  },
  gauge_set() {
    const g = meter.createGauge('bench_gauge')
    let base = 0
    return {
      run(n) {
        for (let i = 1; i <= n; i++) g.record(base + i)
        base += n
      },
      read: async () => (await points('bench_gauge'))[0].value,
    }
  },
  histogram_observe() {
    const h = meter.createHistogram('bench_histogram_seconds', histAdvice)
    return {
      run(n) {
        for (let i = 0; i < n; i++) h.record(V[i & 1023])
      },
      read: async () => countPoints(await points('bench_histogram_seconds')),
    }
  },
  histogramvec_observe() {
    const h = meter.createHistogram('bench_histogramvec_seconds', histAdvice)
    return {
      run(n) {
        for (let i = 0; i < n; i++) h.record(V[i & 1023], { method: M[i & 3], status: S[(i >> 2) & 3] })
      },
      read: async () => countPoints(await points('bench_histogramvec_seconds')),
    }
  },
}

export function firstTouch(k) {
  const name = `bench_first_touch_${k}`
  const c = meter.createCounter(name)
  return {
    touch(R) {
      for (let i = 0; i < R.length; i++) c.add(1, { route: R[i], status: '200' })
    },
    async count() {
      const ps = await points(name)
      return { series: ps.length, sum: sumPoints(ps) }
    },
  }
}

export function populate(kind, R) {
  if (kind === 'counter') {
    const c = meter.createCounter('bench_requests')
    for (let i = 0; i < R.length; i++) c.add(1, { route: R[i], status: '200' })
    return { metric: 'bench_requests_total' }
  }
  const h = meter.createHistogram('bench_latency_seconds', histAdvice)
  for (let i = 0; i < R.length; i++) {
    const l = { route: R[i], status: '200' }
    for (const v of HIST_OBS) h.record(v, l)
  }
  return { metric: 'bench_latency_seconds' }
}

/** What the exporter's /metrics handler does, without the socket. */
export function render() {
  return new Promise((resolve, reject) => {
    const res = {
      statusCode: 0,
      setHeader() {},
      end(body) {
        if (typeof body === 'string' && body.startsWith('# failed to export metrics')) reject(new Error(body))
        else resolve(body)
      },
    }
    exporter.getMetricsRequestHandler({}, res)
  })
}

export function callbacks(n) {
  const state = { tick: 0, calls: 0 }
  for (let k = 0; k < n; k++) {
    meter.createObservableGauge(`bench_cb_gauge_${k}`).addCallback((r) => {
      state.calls++
      r.observe(state.tick)
    })
  }
  return { state, first: 'bench_cb_gauge_0' }
}
