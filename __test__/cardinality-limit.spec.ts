// The cardinality guard (README "Limits"): a per-family series limit; past it, new label sets
// fold into one overflow series (every label value `__overflow__`) and each folded write adds 1
// to dynamo_component_series_overflow_total{metric="<family>"}. Plus the label length maxima.
import { spawnSync } from 'node:child_process'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime, InvalidLabelError } from '../dist/cjs/index.js'
import { sample } from './util'

const OVERFLOW = 'dynamo_component_series_overflow_total'
const ENV = 'DYN_METRICS_MAX_SERIES_PER_FAMILY'

/** Sample lines of family `name` (its own samples only). */
function seriesLines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
}

/** The folded-writes count of `family` at the root level. */
function folded(text: string, family: string): number | undefined {
  return sample(text, OVERFLOW, `{metric="${family}"}`)
}

let rt: DistributedRuntime | undefined
afterEach(async () => {
  await rt?.shutdown()
  rt = undefined
  delete process.env[ENV]
})

async function runtime(options: Parameters<typeof DistributedRuntime.create>[0] = {}): Promise<DistributedRuntime> {
  rt = await DistributedRuntime.create({ systemEnabled: false, ...options })
  return rt
}

describe('series limit', () => {
  it('defaults to 10000 series per family; the 10001st label set folds', async () => {
    const r = await runtime()
    const v = r.metrics.createCounterVec('default_limit_total', 'h', ['id'] as const)
    for (let i = 0; i < 10_000; i++) v.inc({ id: `s${i}` })
    let text = await r.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_default_limit_total')).toHaveLength(10_000)
    expect(text).not.toContain(OVERFLOW)
    v.inc({ id: 'one-too-many' }, 4)
    text = await r.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_default_limit_total')).toHaveLength(10_001)
    expect(sample(text, 'dynamo_component_default_limit_total', '{id="__overflow__"}')).toBe(4)
    expect(folded(text, 'dynamo_component_default_limit_total')).toBe(1)
  })

  it('folds new label sets into one overflow series, counts every folded write, keeps existing series writable', async () => {
    const r = await runtime()
    const v = r.metrics.createCounterVec('fold_total', 'h', ['a', 'b'] as const, undefined, { maxSeries: 2 })
    v.inc({ a: 'x', b: '1' })
    v.inc({ a: 'y', b: 1 })
    v.inc({ a: 'z', b: '1' }, 5) // folds
    v.incBy(2, { a: 'w', b: '2' }) // folds
    v.inc({ a: 'z', b: '1' }) // folds again: a folded set is not remembered
    v.inc({ a: 'x', b: '1' }, 10) // an existing series
    // A read of a folded set returns the overflow series' value and is not a write.
    expect(v.get({ a: 'q', b: 'q' })).toBe(8)
    // A child bound to a folded set counts each of its writes.
    const child = v.labels({ a: 'k', b: 'k' })
    child.inc(3)
    child.incBy(1)
    const text = await r.prometheusMetricsFmt()
    const name = 'dynamo_component_fold_total'
    expect(seriesLines(text, name).sort()).toEqual(
      [`${name}{a="__overflow__",b="__overflow__"} 12`, `${name}{a="x",b="1"} 11`, `${name}{a="y",b="1"} 1`].sort(),
    )
    expect(folded(text, name)).toBe(5)
    expect(text).toContain(`# TYPE ${OVERFLOW} counter`)
  })

  it('renders the overflow series and its counter as text promtool parses', async () => {
    const r = await runtime()
    const ep = r.namespace('ns').component('comp').endpoint('gen')
    const c = ep.metrics.createCounterVec('parse_total', 'h', ['a'] as const, undefined, { maxSeries: 1 })
    const h = ep.metrics.createHistogramVec('parse_seconds', 'h', ['a'] as const, { maxSeries: 1 })
    for (const a of ['x', 'y', 'z']) {
      c.inc({ a })
      h.observe(0.1, { a })
    }
    const text = await r.prometheusMetricsFmt()
    expect(text).toContain(`${OVERFLOW}{dynamo_component="comp",dynamo_endpoint="gen",dynamo_namespace="ns",metric="dynamo_component_parse_total"} 2`)
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(check.error).toBeUndefined()
    expect(check.stderr).not.toMatch(/error while linting|text format parsing error/)
    expect([0, 3]).toContain(check.status)
  })

  it('folds histogram Vec observations into the overflow histogram; the counter sits at the family level', async () => {
    const r = await runtime()
    const ep = r.namespace('ns').component('comp').endpoint('gen')
    const h = ep.metrics.createHistogramVec('fold_seconds', 'h', ['model'] as const, { buckets: [1], maxSeries: 1 })
    h.observe(0.5, { model: 'a' })
    h.observe(2, { model: 'b' })
    h.observe(0.25, { model: 'c' })
    const end = h.startTimer({ model: 'd' })
    end()
    const text = await r.prometheusMetricsFmt()
    const auto = 'dynamo_component="comp",dynamo_endpoint="gen",dynamo_namespace="ns"'
    const n = 'dynamo_component_fold_seconds'
    expect(sample(text, `${n}_count`, `{${auto},model="a"}`)).toBe(1)
    expect(sample(text, `${n}_count`, `{${auto},model="__overflow__"}`)).toBe(3)
    expect(sample(text, `${n}_bucket`, `{${auto},model="__overflow__",le="+Inf"}`)).toBe(3)
    expect(sample(text, `${n}_sum`, `{${auto},model="__overflow__"}`)).toBeGreaterThanOrEqual(2.25)
    expect(seriesLines(text, `${n}_count`)).toHaveLength(2)
    expect(sample(text, OVERFLOW, `{${auto},metric="${n}"}`)).toBe(3)
  })

  it('takes the runtime-wide limit from maxSeriesPerFamily, and a metric maxSeries wins over it', async () => {
    const r = await runtime({ maxSeriesPerFamily: 2 })
    const g = r.metrics.createGaugeVec('rt_limit', 'h', ['k'] as const)
    const own = r.metrics.createIntGaugeVec('own_limit', 'h', ['k'] as const, undefined, { maxSeries: 3 })
    for (let i = 0; i < 5; i++) {
      g.set(i, { k: `k${i}` })
      own.set(i, { k: `k${i}` })
    }
    const text = await r.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_rt_limit')).toHaveLength(3)
    expect(sample(text, 'dynamo_component_rt_limit', '{k="__overflow__"}')).toBe(4)
    expect(folded(text, 'dynamo_component_rt_limit')).toBe(3)
    expect(seriesLines(text, 'dynamo_component_own_limit')).toHaveLength(4)
    expect(folded(text, 'dynamo_component_own_limit')).toBe(2)
  })

  it(`takes the runtime-wide limit from ${ENV}; the option wins over it`, async () => {
    process.env[ENV] = '1'
    const r = await runtime()
    const c = r.metrics.createIntCounterVec('env_limit_total', 'h', ['k'] as const)
    c.inc({ k: 'a' })
    c.inc({ k: 'b' })
    let text = await r.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_env_limit_total')).toHaveLength(2)
    expect(folded(text, 'dynamo_component_env_limit_total')).toBe(1)
    await r.shutdown()
    const r2 = await runtime({ maxSeriesPerFamily: 2 })
    const c2 = r2.metrics.createIntCounterVec('env_limit_total', 'h', ['k'] as const)
    c2.inc({ k: 'a' })
    c2.inc({ k: 'b' })
    text = await r2.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_env_limit_total')).toHaveLength(2)
    expect(text).not.toContain(OVERFLOW)
  })

  it('frees room when series are removed: a set that folded before gets its own series', async () => {
    const r = await runtime()
    const v = r.metrics.createCounterVec('room_total', 'h', ['k'] as const, undefined, { maxSeries: 1 })
    v.inc({ k: 'a' })
    v.inc({ k: 'b' }) // folds
    expect(v.remove({ k: 'b' })).toBe(false) // no series of its own
    expect(v.remove({ k: 'a' })).toBe(true)
    v.inc({ k: 'b' }, 7) // room again
    let text = await r.prometheusMetricsFmt()
    expect(sample(text, 'dynamo_component_room_total', '{k="b"}')).toBe(7)
    expect(sample(text, 'dynamo_component_room_total', '{k="__overflow__"}')).toBe(1)
    expect(folded(text, 'dynamo_component_room_total')).toBe(1)
    v.reset()
    v.inc({ k: 'c' })
    v.inc({ k: 'd' }) // folds into a new overflow series
    text = await r.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_room_total').sort()).toEqual(
      ['dynamo_component_room_total{k="__overflow__"} 1', 'dynamo_component_room_total{k="c"} 1'].sort(),
    )
    expect(folded(text, 'dynamo_component_room_total')).toBe(2)
  })

  it('a set of markers written before the limit becomes the overflow series: still at most limit + 1 series', async () => {
    const r = await runtime()
    const v = r.metrics.createGaugeVec('marker_first', 'h', ['k'] as const, undefined, { maxSeries: 2 })
    v.set(1, { k: '__overflow__' }) // not a fold: the marker itself
    v.set(2, { k: 'a' })
    v.add(5, { k: 'b' }) // folds into the marker series
    v.set(3, { k: 'c' }) // the marker series no longer counts: room for one more
    v.add(1, { k: 'd' }) // folds
    const text = await r.prometheusMetricsFmt()
    const n = 'dynamo_component_marker_first'
    expect(seriesLines(text, n).sort()).toEqual([`${n}{k="__overflow__"} 7`, `${n}{k="a"} 2`, `${n}{k="c"} 3`].sort())
    expect(folded(text, n)).toBe(2)
  })

  it('rejects bad limits with a ConfigError naming the option', async () => {
    const r = await runtime()
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32, '10', null, {}]) {
      const make = (): unknown => r.metrics.createCounterVec('bad_limit_total', 'h', ['k'], undefined, { maxSeries: bad as never })
      expect(make).toThrow(ConfigError)
      expect(make).toThrow(/'bad_limit_total'.*maxSeries/)
    }
    // A rejected limit registered nothing: the name is still free.
    r.metrics.createCounterVec('bad_limit_total', 'h', ['k'], undefined, { maxSeries: 1 })
    expect(() => r.metrics.createHistogramVec('bad_h', 'h', ['k'], { maxSeries: 0 })).toThrow(ConfigError)
    for (const bad of [0, 0.5, -2, Number.NaN]) {
      await expect(DistributedRuntime.create({ systemEnabled: false, maxSeriesPerFamily: bad })).rejects.toThrow(
        /option maxSeriesPerFamily/,
      )
      await expect(DistributedRuntime.create({ systemEnabled: false, maxSeriesPerFamily: bad })).rejects.toBeInstanceOf(ConfigError)
    }
    process.env[ENV] = 'lots'
    await expect(DistributedRuntime.create({ systemEnabled: false })).rejects.toThrow(new RegExp(`${ENV}.*lots`))
  })

  it('bounds an attack of 200,000 distinct label sets: at most limit + 1 series, bounded memory, every write counted', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const r = await runtime()
    const v = r.metrics.createCounterVec('attack_total', 'h', ['user', 'path'] as const)
    const attack = (from: number): void => {
      for (let i = from; i < from + 100_000; i++) v.inc({ user: `u${i}`, path: `/p/${i}` })
    }
    const rss0 = process.memoryUsage.rss()
    const t0 = performance.now()
    attack(0)
    await r.prometheusMetricsFmt()
    gc()
    const before = process.memoryUsage().heapUsed
    attack(100_000)
    await r.prometheusMetricsFmt()
    const ms = performance.now() - t0
    gc()
    const grown = process.memoryUsage().heapUsed - before
    const rssGrowthMB = (process.memoryUsage.rss() - rss0) / 2 ** 20
    console.log('cardinality figures', JSON.stringify({ labelSets: 200_000, ms: Math.round(ms), heapGrowthKB: Math.round(grown / 1024), rssGrowthMB: Math.round(rssGrowthMB) }))
    const text = await r.prometheusMetricsFmt()
    const lines = seriesLines(text, 'dynamo_component_attack_total')
    expect(lines).toHaveLength(10_001)
    expect(sample(text, 'dynamo_component_attack_total', '{path="__overflow__",user="__overflow__"}')).toBe(190_000)
    expect(folded(text, 'dynamo_component_attack_total')).toBe(190_000)
    // 100,000 more label sets cached would take well over 10 MB of JS heap.
    expect(grown).toBeLessThan(2 * 1024 * 1024)
  })
})

