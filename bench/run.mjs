#!/usr/bin/env node
// Benchmark harness: dynamo-metrics against prom-client 15, @prometheus-io/client 0.16,
// @platformatic/prom-client 1.0 and OpenTelemetry (sdk-metrics 2.12 + exporter-prometheus 0.223).
// Method: /work/shared/reference/node-peers.md section 4.1 (see docs/benchmarks.md).
//
//   node bench/run.mjs            full pass (op cases: 3 processes x 9 batches of ~100 ms)
//   node bench/run.mjs --quick    ~2-3 minutes (1 process x 5 batches of ~25 ms, fewer scrapes)
//   node bench/run.mjs --smoke    every case with tiny sizes; exit 1 if any read-back check fails
//
// Options: --libs a,b  --cases x,y  --runs N  --rebuild (release addon)  --no-build (use the
// release addon as it is)  --default-addon (use the root loader's addon, e.g. the debug build)
//  --release (smoke: use the release addon too)  --no-floor (skip the native floor)
//  --no-codegen (dynamo runs under --disallow-code-generation-from-strings: the closure resolver)
//
// Every (case, library) runs in its own `node --expose-gc bench/case.mjs` child. dynamo runs
// with NAPI_RS_NATIVE_LIBRARY_PATH pointing at a release build in bench/.native/ (built here
// when missing or older than the crates' sources), so the debug build the tests use is untouched.
// Results: a markdown table on stdout and in bench/results/latest.md, raw data in latest.json.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CASES, DYNAMO_ONLY, LIBS } from './case.mjs'
import { stats } from './lib/common.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.dirname(BENCH)
const NATIVE_DIR = path.join(BENCH, '.native')
const FLOOR_MANIFEST = path.join(BENCH, 'native-floor', 'Cargo.toml')
const FLOOR_BIN = path.join(BENCH, 'native-floor', 'target', 'release', process.platform === 'win32' ? 'native-floor.exe' : 'native-floor')
const RESULTS = path.join(BENCH, 'results')

const PEERS = LIBS.filter((l) => l !== 'dynamo')
const LIB_TITLES = {
  dynamo: 'dynamo-metrics',
  'prom-client': 'prom-client',
  'prometheus-io': '@prometheus-io/client',
  platformatic: '@platformatic/prom-client',
  otel: 'OTel',
}

// ------------------------------------------------------------------ options

const argv = process.argv.slice(2)
const flag = (f) => argv.includes(f)
const opt = (f) => {
  const i = argv.indexOf(f)
  return i >= 0 ? argv[i + 1] : undefined
}
const mode = flag('--smoke') ? 'smoke' : flag('--quick') ? 'quick' : 'full'
const libs = (opt('--libs') ?? LIBS.join(',')).split(',')
const cases = (opt('--cases') ?? CASES.join(',')).split(',')
for (const l of libs) if (!LIBS.includes(l)) die(`unknown library '${l}' (one of ${LIBS.join(', ')})`)
for (const c of cases) if (!CASES.includes(c)) die(`unknown case '${c}' (one of ${CASES.join(', ')})`)
/** Processes per op case (and first_touch): the reported median is the median of their medians. */
const runs = Number(opt('--runs') ?? (mode === 'full' ? 3 : 1))
const MULTI_RUN = new Set(['counter_inc', 'countervec_inc', 'bound_inc', 'gauge_set', 'histogram_observe', 'histogramvec_observe', ...DYNAMO_ONLY, 'first_touch', 'memory_counter_100k'])
/** Whether library `l` runs case `c`. */
const runs_ = (c, l) => l === 'dynamo' || !DYNAMO_ONLY.has(c)

function die(msg) {
  console.error(`bench: ${msg}`)
  process.exit(2)
}
const log = (msg) => console.error(msg)

// ------------------------------------------------------------------ release addon

