// Request-plane echo benchmark: requests per second and p50/p99 latency for the in-process and
// NATS transports, and the cost of Dynamo's automatic endpoint metrics per request (the same echo
// with `autoMetrics: false`). The anchor is plain nats.js request/reply (the `nats` package) on
// the same nats-server in the same run: the echo the NATS plane is measured against. Each
// configuration runs in its own child process.
//
//   (cd bench && npm install)       # the nats.js anchor
//   node bench/plane.mjs            # needs a built package (npm run build) and nats-server on PATH
//   node bench/plane.mjs --quick
//   node bench/plane.mjs --flood    # issue 14's slow consumer: 200,000 x 1 KB to a ~9k/s reader
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')

async function child(mode) {
  const pkg = join(here, '..', 'dist', 'esm', 'index.mjs')
  const { DistributedRuntime } = await import(pkg)
  const transport = mode
  const rt = await DistributedRuntime.create({ systemEnabled: false, natsServer: transport === 'nats' ? process.env.BENCH_NATS : undefined })
  const comp = rt.namespace('bench').component('echo')
  // Two endpoints in one process, with and without the automatic metrics, measured in
  // alternating batches so drift hits both alike.
  const clients = {}
  for (const m of ['on', 'off']) {
    const ep = comp.endpoint(`echo_${m}`)
    await ep.serveEndpoint(async (req) => req, { autoMetrics: m === 'on' })
    clients[m] = ep.client()
    await clients[m].waitForInstances(10_000)
  }
  const one = async (client, i) => {
    for await (const r of client.generate({ i })) if (r.i !== i) throw new Error('echo mismatch')
  }
  const batch = transport === 'nats' ? (quick ? 200 : 1000) : quick ? 2000 : 10000
  const rounds = quick ? 5 : 15
  const lat = { on: [], off: [] }
  const per = { on: [], off: [] }
  for (const m of ['on', 'off']) for (let i = 0; i < batch; i++) await one(clients[m], i) // warm up
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? ['on', 'off'] : ['off', 'on']) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < batch; i++) {
        const s = process.hrtime.bigint()
        await one(clients[m], i)
        lat[m].push(Number(process.hrtime.bigint() - s))
      }
      per[m].push(Number(process.hrtime.bigint() - t0) / batch)
    }
  }
  // 64 concurrent callers: throughput (metrics on).
  const conc = 64
  const each = Math.floor(batch / 4)
  const t1 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: conc }, async (_, c) => {
    for (let i = 0; i < each; i++) await one(clients.on, c * each + i)
  }))
  const rps = (each * conc) / (Number(process.hrtime.bigint() - t1) / 1e9)
  const text = await comp.endpoint('echo_on').prometheusMetricsFmt()
  const m = /dynamo_component_requests_total\{[^}]*\} (\d+)/.exec(text)
  const expected = batch + batch * rounds + each * conc
  if (!m || Number(m[1]) !== expected) throw new Error(`requests_total ${m?.[1]} != ${expected}`)
  await rt.shutdown()
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)]
  // Per-round paired differences: the metrics' cost with drift between rounds cancelled out.
  const diffs = per.on.map((v, k) => v - per.off[k])
  process.stdout.write(
    JSON.stringify({
      transport,
      on: { ns: med(per.on), p50: pct(lat.on, 0.5), p99: pct(lat.on, 0.99) },
      off: { ns: med(per.off), p50: pct(lat.off, 0.5), p99: pct(lat.off, 0.99) },
      overheadNs: med(diffs),
      overheadRange: [Math.min(...diffs), Math.max(...diffs)],
      rps,
    }) + '\n',
  )
}

