#!/usr/bin/env node
// One benchmark case for one library, in its own process (so call sites stay monomorphic and
// the heap is fresh):
//
//   node --expose-gc bench/case.mjs <lib> <case>[,<case>...] [--mode full|quick|smoke]
//
// Prints one `RESULT {json}` line per case on stdout; exits 1 if any case failed (a read-back
// check that does not match the number of operations executed is a failure). Several cases in
// one process are meant for --mode smoke only. For dynamo, the parent sets
// NAPI_RS_NATIVE_LIBRARY_PATH to the release build of the addon.
import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import { Worker } from 'node:worker_threads'
import {
  checkCounterText,
  checkHistogramText,
  closeAgent,
  expectEq,
  gc,
  hr,
  httpGet,
  routes,
  sampleStats,
  stats,
} from './lib/common.mjs'

export const LIBS = ['dynamo', 'prom-client', 'prometheus-io', 'platformatic', 'otel']

/** Cases of options only dynamo has (idle-series expiry): the other libraries skip them. */
export const DYNAMO_ONLY = new Set(['countervec_inc_ttl', 'bound_inc_ttl', 'histogramvec_observe_ttl'])

export const MODES = {
  full: {
    targetMs: 100, warmupMs: 400, batches: 9,
    ftN: 100_000, ftReps: 5,
    counterN: 100_000, counterScrapes: 5,
    histN: 10_000, histScrapes: 9,
    elScrapes: 5, cbN: 100, cbScrapes: 101, memN: 100_000,
  },
  quick: {
    targetMs: 25, warmupMs: 100, batches: 5,
    ftN: 100_000, ftReps: 3,
    counterN: 100_000, counterScrapes: 3,
    histN: 10_000, histScrapes: 5,
    elScrapes: 3, cbN: 100, cbScrapes: 31, memN: 100_000,
  },
  smoke: {
    targetMs: 0, warmupMs: 0, batches: 2, fixedN: 2000,
    ftN: 1000, ftReps: 1,
    counterN: 1000, counterScrapes: 1,
    histN: 100, histScrapes: 1,
    elScrapes: 1, cbN: 100, cbScrapes: 2, memN: 1000,
  },
}

async function loadLib(lib) {
  switch (lib) {
    case 'dynamo':
      return import('./lib/dynamo.mjs')
    case 'prom-client':
      return (await import('./lib/promfamily.mjs')).load('prom-client', lib)
    case 'prometheus-io':
      return (await import('./lib/promfamily.mjs')).load('@prometheus-io/client', lib)
    case 'platformatic':
      return (await import('./lib/promfamily.mjs')).load('@platformatic/prom-client', lib)
    case 'otel':
      return import('./lib/otel.mjs')
    default:
      throw new Error(`unknown library '${lib}' (one of ${LIBS.join(', ')})`)
  }
}

const ms = (a, b) => Number(b - a) / 1e6

// ------------------------------------------------------------------ hot-path operations

/**
 * Calibrates a batch to ~targetMs, warms up for warmupMs (re-calibrating after each batch, since
 * the first batches run before the JIT kicked in), then times `batches` batches. Every executed
 * operation is counted and must be what the library reports afterwards.
 */
async function opCase(L, c, cfg) {
  await L.setup()
  const b = L.ops[c]()
  let total = 0
  const target = cfg.targetMs * 1e6
  let n
  const batch = (k) => {
    const t0 = hr()
    b.run(k)
    const dt = Number(hr() - t0)
    total += k
    return dt
  }
  const fit = (k, dt) => Math.max(16, Math.round((k * target) / Math.max(dt, 1)))
  if (cfg.fixedN) {
    n = cfg.fixedN
  } else {
    n = 256
    for (;;) {
      const dt = batch(n)
      if (dt >= target / 8) break
      n *= 4
    }
    n = fit(n, batch(n))
    const end = performance.now() + cfg.warmupMs
    while (performance.now() < end) n = fit(n, batch(n))
  }
  gc()
  const samples = []
  for (let k = 0; k < cfg.batches; k++) samples.push(batch(n) / n)
  const got = await b.read()
  expectEq(got, total, `${c}: value read back after ${total} operations`)
  await L.teardown()
  return { metrics: { op: { unit: 'ns/op', ...stats(samples), samples } }, opsPerBatch: n, totalOps: total }
}