function newestMtime(dir, pred, acc = 0) {
  if (!existsSync(dir)) return acc
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) {
      if (e.name !== 'target' && e.name !== 'node_modules') acc = newestMtime(p, pred, acc)
    } else if (pred(e.name)) {
      acc = Math.max(acc, statSync(p).mtimeMs)
    }
  }
  return acc
}

function findAddon() {
  if (!existsSync(NATIVE_DIR)) return null
  const f = readdirSync(NATIVE_DIR).find((n) => n.endsWith('.node'))
  return f ? path.join(NATIVE_DIR, f) : null
}

function crateSourcesMtime() {
  let m = newestMtime(path.join(ROOT, 'crates'), (n) => n.endsWith('.rs') || n === 'Cargo.toml')
  for (const f of ['Cargo.toml', 'Cargo.lock']) {
    const p = path.join(ROOT, f)
    if (existsSync(p)) m = Math.max(m, statSync(p).mtimeMs)
  }
  return m
}

function buildAddon(reason, fallback = null) {
  log(`bench: building the release addon (${reason}) into bench/.native/ ...`)
  // Own target dir: the tests' debug builds in target/ neither wait on this build's lock nor
  // get their artifacts replaced.
  const r = spawnSync(
    'npx',
    ['napi', 'build', '--platform', '--release', '--manifest-path', 'crates/dynamo-metrics-node/Cargo.toml', '-o', 'bench/.native'],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CARGO_TARGET_DIR: path.join(NATIVE_DIR, 'target') } },
  )
  if (r.status !== 0) {
    if (!fallback) die('release build of the addon failed')
    log(`bench: WARNING: the release build failed (work in progress in crates/?); measuring the previous release build ${fallback} (${new Date(statSync(fallback).mtimeMs).toISOString()})`)
    return fallback
  }
  const a = findAddon()
  if (!a) die('release build produced no .node file in bench/.native/')
  return a
}

function releaseAddon() {
  let addon = findAddon()
  if (flag('--rebuild')) return buildAddon('--rebuild')
  if (!addon) return buildAddon('missing')
  if (flag('--no-build')) return addon
  const src = crateSourcesMtime()
  if (src > statSync(addon).mtimeMs) addon = buildAddon('crate sources are newer than the last release build', addon)
  return addon
}

function checkDist() {
  const dist = path.join(ROOT, 'dist', 'cjs', 'index.js')
  if (!existsSync(dist)) die('dist/cjs/index.js is missing: run `npm run build:ts` at the repo root first')
  const src = newestMtime(path.join(ROOT, 'src-ts'), (n) => n.endsWith('.ts'))
  const built = newestMtime(path.join(ROOT, 'dist'), (n) => n.endsWith('.js'))
  if (src > built) log('bench: warning: src-ts/ is newer than dist/ (the benchmark uses dist/; run `npm run build:ts`)')
}

/**
 * Copies the built TS (dist/cjs), the generated loader and package.json to bench/.native/pkg, so
 * a concurrent `npm run build:ts` cannot change the code under test halfway through a pass.
 */
function snapshotPackage() {
  const pkg = path.join(NATIVE_DIR, 'pkg')
  rmSync(pkg, { recursive: true, force: true })
  mkdirSync(path.join(pkg, 'dist'), { recursive: true })
  cpSync(path.join(ROOT, 'dist', 'cjs'), path.join(pkg, 'dist', 'cjs'), { recursive: true })
  for (const f of ['index.js', 'package.json']) cpSync(path.join(ROOT, f), path.join(pkg, f))
  return path.join(pkg, 'dist', 'cjs', 'index.js')
}

// ------------------------------------------------------------------ native floor