describe('label length maxima', () => {
  it('rejects a label name over 1024 bytes (a 1 MiB one too) with an InvalidLabelError naming the rule', async () => {
    const r = await runtime()
    r.metrics.createCounterVec('name_ok_total', 'h', ['n'.repeat(1024)])
    for (const name of ['n'.repeat(1025), 'm'.repeat(1 << 20)]) {
      const make = (): unknown => r.metrics.createCounterVec('name_long_total', 'h', [name])
      expect(make).toThrow(InvalidLabelError)
      expect(make).toThrow(/label names may be at most 1024 bytes long/)
    }
    expect(() => r.metrics.createCounter('const_name_long_total', 'h', { ['c'.repeat(1025)]: 'v' })).toThrow(/at most 1024 bytes/)
  })

  it('rejects a label value over 2048 UTF-8 bytes with an InvalidLabelError naming the label; nothing is created', async () => {
    const r = await runtime()
    const v = r.metrics.createCounterVec('value_len_total', 'h', ['model', 'x'] as const)
    v.inc({ model: 'v'.repeat(2048), x: '' })
    v.inc({ model: 'é'.repeat(1024), x: '' }) // 2048 bytes
    for (const long of ['v'.repeat(2049), '✓'.repeat(683) /* 2049 bytes */, 'w'.repeat(1 << 20)]) {
      const write = (): void => v.inc({ model: long, x: 'y' })
      expect(write).toThrow(InvalidLabelError)
      expect(write).toThrow(/label 'model' of metric 'dynamo_component_value_len_total'.*at most 2048 bytes/)
    }
    const h = r.metrics.createHistogramVec('value_len_seconds', 'h', ['k'] as const)
    expect(() => h.observe(1, { k: 'k'.repeat(3000) })).toThrow(/label 'k'.*at most 2048 bytes/)
    expect(() => r.metrics.createGauge('const_value_long', 'h', { c: 'c'.repeat(2049) })).toThrow(/label 'c'.*at most 2048 bytes/)
    const text = await r.prometheusMetricsFmt()
    expect(seriesLines(text, 'dynamo_component_value_len_total')).toHaveLength(2)
    expect(seriesLines(text, 'dynamo_component_value_len_seconds_count')).toHaveLength(0)
  })

  it('registers a label set longer than one batch of the registrar (values within the maximum)', async () => {
    const r = await runtime()
    const names = Array.from({ length: 12 }, (_, i) => `l${i}`)
    const v = r.metrics.createGaugeVec('wide_values', 'h', names)
    const labels = Object.fromEntries(names.map((n, i) => [n, String.fromCharCode(97 + i).repeat(2048)]))
    v.set(3, labels)
    expect(v.get(labels)).toBe(3)
    const lines = seriesLines(await r.prometheusMetricsFmt(), 'dynamo_component_wide_values')
    expect(lines).toHaveLength(1)
    expect(lines[0].endsWith('} 3')).toBe(true)
    expect(lines[0]).toContain(`l11="${'l'.repeat(2048)}"`)
  })
})
