#!/usr/bin/env node
// One hot-path case of dynamo run a fixed number of times, for measures that do not depend on
// how busy the machine is: the CPU time of the loop, or (under valgrind) the instructions.
//
//   node bench/fixed-loop.mjs <case> <n> [warm-up]      e.g. countervec_inc 10000000
//
// The case is the harness's own loop (bench/lib/dynamo.mjs `ops`), warmed up with `warm-up`
// operations (default 1,000,000, in 20 calls, so the loop is optimised before it is timed), then
// run once `n` times. Prints wall and CPU (user + system) ns per operation, and checks the value
// read back, like bench/case.mjs. Instructions per operation: run it under
// `valgrind --tool=callgrind` with n = 0 and n = N and divide the difference of the totals by N.
// BENCH_DYNAMO_PKG and NAPI_RS_NATIVE_LIBRARY_PATH pick the build, as for bench/case.mjs.
import { expectEq } from './lib/common.mjs'
import * as L from './lib/dynamo.mjs'

const [c, nArg, warmArg] = process.argv.slice(2)
if (!(c in L.ops) || !(Number(nArg) >= 0)) {
  console.error(`usage: node bench/fixed-loop.mjs <${Object.keys(L.ops).join('|')}> <n> [warm-up]`)
  process.exit(2)
}
const n = Number(nArg)
const warm = Number(warmArg ?? 1_000_000)

await L.setup()
const b = L.ops[c]()
for (let k = 0; k < 20; k++) b.run(Math.floor(warm / 20))
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
b.run(n)
const wall = Number(process.hrtime.bigint() - t0)
const cpu = process.cpuUsage(cpu0)
const total = Math.floor(warm / 20) * 20 + n
expectEq(await b.read(), total, `${c}: value read back after ${total} operations`)
await L.teardown()
if (n > 0) {
  const per = (ns) => (ns / n).toFixed(2)
  console.log(`${c} n=${n} wall ${per(wall)} ns/op cpu ${per((cpu.user + cpu.system) * 1000)} ns/op`)
}
