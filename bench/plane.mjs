// Request-plane echo benchmark: requests per second and p50/p99 latency for the in-process and
// NATS transports, and the cost of Dynamo's automatic endpoint metrics per request (the same echo
// with `autoMetrics: false`). Each configuration runs in its own child process.
//
//   node bench/plane.mjs            # needs a built package (npm run build) and nats-server on PATH
//   node bench/plane.mjs --quick
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const quick = process.argv.includes('--quick')

async function child(mode) {
  const pkg = join(here, '..', 'dist', 'esm', 'index.mjs')
  const { DistributedRuntime } = await import(pkg)
  const [transport, metrics] = mode.split(':')
  const rt = await DistributedRuntime.create({ systemEnabled: false, natsServer: transport === 'nats' ? process.env.BENCH_NATS : undefined })
  const ep = rt.namespace('bench').component('echo').endpoint('generate')
  await ep.serveEndpoint(async (req) => req, { autoMetrics: metrics === 'on' })
  const client = ep.client()
  await client.waitForInstances(10_000)
  const one = async (i) => {
    for await (const r of client.generate({ i })) if (r.i !== i) throw new Error('echo mismatch')
  }
  const n = transport === 'nats' ? (quick ? 2000 : 10000) : quick ? 20000 : 200000
  for (let i = 0; i < Math.min(n, 2000); i++) await one(i) // warm up
  // Sequential requests: latency per request.
  const lat = new Float64Array(n)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint()
    await one(i)
    lat[i] = Number(process.hrtime.bigint() - s)
  }
  const seqNs = Number(process.hrtime.bigint() - t0) / n
  lat.sort()
  // 64 concurrent callers: throughput.
  const conc = 64
  const per = Math.floor(n / conc)
  const t1 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: conc }, async (_, c) => {
    for (let i = 0; i < per; i++) await one(c * per + i)
  }))
  const rps = (per * conc) / (Number(process.hrtime.bigint() - t1) / 1e9)
  if (metrics === 'on') {
    const text = await ep.prometheusMetricsFmt()
    const m = /dynamo_component_requests_total\{[^}]*\} (\d+)/.exec(text)
    const expected = Math.min(n, 2000) + n + per * conc
    if (!m || Number(m[1]) !== expected) throw new Error(`requests_total ${m?.[1]} != ${expected}`)
  }
  await rt.shutdown()
  process.stdout.write(JSON.stringify({ mode, n, seqNs, p50: lat[Math.floor(n * 0.5)], p99: lat[Math.floor(n * 0.99)], rps }) + '\n')
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

async function main() {
  const modes = ['inproc:off', 'inproc:on']
  let nats
  const env = { ...process.env }
  if (spawnSync('nats-server', ['--version']).status === 0) {
    const port = await freePort()
    nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
    await new Promise((r) => setTimeout(r, 300))
    env.BENCH_NATS = `nats://127.0.0.1:${port}`
    modes.push('nats:off', 'nats:on')
  } else {
    console.error('nats-server not found (apt-get install nats-server): NATS cases skipped')
  }
  const rows = []
  const rounds = quick ? 1 : 3
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' })
      if (out.status !== 0) throw new Error(`${mode} failed: ${out.stderr}`)
      rows.push(JSON.parse(out.stdout.trim().split('\n').pop()))
    }
  }
  nats?.kill()
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const by = (mode, k) => med(rows.filter((r) => r.mode === mode).map((r) => r[k]))
  console.log('| transport | auto metrics | sequential ns/request | p50 µs | p99 µs | requests/s (64 concurrent) |')
  console.log('|---|---|---:|---:|---:|---:|')
  for (const mode of modes) {
    const [t, m] = mode.split(':')
    console.log(`| ${t === 'nats' ? 'NATS' : 'in-process'} | ${m} | ${by(mode, 'seqNs').toFixed(0)} | ${(by(mode, 'p50') / 1000).toFixed(1)} | ${(by(mode, 'p99') / 1000).toFixed(1)} | ${by(mode, 'rps').toFixed(0)} |`)
  }
  for (const t of ['inproc', 'nats']) {
    if (!modes.includes(`${t}:on`)) continue
    const d = by(`${t}:on`, 'seqNs') - by(`${t}:off`, 'seqNs')
    console.log(`\n${t === 'nats' ? 'NATS' : 'in-process'}: automatic metrics add ${d.toFixed(0)} ns per request (median sequential time with minus without)`)
  }
}

if (process.argv[2] === '--child') await child(process.argv[3])
else await main()
