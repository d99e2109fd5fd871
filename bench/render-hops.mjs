#!/usr/bin/env node
// What a render costs apart from its callbacks: 100 gauges, the first <n> of them set by a sync
// metrics callback, then 201 timed `await endpoint.prometheusMetricsFmt()` after 50 warm-ups.
//
//   NAPI_RS_NATIVE_LIBRARY_PATH=$PWD/bench/.native/dynamo-metrics.linux-x64-gnu.node \
//     node bench/render-hops.mjs <n>
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const d = require('../dist/cjs/index.js')
const n = Number(process.argv[2] ?? 100)

// The series limit raised past the 100k-series families.
const rt = await d.DistributedRuntime.create({ systemEnabled: false, maxSeriesPerFamily: 2 ** 32 - 1 })
const ep = rt.namespace('bench').component('c').endpoint('e')
let calls = 0
for (let k = 0; k < 100; k++) {
  const g = ep.metrics.createGauge(`g${k}`, 'g')
  if (k < n)
    ep.registerMetricsCallback(() => {
      calls++
      g.set(k)
    })
}
for (let i = 0; i < 50; i++) await ep.prometheusMetricsFmt()
const ts = []
for (let i = 0; i < 201; i++) {
  const t0 = performance.now()
  await ep.prometheusMetricsFmt()
  ts.push((performance.now() - t0) * 1000)
}
if (calls !== 251 * n) throw new Error(`callbacks ran ${calls} times, expected ${251 * n}`)
ts.sort((a, b) => a - b)
console.log(`${n} callbacks: render median ${ts[100].toFixed(1)} µs, min ${ts[0].toFixed(1)} µs`)
await rt.shutdown()