/** Plain nats.js request/reply echo (JSON in, JSON out), measured as `child` measures ours. */
async function natsjs() {
  const { connect } = await import('nats')
  const nc = await connect({ servers: process.env.BENCH_NATS })
  const enc = new TextEncoder()
  const dec = new TextDecoder()
  nc.subscribe('bench.natsjs.echo', { callback: (err, m) => { if (!err) m.respond(enc.encode(JSON.stringify(JSON.parse(dec.decode(m.data))))) } })
  await nc.flush()
  const one = async (i) => {
    const r = JSON.parse(dec.decode((await nc.request('bench.natsjs.echo', enc.encode(JSON.stringify({ i })), { timeout: 10_000 })).data))
    if (r.i !== i) throw new Error('echo mismatch')
  }
  const batch = quick ? 200 : 1000
  const rounds = quick ? 5 : 15
  const lat = []
  const per = []
  for (let i = 0; i < batch; i++) await one(i)
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) {
      const s = process.hrtime.bigint()
      await one(i)
      lat.push(Number(process.hrtime.bigint() - s))
    }
    per.push(Number(process.hrtime.bigint() - t0) / batch)
  }
  const conc = 64
  const each = Math.floor(batch / 4)
  const t1 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: conc }, async (_, c) => {
    for (let i = 0; i < each; i++) await one(c * each + i)
  }))
  const rps = (each * conc) / (Number(process.hrtime.bigint() - t1) / 1e9)
  await nc.drain()
  const sorted = [...lat].sort((a, b) => a - b)
  const med = [...per].sort((a, b) => a - b)[Math.floor(per.length / 2)]
  process.stdout.write(JSON.stringify({ ns: med, p50: sorted[Math.floor(sorted.length * 0.5)], p99: sorted[Math.floor(sorted.length * 0.99)], rps }) + '\n')
}

/**
 * The automatic metrics' own work per request, isolated from the echo's noise: exactly what the
 * ingress records for a one-response request (requests, inflight up and down, request and response
 * bytes, the duration histogram with its two clock reads), through the public metric API.
 */
async function metricsCost() {
  const pkg = join(here, '..', 'dist', 'esm', 'index.mjs')
  const { DistributedRuntime } = await import(pkg)
  const rt = await DistributedRuntime.create({ systemEnabled: false })
  const m = rt.namespace('bench').component('echo').endpoint('cost').metrics
  const requests = m.createIntCounter('requests_total', 'h')
  const inflight = m.createIntGauge('inflight_requests', 'h')
  const reqBytes = m.createIntCounter('request_bytes_total', 'h')
  const respBytes = m.createIntCounter('response_bytes_total', 'h')
  const duration = m.createHistogram('request_duration_seconds', 'h', {
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600],
  })
  const response = JSON.stringify({ i: 12345 })
  const record = () => {
    const t0 = performance.now()
    requests.inc()
    inflight.inc()
    reqBytes.incBy(response.length)
    respBytes.incBy(Buffer.byteLength(response))
    inflight.dec()
    duration.observe((performance.now() - t0) / 1000)
  }
  const n = quick ? 1e6 : 5e6
  for (let i = 0; i < n; i++) record()
  const runs = []
  for (let r = 0; r < 7; r++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < n; i++) record()
    runs.push(Number(process.hrtime.bigint() - t) / n)
  }
  if (requests.get() !== n * 8) throw new Error('requests_total read-back mismatch')
  await rt.shutdown()
  runs.sort((a, b) => a - b)
  process.stdout.write(JSON.stringify({ ns: runs[3], min: runs[0], max: runs[6] }) + '\n')
}

