// prom-client 15, @prometheus-io/client 0.16 and @platformatic/prom-client 1.0 share one API;
// `load(pkg)` builds the adapter of one of them (each child process loads exactly one).
import { createRequire } from 'node:module'
import { COMBOS, DEFAULT_BUCKETS, HIST_OBS, M, S, V } from './common.mjs'

const require = createRequire(import.meta.url)

function sum(values, suffix) {
  let s = 0
  for (const v of values) if (suffix === null || (v.metricName ?? '').endsWith(suffix)) s += v.value
  return s
}

export function load(pkg, libName) {
  const P = require(pkg)
  // A fresh registry per setup(), so several cases can run in one process (smoke mode).
  let reg = new P.Registry()
  const registers = [reg]

  const ops = {
    counter_inc() {
      const c = new P.Counter({ name: 'bench_counter_total', help: 'c', registers })
      return {
        run(n) {
          for (let i = 0; i < n; i++) c.inc()
        },
        read: async () => sum((await c.get()).values, null),
      }
    },
    countervec_inc() {
      const cv = new P.Counter({ name: 'bench_countervec_total', help: 'c', labelNames: ['method', 'status'], registers })
      return {
        run(n) {
          for (let i = 0; i < n; i++) cv.inc({ method: M[i & 3], status: S[(i >> 2) & 3] })
        },
        read: async () => sum((await cv.get()).values, null),
      }
    },
    bound_inc() {
      const cv = new P.Counter({ name: 'bench_bound_total', help: 'c', labelNames: ['method', 'status'], registers })
      const kids = COMBOS.map((l) => cv.labels(l))
      return {
        run(n) {
          for (let i = 0; i < n; i++) kids[i & 15].inc()
        },
        read: async () => sum((await cv.get()).values, null),
      }
    },
    gauge_set() {
      const g = new P.Gauge({ name: 'bench_gauge', help: 'g', registers })
      let base = 0
      return {
        run(n) {
          for (let i = 1; i <= n; i++) g.set(base + i)
          base += n
        },
        read: async () => (await g.get()).values[0].value,
      }
    },
    histogram_observe() {
      const h = new P.Histogram({ name: 'bench_histogram_seconds', help: 'h', buckets: DEFAULT_BUCKETS, registers })
      return {
        run(n) {
          for (let i = 0; i < n; i++) h.observe(V[i & 1023])
        },
        read: async () => sum((await h.get()).values, '_count'),
      }
    },
    histogramvec_observe() {
      const hv = new P.Histogram({
        name: 'bench_histogramvec_seconds',
        help: 'h',
        labelNames: ['method', 'status'],
        buckets: DEFAULT_BUCKETS,
        registers,
      })
      return {
        run(n) {
          for (let i = 0; i < n; i++) hv.observe({ method: M[i & 3], status: S[(i >> 2) & 3] }, V[i & 1023])
        },
        read: async () => sum((await hv.get()).values, '_count'),
      }
    },
  }

  return {
    name: libName,
    meta: () => ({ version: require(`${pkg}/package.json`).version }),
    setup: async () => {
      reg = new P.Registry()
      registers[0] = reg
    },
    teardown: async () => {},
    ops,
    firstTouch(k) {
      const cv = new P.Counter({ name: `bench_first_touch_${k}_total`, help: 'c', labelNames: ['route', 'status'], registers })
      return {
        touch(R) {
          for (let i = 0; i < R.length; i++) cv.inc({ route: R[i], status: '200' })
        },
        async count() {
          const vals = (await cv.get()).values
          return { series: vals.length, sum: sum(vals, null) }
        },
      }
    },
    populate(kind, R) {
      if (kind === 'counter') {
        const cv = new P.Counter({ name: 'bench_requests_total', help: 'Requests', labelNames: ['route', 'status'], registers })
        for (let i = 0; i < R.length; i++) cv.inc({ route: R[i], status: '200' })
        return { metric: 'bench_requests_total' }
      }
      const hv = new P.Histogram({
        name: 'bench_latency_seconds',
        help: 'Latency',
        labelNames: ['route', 'status'],
        buckets: DEFAULT_BUCKETS,
        registers,
      })
      for (let i = 0; i < R.length; i++) {
        const l = { route: R[i], status: '200' }
        for (const v of HIST_OBS) hv.observe(l, v)
      }
      return { metric: 'bench_latency_seconds' }
    },
    render: () => reg.metrics(),
    callbacks(n) {
      const state = { tick: 0, calls: 0 }
      for (let k = 0; k < n; k++) {
        new P.Gauge({
          name: `bench_cb_gauge_${k}`,
          help: 'g',
          registers,
          collect() {
            state.calls++
            this.set(state.tick)
          },
        })
      }
      return { state, first: 'bench_cb_gauge_0' }
    },
  }
}
