#!/usr/bin/env node
// Cost of the idle-series expiry sweep (`ttlSeconds`), through the internal `vec.expiry.sweep()`:
// one 100,000-series CounterVec, swept with every mark set, with none set, then with every series
// past its TTL (a sweep removes at most MAX_EXPIRED_PER_SWEEP of them). 5 rounds.
//
//   npm run build:native && npm run build:ts
//   NAPI_RS_NATIVE_LIBRARY_PATH=$PWD/dynamo-metrics.linux-x64-gnu.node node bench/expiry-sweep.mjs
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { DistributedRuntime } = require(process.env.BENCH_DYNAMO_PKG ?? '../dist/cjs/index.js')

const N = 100_000
const rt = await DistributedRuntime.create({ systemEnabled: false })
const cv = rt.namespace('ns').metrics.createCounterVec('sweep_total', 's', ['id'], undefined, { ttlSeconds: 3600 })
const ms = (t0) => +(performance.now() - t0).toFixed(2)
for (let round = 0; round < 5; round++) {
  // Every round starts from N live series (the previous round's leftovers are written again).
  for (let i = 0; i < N; i++) cv.inc({ id: String(i) })
  await new Promise((r) => setImmediate(r))
  const t = cv.expiry
  let t0 = performance.now()
  t.sweep(performance.now())
  const marked = ms(t0)
  t0 = performance.now()
  t.sweep(performance.now())
  const unmarked = ms(t0)
  t0 = performance.now()
  const expired = t.sweep(performance.now() + 3600_001)
  console.log(JSON.stringify({ round, series: N, sweepMarkedMs: marked, sweepUnmarkedMs: unmarked, expireMs: ms(t0), expired }))
}
await rt.shutdown()
