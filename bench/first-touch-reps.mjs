#!/usr/bin/env node
// Series creation over the reps of one process, for dynamo only: 7 reps of 100k new series (each
// in a fresh CounterVec, after a 10k warm-up family, as bench/case.mjs first_touch does), and for
// each rep its ns/series, the share of the N-API batch and reservation calls, and the GC pauses.
// Shows how a process's first reps differ from its steady state (the full pass times 5 reps).
//
//   NAPI_RS_NATIVE_LIBRARY_PATH=$PWD/bench/.native/dynamo-metrics.linux-x64-gnu.node \
//     node --expose-gc bench/first-touch-reps.mjs [--segments]
//
// --segments also prints each rep's cost per 1000 series over its first 10k, then 10k-20k and
// 20k-100k (where the label index changes form and grows).
import { createRequire } from 'node:module'
import { PerformanceObserver, performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const native = require('../index.js')
const d = require('../dist/cjs/index.js')

const N = 100_000
const segments = process.argv.includes('--segments')
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

let tNative = 0
for (const fn of ['addSeriesBatch', 'reserveSlots']) {
  const f = native[fn]
  native[fn] = (...args) => {
    const t = performance.now()
    try {
      return f(...args)
    } finally {
      tNative += performance.now() - t
    }
  }
}
const pauses = []
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) pauses.push([e.startTime, e.duration])
}).observe({ entryTypes: ['gc'] })

const R = Array.from({ length: N }, (_, i) => `r${i}`)
// The series limit raised past the 100k-series families.
const rt = await d.DistributedRuntime.create({ systemEnabled: false, maxSeriesPerFamily: 2 ** 32 - 1 })
const ep = rt.namespace('bench').component('c').endpoint('e')
const warm = ep.metrics.createCounterVec('warm_total', 'c', ['route', 'status'])
for (let i = 0; i < 10_000; i++) warm.inc({ route: R[i], status: '200' })
await Promise.resolve()

const bounds = [...Array.from({ length: 11 }, (_, i) => i * 1000), 20_000, N]
const reps = []
for (let k = 0; k < 7; k++) {
  const cv = ep.metrics.createCounterVec(`reps_${k}_total`, 'c', ['route', 'status'])
  globalThis.gc()
  tNative = 0
  const seg = []
  const t0 = performance.now()
  for (let s = 0; s + 1 < bounds.length; s++) {
    const s0 = performance.now()
    for (let i = bounds[s]; i < bounds[s + 1]; i++) cv.inc({ route: R[i], status: '200' })
    seg.push(Math.round(((performance.now() - s0) * 1e6) / (bounds[s + 1] - bounds[s])))
  }
  await Promise.resolve()
  const t1 = performance.now()
  if (cv.get({ route: R[N - 1], status: '200' }) !== 1) throw new Error('series missing')
  reps.push({ t0, t1, ns: ((t1 - t0) * 1e6) / N, native: (tNative * 1e6) / N, seg })
}
await new Promise((r) => setTimeout(r, 50)) // GC entries arrive asynchronously
console.log('rep  ns/series  native  gc-pause  (ns per series)')
for (const [k, r] of reps.entries()) {
  const gc = pauses.filter(([s]) => s >= r.t0 && s <= r.t1).reduce((a, [, dur]) => a + dur, 0)
  console.log(`${k}    ${r.ns.toFixed(0).padStart(9)}  ${r.native.toFixed(0).padStart(6)}  ${((gc * 1e6) / N).toFixed(0).padStart(8)}`)
  if (segments) console.log(`     per 1000 to 10k, then 10k-20k, 20k-100k: ${r.seg.join(' ')}`)
}
await rt.shutdown()