async function nativeFloor(sizes) {
  if (flag('--no-floor')) return null
  const src = newestMtime(path.join(BENCH, 'native-floor'), (n) => n.endsWith('.rs') || n === 'Cargo.toml')
  if (!existsSync(FLOOR_BIN) || src > statSync(FLOOR_BIN).mtimeMs) {
    log('bench: building bench/native-floor (cargo build --release) ...')
    const b = spawnSync('cargo', ['build', '--release', '--manifest-path', FLOOR_MANIFEST], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    if (b.status !== 0) die('cargo build of bench/native-floor failed')
  }
  const run = (extra) => {
    const r = spawnSync(FLOOR_BIN, ['--series', String(sizes.counterN), '--hseries', String(sizes.histN), '--reps', String(sizes.reps), ...extra], { encoding: 'utf8' })
    if (r.status !== 0) die(`native floor failed: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  log('bench: native floor ...')
  const DYNAMO_TEXT = ['--prefix', 'dynamo_component_bench_', '--const', 'dynamo_component="c",dynamo_endpoint="e",dynamo_namespace="bench",']
  return {
    // Exactly the series text dynamo renders for the scrape cases (same names, labels, values).
    dynamo: run(DYNAMO_TEXT),
    // The prom-client family's text for the same series.
    peers: run(['--prefix', 'bench_']),
    // The same text served over HTTP by a std-only server (render, then write), timed by curl.
    http: await httpFloor(sizes, DYNAMO_TEXT),
  }
}

/** GETs of the floor's `--serve` mode by a curl process, like dynamo's GET /metrics case. */
async function httpFloor(sizes, textArgs) {
  if (spawnSync('curl', ['--version']).status !== 0) return null
  const child = spawn(FLOOR_BIN, ['--serve', '--series', String(sizes.counterN), '--hseries', String(sizes.histN), ...textArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /"port":(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.on('exit', (code) => reject(new Error(`native floor --serve exited with ${code}`)))
  })
  const get = (p) => {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `http://127.0.0.1:${port}${p}`], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`curl of the native floor failed: ${r.stderr}`)
    const [t, bytes] = r.stdout.trim().split(' ').map(Number)
    return { ms: t * 1000, bytes }
  }
  const time = (p) => {
    for (let k = 0; k < 2; k++) get(p) // warm-up: sizes the render buffer
    const xs = []
    let bytes = 0
    for (let k = 0; k < 9; k++) {
      const r = get(p)
      xs.push(r.ms)
      bytes = r.bytes
    }
    return { ...stats(xs), bytes }
  }
  try {
    return { counter: time('/counter'), histogram: time('/histogram'), client: 'curl', scrapes: 9 }
  } finally {
    spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/quit`])
    child.kill()
  }
}

// ------------------------------------------------------------------ children

function runChild(lib, caseList, addon, timeoutMs, pkg = null) {
  return new Promise((resolve) => {
    const env = { ...process.env }
    delete env.NAPI_RS_NATIVE_LIBRARY_PATH
    if (lib === 'dynamo' && addon) env.NAPI_RS_NATIVE_LIBRARY_PATH = addon
    delete env.BENCH_DYNAMO_PKG
    if (lib === 'dynamo' && pkg) env.BENCH_DYNAMO_PKG = pkg
    const flags = lib === 'dynamo' && flag('--no-codegen') ? ['--disallow-code-generation-from-strings'] : []
    const child = spawn(process.execPath, ['--expose-gc', ...flags, path.join(BENCH, 'case.mjs'), lib, caseList, '--mode', mode], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => {
      err += `\n[timed out after ${timeoutMs / 1000} s]`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      const results = out
        .split('\n')
        .filter((l) => l.startsWith('RESULT '))
        .map((l) => JSON.parse(l.slice(7)))
      for (const c of caseList.split(',')) {
        if (!results.some((r) => r.case === c)) {
          results.push({ lib, case: c, ok: false, error: `child exited with code ${code} without a result: ${err.trim().split('\n').slice(-3).join(' | ')}` })
        }
      }
      for (const r of results) if (!r.ok) r.stderr = err.trim()
      resolve(results)
    })
  })
}

/** Combines the runs of one (case, lib): median of run medians, min/max over every sample. */
function combine(rs) {
  const bad = rs.find((r) => !r.ok)
  if (bad) return bad
  const first = rs[0]
  const metrics = {}
  for (const k of Object.keys(first.metrics)) {
    const ms = rs.map((r) => r.metrics[k])
    const meds = ms.map((m) => m.median).sort((a, b) => a - b)
    const mid = meds.length >> 1
    metrics[k] = {
      ...ms[0],
      median: meds.length % 2 ? meds[mid] : (meds[mid - 1] + meds[mid]) / 2,
      min: Math.min(...ms.map((m) => m.min)),
      max: Math.max(...ms.map((m) => m.max)),
      runMedians: meds,
      samples: ms.flatMap((m) => m.samples ?? []),
    }
  }
  return { ...first, metrics, runs: rs.length }
}

// ------------------------------------------------------------------ report

const ROWS = [
  { case: 'counter_inc', metric: 'op', label: 'Counter `inc()`, no labels', unit: 'ns/op', bar: 2.5 },
  { case: 'countervec_inc', metric: 'op', label: 'CounterVec `inc({method,status})`, literal per call', unit: 'ns/op', bar: 50 },
  { case: 'bound_inc', metric: 'op', label: 'bound child `labels(...).inc()`', unit: 'ns/op', bar: 4 },
  { case: 'gauge_set', metric: 'op', label: 'Gauge `set(v)`', unit: 'ns/op', bar: 3 },
  { case: 'histogram_observe', metric: 'op', label: 'Histogram `observe(v)`, default buckets', unit: 'ns/op', bar: 15 },
  { case: 'histogramvec_observe', metric: 'op', label: 'HistogramVec `observe(v, {method,status})`', unit: 'ns/op', bar: 60 },
  { case: 'countervec_inc_ttl', metric: 'op', label: 'CounterVec `inc({method,status})` with `ttlSeconds` (dynamo only)', unit: 'ns/op' },
  { case: 'bound_inc_ttl', metric: 'op', label: 'bound child `inc()` of a Vec with `ttlSeconds` (dynamo only)', unit: 'ns/op' },
  { case: 'histogramvec_observe_ttl', metric: 'op', label: 'HistogramVec `observe` with `ttlSeconds` (dynamo only)', unit: 'ns/op' },
  { case: 'first_touch', metric: 'op', label: 'first touch (new series), 100k label sets', unit: 'ns/series', bar: 1500 },
  { case: 'scrape_counter_100k', metric: 'render', label: '100k counters: render to text ¹', unit: 'ms' },
  { case: 'scrape_counter_100k', metric: 'http', label: '100k counters: `GET /metrics` end to end ²', unit: 'ms', bar: 16, peerMetric: 'render' },
  { case: 'scrape_counter_100k', metric: 'render', field: 'bytes', label: '100k counters: bytes of the text', unit: 'B' },
  { case: 'scrape_histogram_10k', metric: 'render', label: '10k histograms: render to text ¹', unit: 'ms' },
  { case: 'scrape_histogram_10k', metric: 'http', label: '10k histograms: `GET /metrics` end to end ²', unit: 'ms', bar: 15, peerMetric: 'render' },
  { case: 'scrape_histogram_10k', metric: 'render', field: 'bytes', label: '10k histograms: bytes of the text', unit: 'B' },
  { case: 'scrape_eventloop_100k', metric: 'op', label: 'event-loop busy time per 100k-counter scrape ³', unit: 'ms', bar: 2 },
  { case: 'scrape_callbacks_100', metric: 'render', label: '100 sync callbacks: render ¹', unit: 'ms' },
  { case: 'scrape_callbacks_100', metric: 'http', label: '100 sync callbacks: `GET /metrics` ²', unit: 'ms', bar: 1, peerMetric: 'render' },
  { case: 'memory_counter_100k', metric: 'op', label: 'memory per counter series at 100k ⁴', unit: 'B/series', bar: 120 },
  { case: 'memory_counter_100k', metric: 'heap', label: '… of which JS heap', unit: 'B/series' },
]

function fmtNum(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '—'
  const a = Math.abs(v)
  if (a >= 1000) return Math.round(v).toLocaleString('en-US')
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  if (a >= 1) return v.toFixed(2)
  return v.toFixed(3)
}

function cell(r, row, lib) {
  if (!r) return 'n/a'
  if (!r.ok) return '**FAIL**'
  if (lib !== 'dynamo' && row.peerMetric) return '—'
  const m = r.metrics[row.metric]
  if (!m) return '—'
  if (row.field) return fmtNum(m[row.field])
  if (m.n > 1 && m.min !== m.max) return `${fmtNum(m.median)} (${fmtNum(m.min)}–${fmtNum(m.max)})`
  return fmtNum(m.median)
}

function value(r, metric, field) {
  if (!r || !r.ok || !r.metrics[metric]) return undefined
  return field ? r.metrics[metric][field] : r.metrics[metric].median
}

function ratioCell(row, get) {
  const d = value(get('dynamo', row.case), row.metric, row.field)
  if (d === undefined) return '—'
  let best
  for (const p of PEERS) {
    const v = value(get(p, row.case), row.peerMetric ?? row.metric, row.field)
    if (v !== undefined && (best === undefined || v < best.v)) best = { p, v }
  }
  if (!best) return '—'
  const x = d / best.v
  const s = x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toFixed(3)
  return `${s}× ${LIB_TITLES[best.p]}${row.peerMetric ? ' render' : ''}`
}

function report(results, floor, meta) {
  const get = (lib, c) => results.find((r) => r.lib === lib && r.case === c)
  const shownLibs = LIBS.filter((l) => libs.includes(l))
  const lines = []
  lines.push(`| case | unit | ${shownLibs.map((l) => LIB_TITLES[l]).join(' | ')} | dynamo ÷ best peer |`)
  lines.push(`|---|---|${shownLibs.map(() => '---:').join('|')}|---|`)
  for (const row of ROWS) {
    if (!cases.includes(row.case)) continue
    lines.push(`| ${row.label} | ${row.unit} | ${shownLibs.map((l) => cell(get(l, row.case), row, l)).join(' | ')} | ${ratioCell(row, get)} |`)
  }
  lines.push('')
  lines.push('Cells: median (min–max over every timed batch / scrape). Ratio < 1: dynamo-metrics is lower (better).')
  lines.push('¹ dynamo: `await endpoint.prometheusMetricsFmt()`; prom-client family: `await registry.metrics()`; OTel: `collect()` + `PrometheusSerializer` (its HTTP handler, mock response).')
  lines.push('² dynamo only (the peers have no HTTP server of their own): a curl process scrapes (its time_total, whole body read; a node:http worker-thread client where curl is missing); the ratio compares with the best peer render.')
  lines.push('³ dynamo: main-thread `eventLoopUtilization().active` while a worker thread GETs /metrics; peers: the same measure around their render (pure JS on the event loop, so ≈ render time).')
  lines.push('⁴ (heapUsed Δ + max(0, (rss − V8 heap physical size) Δ)) / 100k, after gc and one scrape, in a fresh process; label strings are created after the baseline (a copy or reference kept by the library counts). The off-heap term is allocator-level: pure-JS peers show 30–90 B/series there too.')

  // Native floor
  const fl = []
  if (floor) {
    const dc = get('dynamo', 'scrape_counter_100k')
    const dh = get('dynamo', 'scrape_histogram_10k')
    fl.push('| scenario | bytes | floor, cached label bytes (ms) | floor, escaping every render (ms) | floor served over HTTP (ms) | dynamo render (ms) | dynamo GET /metrics (ms) | render ÷ floor | GET ÷ floor | GET ÷ HTTP floor |')
    fl.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    const line = (title, f, fh, d) => {
      const r = value(d, 'render')
      const h = value(d, 'http')
      const x = (v, base) => (v === undefined || base === undefined ? '—' : `${(v / base).toFixed(1)}×`)
      const hf = fh ? `${fmtNum(fh.median)} (${fmtNum(fh.min)}–${fmtNum(fh.max)})` : '— (no curl)'
      fl.push(
        `| ${title} | ${f.bytes.toLocaleString('en-US')} | ${fmtNum(f.cached_ms.median)} (${fmtNum(f.cached_ms.min)}–${fmtNum(f.cached_ms.max)}) | ${fmtNum(f.escape_ms.median)} | ${hf} | ${fmtNum(r)} | ${fmtNum(h)} | ${x(r, f.cached_ms.median)} | ${x(h, f.cached_ms.median)} | ${x(h, fh?.median)} |`,
      )
    }
    line(`${floor.dynamo.counter.series.toLocaleString('en-US')} counters, dynamo's text`, floor.dynamo.counter, floor.http?.counter, dc)
    line(`${floor.dynamo.histogram.series.toLocaleString('en-US')} histograms, dynamo's text`, floor.dynamo.histogram, floor.http?.histogram, dh)
    fl.push('')
    fl.push(
      `Same series with the prom-client family's names and labels: ${floor.peers.counter.bytes.toLocaleString('en-US')} B in ${fmtNum(floor.peers.counter.cached_ms.median)} ms (counters), ` +
        `${floor.peers.histogram.bytes.toLocaleString('en-US')} B in ${fmtNum(floor.peers.histogram.cached_ms.median)} ms (histograms). Median of ${floor.dynamo.reps} renders.`,
    )
  }

  // Bars
  const bars = []
  bars.push('| bar | target | dynamo-metrics | met? |')
  bars.push('|---|---:|---:|---|')
  for (const row of ROWS) {
    if (row.bar === undefined || !cases.includes(row.case) || !libs.includes('dynamo')) continue
    const d = get('dynamo', row.case)
    const v = value(d, row.metric)
    const met = v === undefined ? (d && !d.ok ? 'FAIL' : '—') : v <= row.bar ? 'met' : `**missed** (${(v / row.bar).toFixed(1)}× the bar)`
    bars.push(`| ${row.label} | ≤ ${fmtNum(row.bar)} ${row.unit} | ${fmtNum(v)} | ${met} |`)
  }

  const failures = results.filter((r) => !r.ok)
  const md = [
    `# dynamo-metrics benchmark (${mode})`,
    '',
    `${meta.date} · ${meta.cpu} × ${meta.cores} · Node ${meta.node} · \`${meta.command}\` · ${meta.elapsedS} s · load average ${meta.loadavgStart[0]} → ${meta.loadavgEnd[0]}`,
    '',
    `Versions: ${meta.versions}`,
    '',
    `dynamo-metrics at ${meta.git}; addon: ${meta.addon}`,
    '',
    ...lines,
    '',
    ...(floor ? ['## Native floor (std-only Rust encoder, bench/native-floor)', '', ...fl, ''] : []),
    '## Bars',
    '',
    ...bars,
    '',
    ...(failures.length
      ? ['## Failures', '', ...failures.map((f) => `* ${f.lib} ${f.case}: ${f.error}`), '']
      : []),
  ].join('\n')
  return md
}

// ------------------------------------------------------------------ main

/** The commit measured, and whether the work tree had local changes outside bench/. */
function gitDescribe() {
  const git = (...a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' })
  const head = git('rev-parse', '--short', 'HEAD')
  if (head.status !== 0) return 'unknown'
  const dirty = git('status', '--porcelain', '--', '.', ':!bench').stdout.trim() !== ''
  return head.stdout.trim() + (dirty ? ' + uncommitted changes' : '')
}

async function smoke() {
  // Smoke checks correctness of the package as built (the root loader's addon, i.e. whatever the
  // tests built) unless --release asks for the release addon.
  const addon = flag('--release') ? releaseAddon() : null
  checkDist()
  const t0 = Date.now()
  const all = await Promise.all(libs.map((l) => runChild(l, cases.filter((c) => runs_(c, l)).join(","), addon, 60_000)))
  const results = all.flat()
  const bad = results.filter((r) => !r.ok)
  for (const l of libs) {
    const mine = results.filter((r) => r.lib === l)
    const f = mine.filter((r) => !r.ok)
    log(`smoke ${l.padEnd(14)} ${f.length ? `FAIL (${f.map((r) => r.case).join(', ')})` : `ok (${mine.length} cases)`}`)
  }
  for (const r of bad) log(`\n--- ${r.lib} ${r.case}: ${r.error}\n${r.stderr ?? ''}`)
  log(`smoke: ${results.length - bad.length}/${results.length} passed in ${((Date.now() - t0) / 1000).toFixed(1)} s` + (addon ? ` (addon ${addon})` : ' (addon: root loader)'))
  process.exit(bad.length ? 1 : 0)
}

async function main() {
  if (mode === 'smoke') return smoke()
  checkDist()
  const git = gitDescribe()
  const addon = libs.includes('dynamo') && !flag('--default-addon') ? releaseAddon() : null
  const pkg = libs.includes('dynamo') ? snapshotPackage() : null
  const sizes = mode === 'full' ? { counterN: 100_000, histN: 10_000, reps: 15 } : { counterN: 100_000, histN: 10_000, reps: 9 }
  const loadavgStart = os.loadavg().map((x) => +x.toFixed(2))
  const floor = await nativeFloor(sizes)
  const t0 = Date.now()
  const results = []
  const total = cases.reduce((a, c) => a + libs.filter((l) => runs_(c, l)).length * (MULTI_RUN.has(c) ? runs : 1), 0)
  let done = 0
  for (const c of cases) {
    for (const l of libs) {
      if (!runs_(c, l)) continue
      const n = MULTI_RUN.has(c) ? runs : 1
      const rs = []
      for (let k = 0; k < n; k++) {
        const [r] = await runChild(l, c, addon, mode === 'full' ? 600_000 : 180_000, pkg)
        rs.push(r)
        done++
        if (!r.ok) break
      }
      const r = combine(rs)
      results.push(r)
      const m = r.ok ? Object.entries(r.metrics).map(([k, v]) => `${k} ${fmtNum(v.median)} ${v.unit}`).join(', ') : `FAILED: ${r.error}`
      log(`[${String(done).padStart(3)}/${total}] ${c.padEnd(22)} ${l.padEnd(14)} ${m}`)
      if (!r.ok && r.stderr) log(r.stderr)
    }
  }
  const versions = LIBS.filter((l) => libs.includes(l))
    .map((l) => {
      const r = results.find((x) => x.lib === l && x.ok)
      return `${LIB_TITLES[l]} ${r?.meta?.version ?? '?'}`
    })
    .join(' · ')
  const meta = {
    date: new Date().toISOString(),
    mode,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? '?',
    cores: os.cpus().length,
    command: `node bench/run.mjs ${argv.join(' ')}`.trim(),
    versions,
    addon: addon ?? 'root loader (NAPI_RS_NATIVE_LIBRARY_PATH unset)',
    git,
    elapsedS: Math.round((Date.now() - t0) / 1000),
    loadavgStart,
    loadavgEnd: os.loadavg().map((x) => +x.toFixed(2)),
  }
  const md = report(results, floor, meta)
  console.log(md)
  mkdirSync(RESULTS, { recursive: true })
  // latest.* is overwritten; a dated copy of every pass is kept next to it.
  const stamp = `${mode}-${meta.date.slice(0, 19).replace(/:/g, '')}`
  const json = JSON.stringify({ meta, floor, results }, null, 1) + '\n'
  for (const name of ['latest', stamp]) {
    writeFileSync(path.join(RESULTS, `${name}.md`), md + '\n')
    writeFileSync(path.join(RESULTS, `${name}.json`), json)
  }
  log(`bench: ${mode} pass took ${meta.elapsedS} s; wrote bench/results/latest.{md,json} and ${stamp}.{md,json}`)
  process.exit(results.some((r) => !r.ok) ? 1 : 0)
}

main().catch((e) => {
  console.error(e?.stack ?? e)
  process.exit(1)
})