// ------------------------------------------------------------------ first touch

async function firstTouchCase(L, cfg) {
  await L.setup()
  const N = cfg.ftN
  const R = routes(N)
  // Warm-up on its own metric so the slow path is compiled before the timed reps.
  const w = L.firstTouch('warm')
  const Rw = R.slice(0, Math.min(N, 10_000))
  w.touch(Rw)
  const wc = await w.count(Rw)
  expectEq(wc.series, Rw.length, 'first_touch warm-up: series created')
  const samples = []
  for (let k = 0; k < cfg.ftReps; k++) {
    const f = L.firstTouch(k)
    gc()
    const t0 = hr()
    f.touch(R)
    // dynamo registers a turn's new series with Rust in a microtask at the end of the turn: the
    // timed region runs that too (for every library: one resolved await).
    await Promise.resolve()
    samples.push(Number(hr() - t0) / N)
    const got = await f.count(R)
    expectEq(got.series, N, `first_touch rep ${k}: series created`)
    expectEq(got.sum, N, `first_touch rep ${k}: sum of the new series`)
  }
  await L.teardown()
  return { metrics: { op: { unit: 'ns/series', ...stats(samples), samples } }, series: N }
}

// ------------------------------------------------------------------ scrape

function checkText(kind, text, metric, N, what) {
  if (kind === 'counter') checkCounterText(text, metric, N, what)
  else checkHistogramText(text, metric, N, what)
}

function hasCurl() {
  return spawnSync('curl', ['--version']).status === 0
}

