// Method 1 benchmark: publish() cost on the JS thread, and with W workers each publishing R
// changes per second over loopback NATS, the aggregator's CPU and how soon a change shows in its
// getMetrics() (from the publish() call, so the 1 ms debounce is included).
//
//   node bench/method1.mjs [--quick] [--workers 100] [--rate 100] [--split]
// --split also times each probe event on NATS (a plain subscriber in this process), splitting the
// path into publish() -> on NATS (debounce, publisher) and NATS -> getMetrics() (aggregator); the
// subscriber reads every worker's events, so it adds load of its own.
// Needs a built package (npm run build) and nats-server. Workers and the aggregator run in child
// processes of their own.
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { connect, createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const pkg = join(here, '..', 'dist', 'esm', 'index.mjs')
const argv = process.argv.slice(2)
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const quick = argv.includes('--quick')
const split = argv.includes('--split')
const WORKERS = flag('workers', 100)
const RATE = flag('rate', 100)
const NS = 'bench'
const now = () => performance.timeOrigin + performance.now()

function fpm(active, waiting = 0) {
  return {
    workerStats: { requestActiveSlots: 1, requestTotalSlots: 100, numRequestsWaiting: waiting },
    kvStats: { kvActiveBlocks: active, kvTotalBlocks: 1000, gpuCacheUsagePerc: 0.5, gpuPrefixCacheHitRate: 0.25 },
  }
}

// ---- child: W publishers, each changing kvActiveBlocks R times a second ----
async function workers(url) {
  const { DistributedRuntime, WorkerMetricsPublisher } = await import(pkg)
  const rt = await DistributedRuntime.create({ natsServer: url, systemEnabled: false })
  const comp = rt.namespace(NS).component('backend')
  const pubs = []
  for (let i = 0; i < WORKERS; i++) {
    const p = new WorkerMetricsPublisher()
    await p.createEndpoint(comp)
    p.publish(fpm(i))
    pubs.push(p)
  }
  let k = 0
  // One timer for all: each tick every worker publishes one change (W × R changes a second).
  setInterval(() => {
    k++
    for (let i = 0; i < pubs.length; i++) pubs[i].publish(fpm((k * 7 + i) % 1000))
  }, 1000 / RATE)
  process.stdout.write('ready\n')
}

// ---- child: the aggregator; on `cpu` prints its CPU use since the last `cpu`; on `watch <id>` reports changes ----
async function aggregator(url) {
  const { DistributedRuntime, KvMetricsAggregator } = await import(pkg)
  const rt = await DistributedRuntime.create({ natsServer: url, systemEnabled: false })
  const agg = new KvMetricsAggregator(rt.namespace(NS).component('backend'))
  await agg.ready
  let last = process.cpuUsage()
  let lastAt = now()
  let watching = null
  let seen = -1
  const spin = () => {
    if (watching === null) return
    const m = agg.getMetrics()
    const e = m.endpoints.find((x) => x.workerId === watching)
    if (e !== undefined && e.kvActiveBlocks !== seen) {
      seen = e.kvActiveBlocks
      process.stdout.write(`seen ${seen} ${now()}\n`)
    }
    // A nap of 100 µs between looks, not a spin: a spinning reader would take one of the
    // machine's cores from the publishers and NATS, and its latency would measure that.
    Atomics.wait(nap, 0, 0, 0.1)
    setImmediate(spin)
  }
  const nap = new Int32Array(new SharedArrayBuffer(4))
  process.stdout.write('ready\n')
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'count') process.stdout.write(`count ${agg.getMetrics().endpoints.length}\n`)
    else if (line === 'cpu') {
      const u = process.cpuUsage(last)
      const t = now()
      process.stdout.write(`cpu ${(u.user + u.system) / 1000 / (t - lastAt)}\n`)
      last = process.cpuUsage()
      lastAt = now()
    } else if (line.startsWith('watch ')) {
      watching = line.slice(6)
      spin()
    }
  }
}

// ---- parent ----
function findNats() {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    try {
      accessSync(join(d, 'nats-server'), constants.X_OK)
      return join(d, 'nats-server')
    } catch {}
  }
  throw new Error('nats-server is not installed')
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })

function child(mode, url) {
  const c = spawn(process.execPath, [fileURLToPath(import.meta.url), `--child-${mode}`, url, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = []
  const waiters = []
  createInterface({ input: c.stdout }).on('line', (l) => {
    lines.push(l)
    for (const w of waiters.splice(0)) if (!w(l)) waiters.push(w)
  })
  const next = (prefix) =>
    new Promise((resolve) => {
      const hit = lines.findIndex((l) => l.startsWith(prefix))
      if (hit >= 0) return resolve(lines.splice(hit, 1)[0])
      waiters.push((l) => (l.startsWith(prefix) ? (lines.splice(lines.indexOf(l), 1), resolve(l), true) : false))
    })
  return { c, next, send: (l) => c.stdin.write(l + '\n') }
}

/** Counts the messages on `subject` with a plain NATS connection (to confirm the offered load). */
async function countMessages(port, subject) {
  const sock = connect({ host: '127.0.0.1', port })
  await new Promise((r) => sock.once('connect', r))
  let n = 0
  let tail = ''
  sock.on('data', (c) => {
    const text = tail + c.toString('latin1')
    const parts = text.split('\r\nMSG ')
    n += parts.length - 1
    tail = parts[parts.length - 1].slice(-16)
  })
  sock.write(`CONNECT {"verbose":false}\r\nSUB ${subject} 1\r\n`)
  return { count: () => n, close: () => sock.destroy() }
}

/** When each `kv_active_blocks` value of worker `id`'s events was seen on NATS (a plain subscriber). */
async function probeOnNats(port, id) {
  const sock = connect({ host: '127.0.0.1', port })
  await new Promise((r) => sock.once('connect', r))
  const at = new Map()
  const head = `{"worker_id":${id},`
  let buf = ''
  sock.on('data', (c) => {
    const t = now()
    buf += c.toString('latin1')
    for (let i = buf.indexOf(head); i >= 0; i = buf.indexOf(head, i + 1)) {
      const m = /"kv_active_blocks":(\d+)/.exec(buf.slice(i, i + 200))
      if (m !== null && !at.has(Number(m[1]))) at.set(Number(m[1]), t)
    }
    // Keep a tail that may hold the start of a message cut by the chunk.
    buf = buf.slice(-400)
  })
  sock.write(`CONNECT {"verbose":false}\r\nSUB namespace.${NS}.kv_metrics 1\r\n`)
  await sleep(200)
  return { at, close: () => sock.destroy() }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

async function main() {
  const port = await freePort()
  const url = `nats://127.0.0.1:${port}`
  const nats = spawn(findNats(), ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  await sleep(300)
  const { DistributedRuntime, WorkerMetricsPublisher } = await import(pkg)
  const rt = await DistributedRuntime.create({ natsServer: url, systemEnabled: false })
  try {
    // 1. publish() on the JS thread.
    const pub = new WorkerMetricsPublisher()
    await pub.createEndpoint(rt.namespace('solo').component('backend'))
    const a = fpm(1, 0)
    const b = fpm(2, 1)
    const n = quick ? 200_000 : 1_000_000
    for (let i = 0; i < n; i++) pub.publish(i & 1 ? a : b)
    const res = {}
    for (const [name, x, y] of [
      ['changing kv_active_blocks', a, b],
      ['other fields only', fpm(5, 5), { ...fpm(5, 5), kvStats: { ...fpm(5, 5).kvStats, gpuCacheUsagePerc: 0.75 } }],
    ]) {
      const runs = []
      for (let r = 0; r < 5; r++) {
        const t0 = process.hrtime.bigint()
        for (let i = 0; i < n; i++) pub.publish(i & 1 ? x : y)
        runs.push(Number(process.hrtime.bigint() - t0) / n)
        await sleep(5)
      }
      res[name] = runs
      console.log(`publish() ${name}: median ${pct(runs, 50).toFixed(0)} ns, best ${Math.min(...runs).toFixed(0)} ns (${n} calls x 5)`)
    }
    await pub.stop()

    // 2. Load: W workers x R changes/s; the aggregator's CPU and its event path.
    const agg = child('aggregator', url)
    await agg.next('ready')
    const w = child('workers', url)
    await w.next('ready')
    for (;;) {
      agg.send('count')
      const c = Number((await agg.next('count ')).split(' ')[1])
      if (c >= WORKERS) break
      await sleep(100)
    }
    await sleep(1000)
    const counter = await countMessages(port, `namespace.${NS}.kv_metrics`)
    await sleep(200)
    agg.send('cpu')
    await agg.next('cpu ')
    const c0 = counter.count()
    const loadS = quick ? 3 : 10
    await sleep(loadS * 1000)
    agg.send('cpu')
    const cpu = Number((await agg.next('cpu ')).split(' ')[1])
    const rate = (counter.count() - c0) / loadS
    counter.close()
    console.log(
      `aggregator CPU with ${WORKERS} workers x ${RATE} changes/s (offered ${WORKERS * RATE}/s, seen on NATS ${rate.toFixed(0)} events/s): ${(cpu * 100).toFixed(1)}% of a core over ${loadS} s`,
    )

    const probe = new WorkerMetricsPublisher()
    await probe.createEndpoint(rt.namespace(NS).component('backend'))
    probe.publish(fpm(0))
    for (;;) {
      agg.send('count')
      if (Number((await agg.next('count ')).split(' ')[1]) > WORKERS) break
      await sleep(50)
    }
    agg.send(`watch ${probe.workerId}`)
    await agg.next('seen 0')
    const onNats = split ? await probeOnNats(port, probe.workerId) : null
    const samples = quick ? 100 : 300
    const lat = []
    const toNats = []
    for (let k = 1; k <= samples; k++) {
      const t = now()
      probe.publish(fpm(k))
      const line = await agg.next(`seen ${k} `)
      lat.push(Number(line.split(' ')[2]) - t)
      if (onNats !== null) toNats.push((onNats.at.get(k) ?? NaN) - t)
      await sleep(5 + Math.random() * 10)
    }
    console.log(
      `publish() -> aggregator getMetrics() under that load: p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${Math.max(...lat).toFixed(2)} ms (${samples} changes, 1 ms debounce included)`,
    )
    if (onNats !== null) {
      onNats.close()
      const seen = toNats.flatMap((x, i) => (Number.isNaN(x) ? [] : [[x, lat[i] - x]]))
      const first = seen.map((s) => s[0])
      const rest = seen.map((s) => s[1])
      console.log(
        `  split (${seen.length} of ${samples} seen on NATS): publish() -> on NATS p50 ${pct(first, 50).toFixed(2)} / p99 ${pct(first, 99).toFixed(2)} ms; NATS -> getMetrics() p50 ${pct(rest, 50).toFixed(2)} / p99 ${pct(rest, 99).toFixed(2)} ms`,
      )
    }
    await probe.stop()
    w.c.kill('SIGKILL')
    agg.c.kill('SIGKILL')
  } finally {
    await rt.shutdown()
    nats.kill('SIGKILL')
  }
}

const mode = argv.find((a) => a.startsWith('--child-'))
if (mode === '--child-workers') await workers(argv[argv.indexOf(mode) + 1])
else if (mode === '--child-aggregator') await aggregator(argv[argv.indexOf(mode) + 1])
else await main()
