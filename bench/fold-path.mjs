#!/usr/bin/env node
// The cost of a write under the cardinality guard, for dynamo only: CounterVec inc on an existing
// series (a hit: the guard is not asked), on a new label set under the limit (first touch: the
// guard counts it), and on a new label set past the limit (folded: the slow path each time, as a
// folded set is not cached, plus the folded-writes counter). ns per write, median of 7 reps.
//
//   NAPI_RS_NATIVE_LIBRARY_PATH=$PWD/bench/.native/dynamo-metrics.linux-x64-gnu.node \
//     node --expose-gc bench/fold-path.mjs
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const d = require(process.env.BENCH_DYNAMO_PKG ?? '../dist/cjs/index.js')
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

const N = 100_000
const LIMIT = 10_000
const R = Array.from({ length: N }, (_, i) => `r${i}`)
const rt = await d.DistributedRuntime.create({ systemEnabled: false })
const ep = rt.namespace('bench').component('c').endpoint('e')

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
function time(fn) {
  globalThis.gc()
  const t0 = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t0)
}

const hit = []
const touch = []
const fold = []
for (let k = 0; k < 7; k++) {
  const cv = ep.metrics.createCounterVec(`fold_${k}_total`, 'c', ['route', 'status'])
  // First touch of LIMIT new sets: every one creates a series.
  touch.push(time(() => {
    for (let i = 0; i < LIMIT; i++) cv.inc({ route: R[i], status: '200' })
  }) / LIMIT)
  await Promise.resolve()
  hit.push(time(() => {
    for (let j = 0; j < N / LIMIT; j++) for (let i = 0; i < LIMIT; i++) cv.inc({ route: R[i], status: '200' })
  }) / N)
  // Past the limit: N distinct new sets, each folded.
  fold.push(time(() => {
    for (let i = 0; i < N; i++) cv.inc({ route: R[i], status: '500' })
  }) / N)
  await Promise.resolve()
}
const text = await rt.prometheusMetricsFmt()
const want = `dynamo_component_series_overflow_total{dynamo_component="c",dynamo_endpoint="e",dynamo_namespace="bench",metric="dynamo_component_fold_0_total"} ${N}`
if (!text.includes(want)) throw new Error(`folded writes not counted: ${want}`)
const fmt = (xs) => `${median(xs).toFixed(0)} ns (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`
console.log(`hit (existing series):        ${fmt(hit)}`)
console.log(`first touch (under the limit): ${fmt(touch)}`)
console.log(`folded (past the limit):       ${fmt(fold)}`)
await rt.shutdown()
