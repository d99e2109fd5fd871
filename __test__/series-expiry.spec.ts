// Idle series expiry (`ttlSeconds` on a create*Vec call): idle series leave the output and their
// slots are reused, written ones stay, counters come back from 0, bound children follow, bad
// values are typed errors, and the sweep never keeps a process alive.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime, type Namespace } from '../dist/cjs/index.js'
import { httpGet, sample, startProgram, within } from './util'

const TTL = 0.2
const ns0 = { dynamo_namespace: 'ns' }
const runtimes: DistributedRuntime[] = []

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
})

async function level(options: Parameters<typeof DistributedRuntime.create>[0] = { systemEnabled: false }): Promise<{ rt: DistributedRuntime; ns: Namespace }> {
  const rt = await DistributedRuntime.create(options)
  runtimes.push(rt)
  return { rt, ns: rt.namespace('ns') }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `cond` every 20 ms (running `meanwhile` each time) until it holds; fails after 10 s. */
async function until(what: string, cond: () => Promise<boolean>, meanwhile: () => void = () => {}): Promise<void> {
  const end = performance.now() + 10_000
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`)
    meanwhile()
    await sleep(20)
  }
}

/** The exposition label string of `labels` plus the namespace label, as rendered (sorted keys). */
function lbl(labels: Record<string, string>): string {
  const all = { ...labels, ...ns0 }
  return `{${Object.keys(all)
    .sort()
    .map((k) => `${k}="${all[k as keyof typeof all]}"`)
    .join(',')}}`
}

const NAME = 'dynamo_component_requests_total'

describe('idle series expiry (ttlSeconds)', () => {
  it('a series idle past ttlSeconds leaves prometheusMetricsFmt() while one written meanwhile stays', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['route'], undefined, { ttlSeconds: TTL })
    cv.inc({ route: 'idle' }, 5)
    cv.inc({ route: 'busy' })
    let busy = 1
    const before = await rt.prometheusMetricsFmt()
    expect(sample(before, NAME, lbl({ route: 'idle' }))).toBe(5)
    await until(
      'the idle series left',
      async () => sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'idle' })) === undefined,
      () => {
        cv.inc({ route: 'busy' })
        busy++
      },
    )
    // Written every 20 ms, far inside the TTL: it never left, and kept every increment.
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'busy' }))).toBe(busy)
    expect(busy).toBeGreaterThan(5)
  })

  it('a series idle past ttlSeconds leaves GET /metrics (the timer sweeps; no scrape goes through JS)', async () => {
    const { rt, ns } = await level({ systemPort: 0, systemHost: '127.0.0.1' })
    const url = `http://127.0.0.1:${rt.systemStatusServer!.port}/metrics`
    const gv = ns.metrics.createGaugeVec('queue', 'Queue', ['q'], undefined, { ttlSeconds: TTL })
    gv.set(3, { q: 'idle' })
    gv.set(7, { q: 'steady' })
    expect(sample((await httpGet(url)).body, 'dynamo_component_queue', lbl({ q: 'idle' }))).toBe(3)
    // Setting a gauge to the value it already has is a write: the steady series stays.
    await until(
      'the idle gauge left /metrics',
      async () => sample((await httpGet(url)).body, 'dynamo_component_queue', lbl({ q: 'idle' })) === undefined,
      () => gv.set(7, { q: 'steady' }),
    )
    expect(sample((await httpGet(url)).body, 'dynamo_component_queue', lbl({ q: 'steady' }))).toBe(7)
  })

  it('a counter that comes back after expiring starts again from 0', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['route'], undefined, { ttlSeconds: TTL })
    cv.inc({ route: 'a' }, 41)
    await until('it expired', async () => sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'a' })) === undefined)
    expect(cv.get({ route: 'a' })).toBe(0)
    cv.inc({ route: 'a' })
    expect(cv.get({ route: 'a' })).toBe(1)
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'a' }))).toBe(1)
  })

  it('expired slots are reused: 10 cycles of 10,000 series leave no series and the slabs do not grow', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['id'], undefined, { ttlSeconds: TTL })
    const N = 10_000
    const left = async (): Promise<boolean> => !(await rt.prometheusMetricsFmt()).includes(`${NAME}{`)
    let afterFirst = 0
    for (let cycle = 0; cycle < 10; cycle++) {
      for (let i = 0; i < N; i++) cv.inc({ id: `c${cycle}-${i}` })
      expect(cv.get({ id: `c${cycle}-${N - 1}` })).toBe(1)
      await until(`cycle ${cycle} expired`, left)
      if (cycle === 0) afterFirst = process.memoryUsage().arrayBuffers
    }
    // Without reuse, 9 more cycles would take 9 * 10,000 series * 2 slots * 8 B = 1.44 MB of new slabs.
    expect(process.memoryUsage().arrayBuffers - afterFirst).toBeLessThan(500_000)
  })

  it('more idle series than one sweep removes (25,000; a sweep takes 10,000) all leave, in the next sweeps', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['id'], undefined, { ttlSeconds: TTL, maxSeries: 30_000 })
    for (let i = 0; i < 25_000; i++) cv.inc({ id: String(i) })
    cv.inc({ id: 'busy' })
    const count = async (): Promise<number> => (await rt.prometheusMetricsFmt()).split(`${NAME}{`).length - 1
    expect(await count()).toBe(25_001)
    await until('only the busy series is left', async () => (await count()) === 1, () => cv.inc({ id: 'busy' }))
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ id: 'busy' }))).toBeGreaterThan(1)
  })

  it('expired series free room under maxSeries: a label set that folded gets its own series after expiry', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['id'], undefined, { ttlSeconds: TTL, maxSeries: 2 })
    cv.inc({ id: 'a' })
    cv.inc({ id: 'b' })
    cv.inc({ id: 'c' }, 5) // past the limit: folds
    const text = await rt.prometheusMetricsFmt()
    expect(sample(text, NAME, lbl({ id: '__overflow__' }))).toBe(5)
    expect(sample(text, NAME, lbl({ id: 'c' }))).toBeUndefined()
    await until('a and b expired', async () => sample(await rt.prometheusMetricsFmt(), NAME, lbl({ id: 'a' })) === undefined && sample(await rt.prometheusMetricsFmt(), NAME, lbl({ id: 'b' })) === undefined)
    cv.inc({ id: 'c' }, 7)
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ id: 'c' }))).toBe(7)
  })

  it('bound children mark their series; after expiry a kept child is parked and its next write brings the series back from 0', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['route'], undefined, { ttlSeconds: TTL })
    const kid = cv.labels({ route: 'kid' })
    kid.inc(2)
    cv.inc({ route: 'idle' })
    let n = 2
    await until(
      'the idle series left',
      async () => sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'idle' })) === undefined,
      () => {
        kid.inc()
        n++
      },
    )
    // The child's own writes kept its series (no call through the Vec).
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'kid' }))).toBe(n)
    await until('the child series left', async () => sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'kid' })) === undefined)
    expect(kid.get()).toBe(0)
    // A bad value is refused before anything comes back.
    expect(() => kid.inc(-1)).toThrow(/increment/)
    expect((await rt.prometheusMetricsFmt()).includes(lbl({ route: 'kid' }))).toBe(false)
    kid.inc(3)
    expect(kid.get()).toBe(3)
    expect(cv.get({ route: 'kid' })).toBe(3)
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'kid' }))).toBe(3)
    // The revived child is the Vec's child again: it marks, and labels() returns it.
    expect(cv.labels({ route: 'kid' })).toBe(kid)
  })

  it('two children of one label set (one bound after the other expired) share the series and both follow later expiries', async () => {
    const { rt, ns } = await level()
    const gv = ns.metrics.createIntGaugeVec('slots', 'Slots', ['pool'], undefined, { ttlSeconds: TTL })
    const first = gv.labels({ pool: 'p' })
    first.set(5)
    const gone = async (): Promise<boolean> => sample(await rt.prometheusMetricsFmt(), 'dynamo_component_slots', lbl({ pool: 'p' })) === undefined
    await until('p expired', gone)
    const second = gv.labels({ pool: 'p' })
    expect(second).not.toBe(first)
    second.set(1)
    first.inc(2)
    expect(second.get()).toBe(3)
    await until('p expired again', gone)
    first.set(9)
    second.add(1)
    expect(gv.get({ pool: 'p' })).toBe(10)
    expect(sample(await rt.prometheusMetricsFmt(), 'dynamo_component_slots', lbl({ pool: 'p' }))).toBe(10)
  })

  it('HistogramVec: an idle series leaves (every sample line), an observed one stays, a returning one counts from 0', async () => {
    const { rt, ns } = await level()
    const hv = ns.metrics.createHistogramVec('latency_seconds', 'Latency', ['route'], { buckets: [0.1, 1], ttlSeconds: TTL })
    const H = 'dynamo_component_latency_seconds'
    const bound = hv.labels({ route: 'bound' })
    hv.observe(0.5, { route: 'idle' })
    hv.observe(0.05, { route: 'busy' })
    bound.observe(2)
    let busy = 1
    await until(
      'the idle histogram left',
      async () => !(await rt.prometheusMetricsFmt()).includes('route="idle"'),
      () => {
        hv.observe(0.05, { route: 'busy' })
        bound.observe(2)
        busy++
      },
    )
    const text = await rt.prometheusMetricsFmt()
    expect(sample(text, `${H}_count`, lbl({ route: 'busy' }))).toBe(busy)
    expect(sample(text, `${H}_count`, lbl({ route: 'bound' }))).toBe(busy)
    hv.observe(0.5, { route: 'idle' })
    expect(hv.getCount({ route: 'idle' })).toBe(1)
    expect(sample(await rt.prometheusMetricsFmt(), `${H}_sum`, lbl({ route: 'idle' }))).toBe(0.5)
  })

  it('a Vec without ttlSeconds never expires, beside one that does', async () => {
    const { rt, ns } = await level()
    const kept = ns.metrics.createCounterVec('kept_total', 'Kept', ['route'])
    const expiring = ns.metrics.createCounterVec('requests_total', 'Requests', ['route'], undefined, { ttlSeconds: TTL })
    kept.inc({ route: 'a' }, 4)
    expiring.inc({ route: 'a' })
    await until('the expiring series left', async () => sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'a' })) === undefined)
    // Several more TTLs of sweeps.
    await sleep(TTL * 3 * 1000)
    expect(sample(await rt.prometheusMetricsFmt(), 'dynamo_component_kept_total', lbl({ route: 'a' }))).toBe(4)
  })

  it('remove() on an expiring Vec: the series comes back fresh and is not expired by the old one\'s record', async () => {
    const { rt, ns } = await level()
    const cv = ns.metrics.createCounterVec('requests_total', 'Requests', ['route'], undefined, { ttlSeconds: TTL })
    const old = cv.labels({ route: 'a' })
    old.inc(10)
    expect(cv.remove({ route: 'a' })).toBe(true)
    // A removed series' child is detached (as without expiry): its writes go nowhere, it does not revive.
    old.inc(1)
    expect(cv.get({ route: 'a' })).toBe(0)
    let n = 0
    const end = performance.now() + TTL * 3 * 1000
    while (performance.now() < end) {
      cv.inc({ route: 'a' })
      n++
      await sleep(20)
    }
    expect(sample(await rt.prometheusMetricsFmt(), NAME, lbl({ route: 'a' }))).toBe(n)
  })

  it('bad ttlSeconds values are ConfigErrors naming the option, and create nothing', async () => {
    const { ns } = await level()
    const m = ns.metrics
    const bad: unknown[] = [0, -1, NaN, Infinity, -Infinity, 0.001, 1e9, '1', null, {}, 10n]
    for (const ttl of bad) {
      const o = { ttlSeconds: ttl as number }
      for (const create of [
        () => m.createCounterVec('c', 'h', ['a'], undefined, o),
        () => m.createIntCounterVec('ic', 'h', ['a'], undefined, o),
        () => m.createGaugeVec('g', 'h', ['a'], undefined, o),
        () => m.createIntGaugeVec('ig', 'h', ['a'], undefined, o),
        () => m.createHistogramVec('hi', 'h', ['a'], { ttlSeconds: ttl as number }),
      ]) {
        let err: unknown
        try {
          create()
        } catch (e) {
          err = e
        }
        expect(err, String(ttl)).toBeInstanceOf(ConfigError)
        expect((err as ConfigError).code).toBe('ERR_DYNAMO_CONFIG')
        expect((err as Error).message).toContain('ttlSeconds')
      }
    }
    expect(() => m.createCounterVec('c', 'h', ['a'], undefined, 'x' as never)).toThrow(ConfigError)
    // Nothing was registered: the names are free for a valid call.
    expect(m.createCounterVec('c', 'h', ['a'], undefined, { ttlSeconds: 0.01 }).name).toBe('dynamo_component_c')
    expect(m.createHistogramVec('hi', 'h', ['a'], { ttlSeconds: 2_592_000 }).name).toBe('dynamo_component_hi')
  })
})

describe('process exit with an expiring Vec', () => {
  const FIXTURE = join(__dirname, 'fixtures', 'expiry-exit.mjs')

  for (const mode of ['shutdown', 'noshutdown']) {
    it(`a program with an expiring Vec exits within 2 s (${mode === 'shutdown' ? 'after shutdown()' : 'without calling shutdown()'})`, async () => {
      const p = startProgram(FIXTURE, [mode])
      try {
        expect((await p.line('SEEN')).line).toBe('SEEN found')
        const done = await p.line('DONE')
        const exit = await within(p.exit, 10_000)
        expect(exit, `still running; stderr=${p.stderr()}`).toBeDefined()
        expect(exit!.code).toBe(0)
        expect(exit!.at - done.at).toBeLessThan(2000)
      } finally {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
      }
    })
  }
})