/** A worker streaming 200,000 x 1 KB responses to a caller (another runtime) reading ~9k/s. */
async function flood() {
  const pkg = join(here, '..', 'dist', 'esm', 'index.mjs')
  const { DistributedRuntime } = await import(pkg)
  const worker = await DistributedRuntime.create({ systemEnabled: false, natsServer: process.env.BENCH_NATS })
  const caller = await DistributedRuntime.create({ systemEnabled: false, natsServer: process.env.BENCH_NATS })
  const N = quick ? 50_000 : 200_000
  const pad = 'p'.repeat(1000)
  let produced = 0
  await worker.namespace('bench').component('flood').endpoint('gen').serveEndpoint(async function* () {
    for (let i = 0; i < N; i++) {
      produced = i + 1
      yield { i, pad }
    }
  })
  const client = caller.namespace('bench').component('flood').endpoint('gen').client()
  await client.waitForInstances(10_000)
  let received = 0
  let maxAhead = 0
  let error
  const t0 = process.hrtime.bigint()
  try {
    for await (const item of client.generate(null)) {
      if (item.i !== received) throw new Error(`item ${item.i} arrived as number ${received}`)
      received++
      maxAhead = Math.max(maxAhead, produced - received)
      if (received % 9 === 0) await new Promise((r) => setTimeout(r, 1))
    }
  } catch (e) {
    error = String(e)
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  await worker.shutdown()
  await caller.shutdown()
  process.stdout.write(JSON.stringify({ n: N, received, seconds: s, perSecond: received / s, maxAhead, error }) + '\n')
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startNats() {
  const port = await freePort()
  const proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  await new Promise((r) => setTimeout(r, 300))
  return { proc, url: `nats://127.0.0.1:${port}` }
}

async function floodMain() {
  const { proc, url } = await startNats()
  const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--flood-child', ...(quick ? ['--quick'] : [])], { env: { ...process.env, BENCH_NATS: url }, encoding: 'utf8' })
  proc.kill()
  if (out.status !== 0) throw new Error(`flood failed: ${out.stderr}`)
  const r = JSON.parse(out.stdout.trim().split('\n').pop())
  console.log(`${r.n} x 1 KB responses, caller reading ${r.perSecond.toFixed(0)}/s: received ${r.received} in ${r.seconds.toFixed(1)} s, ${r.error === undefined ? 'completed normally' : `failed: ${r.error}`}; the worker ran at most ${r.maxAhead} responses ahead of the reader`)
}

async function main() {
  const modes = ['inproc']
  let nats
  const env = { ...process.env }
  if (spawnSync('nats-server', ['--version']).status === 0) {
    const port = await freePort()
    nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
    await new Promise((r) => setTimeout(r, 300))
    env.BENCH_NATS = `nats://127.0.0.1:${port}`
    modes.push('nats')
  } else {
    console.error('nats-server not found (apt-get install nats-server): NATS cases skipped')
  }
  const rows = []
  for (const mode of modes) {
    const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' })
    if (out.status !== 0) throw new Error(`${mode} failed: ${out.stderr}`)
    rows.push(JSON.parse(out.stdout.trim().split('\n').pop()))
  }
  let anchor
  if (nats !== undefined) {
    const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--natsjs', ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' })
    if (out.status !== 0) console.error(`nats.js anchor skipped (cd bench && npm install): ${out.stderr.split('\n')[0]}`)
    else anchor = JSON.parse(out.stdout.trim().split('\n').pop())
  }
  nats?.kill()
  const cost = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--metrics-cost', ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' })
  if (cost.status !== 0) throw new Error(`metrics cost failed: ${cost.stderr}`)
  const c = JSON.parse(cost.stdout.trim().split('\n').pop())
  console.log('| transport | auto metrics | ns/request (sequential, median of rounds) | p50 µs | p99 µs | requests/s, 64 concurrent callers |')
  console.log('|---|---|---:|---:|---:|---:|')
  for (const r of rows) {
    const name = r.transport === 'nats' ? 'NATS' : 'in-process'
    for (const m of ['off', 'on']) {
      console.log(`| ${name} | ${m} | ${r[m].ns.toFixed(0)} | ${(r[m].p50 / 1000).toFixed(1)} | ${(r[m].p99 / 1000).toFixed(1)} | ${m === 'on' ? r.rps.toFixed(0) : ''} |`)
    }
  }
  if (anchor !== undefined) {
    console.log(`| nats.js request/reply (anchor) | - | ${anchor.ns.toFixed(0)} | ${(anchor.p50 / 1000).toFixed(1)} | ${(anchor.p99 / 1000).toFixed(1)} | ${anchor.rps.toFixed(0)} |`)
    const ours = rows.find((r) => r.transport === 'nats')
    if (ours !== undefined) {
      console.log('')
      console.log(`NATS echo vs nats.js: p50 ${(ours.on.p50 / anchor.p50).toFixed(2)}x, requests/s (64 callers) ${(anchor.rps / ours.rps).toFixed(2)}x slower (1.00x = as fast)`)
    }
  }
  console.log('')
  for (const r of rows) {
    const name = r.transport === 'nats' ? 'NATS' : 'in-process'
    console.log(`${name}: automatic metrics add ${r.overheadNs.toFixed(0)} ns per request (median of per-round paired differences; range ${r.overheadRange.map((x) => x.toFixed(0)).join(' to ')} ns)`)
  }
  console.log(`\nThe metric work itself (same operations, isolated): ${c.ns.toFixed(1)} ns per request (${c.min.toFixed(1)}–${c.max.toFixed(1)} over 7 runs)`)
}

if (process.argv[2] === '--child') await child(process.argv[3])
else if (process.argv[2] === '--metrics-cost') await metricsCost()
else if (process.argv[2] === '--natsjs') await natsjs()
else if (process.argv[2] === '--flood-child') await flood()
else if (process.argv.includes('--flood')) await floodMain()
else await main()