/** One scrape by a curl process: its own transfer time (connect to last byte), not its start-up. */
function curlGet(port) {
  const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `http://127.0.0.1:${port}/metrics`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`)
  const [t, n] = r.stdout.trim().split(' ')
  return { ms: Number(t) * 1000, bytes: Number(n) }
}

/**
 * A Prometheus stand-in on a worker thread: `ask('get')` scrapes and reports the wall time;
 * `close()` ends its keep-alive socket (graceful server shutdown would wait for it) and the thread.
 */
function scraper(port, metric, n, kind) {
  const worker = new Worker(new URL('./lib/http-worker.mjs', import.meta.url), {
    workerData: { port, metric, n, kind },
  })
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      worker.once('message', (m) => (m.ok ? resolve(m) : reject(new Error(m.error))))
      worker.once('error', reject)
      worker.postMessage(msg)
    })
  const close = async () => {
    const exited = new Promise((r) => worker.once('exit', r))
    worker.postMessage('close')
    await exited
  }
  return { ask, close }
}

async function scrapeCase(L, lib, kind, cfg) {
  const N = kind === 'counter' ? cfg.counterN : cfg.histN
  const K = kind === 'counter' ? cfg.counterScrapes : cfg.histScrapes
  const http = lib === 'dynamo'
  await L.setup({ server: http })
  const heap0 = (gc(), process.memoryUsage().heapUsed)
  const { metric } = L.populate(kind, routes(N))
  gc()
  const heapPerSeries = (process.memoryUsage().heapUsed - heap0) / N

  const metrics = {}
  // Library render: registry.metrics() / OTel collect+serialize / dynamo prometheusMetricsFmt().
  const text = await L.render()
  checkText(kind, text, metric, N, 'render')
  const bytes = Buffer.byteLength(text)
  const samples = []
  for (let k = 0; k < K; k++) {
    gc()
    const t0 = hr()
    await L.render()
    samples.push(ms(t0, hr()))
  }
  metrics.render = { unit: 'ms', ...stats(samples), samples, bytes }

  if (http) {
    // GET /metrics end to end, whole body read, by a scraper in its own process as Prometheus is:
    // curl (its own time_total), or where curl is missing a node:http client on a worker thread
    // (slower: a JS client spends more on 10-20 MB of body than the server does).
    const { ask, close } = scraper(L.port(), metric, N, kind)
    await ask('ping')
    await ask('get+check') // the body is checked once, by the worker
    const hs = []
    let hbytes = 0
    const curl = hasCurl()
    for (let k = 0; k < K; k++) {
      gc()
      const m = curl ? curlGet(L.port()) : await ask('get')
      hs.push(m.ms)
      hbytes = m.bytes
    }
    await close()
    metrics.http = { unit: 'ms', ...stats(hs), samples: hs, bytes: hbytes, client: curl ? 'curl' : 'node:http worker' }
  }
  await L.teardown()
  return { metrics, series: N, heapPerSeries, metric }
}

// ------------------------------------------------------------------ event-loop time of a scrape

async function eventLoopCase(L, lib, cfg) {
  const N = cfg.counterN
  const K = cfg.elScrapes
  const server = lib === 'dynamo'
  await L.setup({ server })
  const { metric } = L.populate('counter', routes(N))
  const elu = performance.eventLoopUtilization
  const samples = []
  const extra = {}
  if (server) {
    // The scraper runs on a worker thread: only what the scrape costs the main thread counts.
    const { ask, close } = scraper(L.port(), metric, N, 'counter')
    await ask('ping')
    await ask('get+check')
    const wall = []
    for (let k = 0; k < K; k++) {
      gc()
      await new Promise((r) => setTimeout(r, 20))
      const e0 = elu()
      const m = await ask('get')
      samples.push(elu(e0).active)
      wall.push(m.ms)
    }
    // Baseline: the same round trip to the worker without a scrape.
    const base = []
    for (let k = 0; k < Math.max(K, 5); k++) {
      await new Promise((r) => setTimeout(r, 5))
      const e0 = elu()
      await ask('ping')
      base.push(elu(e0).active)
    }
    await close()
    extra.wall = { unit: 'ms', ...stats(wall) }
    extra.baseline = { unit: 'ms', ...stats(base) }
    extra.note = 'main-thread busy time (eventLoopUtilization().active) while a worker thread GETs /metrics'
  } else {
    const text = await L.render()
    checkCounterText(text, metric, N, 'render')
    for (let k = 0; k < K; k++) {
      gc()
      await new Promise((r) => setTimeout(r, 20))
      const e0 = elu()
      await L.render()
      samples.push(elu(e0).active)
    }
    extra.note = 'pure JS render on the event loop: busy time = render time'
  }
  await L.teardown()
  return { metrics: { op: { unit: 'ms', ...stats(samples), samples } }, series: N, ...extra }
}

// ------------------------------------------------------------------ 100 scrape callbacks

async function callbacksCase(L, lib, cfg) {
  const http = lib === 'dynamo'
  await L.setup({ server: http })
  const { state, first } = L.callbacks(cfg.cbN)
  let scrapes = 0
  const scrape = async (via) => {
    state.tick++
    scrapes++
    const t0 = hr()
    if (via === 'http') {
      const r = await httpGet(L.port())
      return { dt: ms(t0, r.done), text: r.body }
    }
    const text = await L.render()
    const dt = ms(t0, hr())
    return { dt, text: () => text }
  }
  const metrics = {}
  for (const via of http ? ['render', 'http'] : ['render']) {
    for (let k = 0; k < 5; k++) await scrape(via)
    const s = []
    let last
    for (let k = 0; k < cfg.cbScrapes; k++) {
      last = await scrape(via)
      s.push(last.dt)
    }
    const text = last.text()
    expectEq(sampleStats(text, first, '').sum, state.tick, `${via}: value set by the callback of ${first}`)
    metrics[via] = { unit: 'ms', ...stats(s), samples: s, bytes: Buffer.byteLength(text) }
  }
  expectEq(state.calls, cfg.cbN * scrapes, `callbacks run (${cfg.cbN} callbacks x ${scrapes} scrapes)`)
  if (http) closeAgent()
  await L.teardown()
  return { metrics, callbacks: cfg.cbN }
}

// ------------------------------------------------------------------ memory per series

/**
 * After a macrotask turn (a native async call's result stays reachable until its callback scope
 * is gone) and repeated full GCs: live JS heap, resident V8 heap, and process RSS.
 */
async function settle() {
  await new Promise((r) => setTimeout(r, 50))
  for (let k = 0; k < 6; k++) gc()
  const m = process.memoryUsage()
  return { heapUsed: m.heapUsed, rss: m.rss, heapPhysical: v8.getHeapStatistics().total_physical_size, external: m.external }
}

/** Renders once and checks the text; only the length escapes, so the string is garbage after. */
async function renderChecked(L, metric, N) {
  const text = await L.render()
  checkCounterText(text, metric, N, 'render after populate')
  return text.length
}

async function memoryCase(L, cfg) {
  const N = cfg.memN
  // Warm the code paths (populate + render) on a registry that is then dropped.
  await L.setup()
  const warm = L.populate('counter', routes(1000))
  await renderChecked(L, warm.metric, 1000)
  await L.teardown()
  await L.setup()
  for (let k = 0; k < 6; k++) gc()
  const m0 = await settle()
  // Label strings are created here and dropped after populate: whatever copy or reference of
  // them a library keeps is counted, the caller's array is not.
  let R = routes(N)
  const { metric } = L.populate('counter', R)
  R = null
  const m1 = await settle()
  await renderChecked(L, metric, N)
  const m2 = await settle()
  const per = (a, b) => {
    const heap = (b.heapUsed - a.heapUsed) / N
    // Resident memory outside the V8 heap: native allocations (e.g. Rust), ArrayBuffer stores.
    const offHeap = (b.rss - b.heapPhysical - (a.rss - a.heapPhysical)) / N
    return { total: heap + Math.max(0, offHeap), heap, offHeap, rss: (b.rss - a.rss) / N, external: (b.external - a.external) / N }
  }
  const populated = per(m0, m1)
  const scraped = per(m0, m2)
  await L.teardown()
  const v = (x) => ({ unit: 'B/series', median: x, min: x, max: x, n: 1 })
  return {
    metrics: { op: v(scraped.total), heap: v(scraped.heap), offheap: v(scraped.offHeap) },
    populated,
    scraped,
    series: N,
    formula:
      'total = (heapUsed delta + max(0, (rss - V8 heap total_physical_size) delta)) / N, after gc, after one scrape',
  }
}

// ------------------------------------------------------------------ dispatch

export const CASES = [
  'counter_inc',
  'countervec_inc',
  'bound_inc',
  'gauge_set',
  'histogram_observe',
  'histogramvec_observe',
  'countervec_inc_ttl',
  'bound_inc_ttl',
  'histogramvec_observe_ttl',
  'first_touch',
  'scrape_counter_100k',
  'scrape_histogram_10k',
  'scrape_eventloop_100k',
  'scrape_callbacks_100',
  'memory_counter_100k',
]

async function runCase(L, lib, c, cfg) {
  if (L.ops[c]) return opCase(L, c, cfg)
  switch (c) {
    case 'first_touch':
      return firstTouchCase(L, cfg)
    case 'scrape_counter_100k':
      return scrapeCase(L, lib, 'counter', cfg)
    case 'scrape_histogram_10k':
      return scrapeCase(L, lib, 'histogram', cfg)
    case 'scrape_eventloop_100k':
      return eventLoopCase(L, lib, cfg)
    case 'scrape_callbacks_100':
      return callbacksCase(L, lib, cfg)
    case 'memory_counter_100k':
      return memoryCase(L, cfg)
    default:
      throw new Error(`unknown case '${c}' (one of ${CASES.join(', ')})`)
  }
}

async function main() {
  const args = process.argv.slice(2)
  const pos = args.filter((a) => !a.startsWith('--'))
  const mi = args.indexOf('--mode')
  const mode = mi >= 0 ? args[mi + 1] : 'full'
  if (mi >= 0) pos.splice(pos.indexOf(mode), 1)
  const cfg = MODES[mode]
  if (!cfg || pos.length !== 2) {
    console.error('usage: node --expose-gc bench/case.mjs <lib> <case>[,<case>...] [--mode full|quick|smoke]')
    process.exit(2)
  }
  const [lib, list] = pos
  const L = await loadLib(lib)
  let failed = false
  for (const c of list.split(',')) {
    const t0 = hr()
    try {
      const r = await runCase(L, lib, c, cfg)
      console.log('RESULT ' + JSON.stringify({ lib, case: c, mode, ok: true, meta: L.meta(), ...r, wallMs: ms(t0, hr()) }))
    } catch (e) {
      failed = true
      console.error(`[${lib} ${c}] FAILED: ${e?.stack ?? e}`)
      console.log('RESULT ' + JSON.stringify({ lib, case: c, mode, ok: false, error: String(e?.message ?? e) }))
    }
  }
  // Runtimes, agents and workers were closed; exit explicitly anyway so nothing lingers.
  process.exit(failed ? 1 : 0)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e?.stack ?? e)
    process.exit(1)
  })
}
