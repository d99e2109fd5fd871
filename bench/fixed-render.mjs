#!/usr/bin/env node
// The render of bench/case.mjs's scrape_callbacks_100 (100 gauges, each set by its own sync metrics
// callback, `await endpoint.prometheusMetricsFmt()`) run a fixed number of times, for a measure
// that does not depend on how busy the machine is (see bench/fixed-loop.mjs for the method):
//
//   node bench/fixed-render.mjs <n> [warm-up] [callbacks]        e.g. 2000
//
// Prints wall and CPU (user + system) µs per render. Instructions per render: run it under
// `valgrind --tool=callgrind` with n = 0 and n = N and divide the difference of the totals by N.
// BENCH_DYNAMO_PKG and NAPI_RS_NATIVE_LIBRARY_PATH pick the build, as for bench/case.mjs.
import { expectEq } from './lib/common.mjs'
import * as L from './lib/dynamo.mjs'

const [nArg, warmArg, cbArg] = process.argv.slice(2)
if (!(Number(nArg) >= 0)) {
  console.error('usage: node bench/fixed-render.mjs <n> [warm-up] [callbacks]')
  process.exit(2)
}
const n = Number(nArg)
const warm = Number(warmArg ?? 500)
const cbN = Number(cbArg ?? 100)

await L.setup()
const { state } = L.callbacks(cbN)
for (let k = 0; k < warm; k++) await L.render()
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
for (let k = 0; k < n; k++) await L.render()
const wall = Number(process.hrtime.bigint() - t0)
const cpu = process.cpuUsage(cpu0)
expectEq(state.calls, cbN * (warm + n), `callbacks run (${cbN} x ${warm + n} renders)`)
await L.teardown()
if (n > 0) {
  const per = (ns) => (ns / n / 1000).toFixed(2)
  console.log(`render ${cbN} callbacks n=${n} wall ${per(wall)} µs cpu ${per((cpu.user + cpu.system) * 1000)} µs`)
}
