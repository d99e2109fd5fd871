// New series are registered with Rust in batches (one call per family per JS turn, or before
// anything reads the table). These tests pin what a user can observe of that: a series is in every
// scrape that starts after the turn that created it, and in any render, remove or reset of the
// same turn.
import { afterEach, describe, expect, it } from 'vitest'
import { DistributedRuntime, InvalidLabelError } from '../dist/cjs/index.js'
import { httpGet, sample } from './util'

const runtimes: DistributedRuntime[] = []

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.shutdown()))
})

async function runtime(server = false): Promise<DistributedRuntime> {
  const rt = await DistributedRuntime.create(server ? { systemPort: 0, systemHost: '127.0.0.1' } : { systemEnabled: false })
  runtimes.push(rt)
  return rt
}

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`))
}

describe('series creation in batches', () => {
  it('series created in the same turn as a render are in it, across interleaved families', async () => {
    const rt = await runtime()
    const a = rt.metrics.createCounterVec('batch_a_total', 'a', ['k'])
    const b = rt.metrics.createHistogramVec('batch_b_seconds', 'b', ['k', 'j'], { buckets: [1, 2] })
    for (let i = 0; i < 600; i++) {
      a.inc({ k: `a${i}` })
      b.observe(i % 3, { k: `b${i}`, j: i % 2 === 0 ? 'even' : '' })
    }
    const text = await rt.prometheusMetricsFmt()
    const la = lines(text, 'dynamo_component_batch_a_total')
    expect(la).toHaveLength(600)
    expect(la).toContain('dynamo_component_batch_a_total{k="a599"} 1')
    expect(lines(text, 'dynamo_component_batch_b_seconds_count')).toHaveLength(600)
    expect(sample(text, 'dynamo_component_batch_b_seconds_bucket', '{j="",k="b1",le="1"}')).toBe(1)
    expect(sample(text, 'dynamo_component_batch_b_seconds_bucket', '{j="even",k="b2",le="1"}')).toBe(0)
    expect(sample(text, 'dynamo_component_batch_b_seconds_bucket', '{j="even",k="b2",le="+Inf"}')).toBe(1)
  })

  it('any label value survives a batch: NUL, non-ASCII, surrogate pairs, the longest values; a lone surrogate is refused', async () => {
    const rt = await runtime()
    const v = rt.metrics.createCounterVec('batch_text_total', 't', ['k', 'j'])
    const long = 'é'.repeat(1024) // 2048 bytes, the longest value (a set longer than a batch: cardinality-limit.spec.ts)
    const sets: [string, string][] = [
      ['a\0b', ''],
      ['ascii', 'naïve'],
      ['日本語', '\u{1F600}x'],
      [long, 'after'],
      ['b'.repeat(2048), 'c'.repeat(2048)],
    ]
    // Interleaved with a second family so one batch holds records of both.
    const w = rt.metrics.createGaugeVec('batch_text_other', 'o', ['k'])
    sets.forEach(([k, j], i) => {
      v.inc({ k, j })
      w.set(i, { k })
    })
    for (const [k, j] of sets) expect(v.get({ k, j })).toBe(1)
    const text = await rt.prometheusMetricsFmt()
    const got = lines(text, 'dynamo_component_batch_text_total')
    expect(got).toHaveLength(sets.length)
    const want = sets.map(([k, j]) => `dynamo_component_batch_text_total{j="${j}",k="${k}"} 1`)
    expect(got.sort()).toEqual(want.sort())
    expect(lines(text, 'dynamo_component_batch_text_other')).toHaveLength(sets.length)
    expect(sample(text, 'dynamo_component_batch_text_other', '{k="日本語"}')).toBe(2)
    // A lone surrogate has no UTF-8 form (it would render as U+FFFD, so two values could render
    // as one series): refused, and nothing is created.
    expect(() => v.inc({ k: 'lone\uD800', j: 'z' })).toThrow(InvalidLabelError)
    expect(() => v.inc({ k: 'lone\uDC00', j: 'z' })).toThrow(/well-formed Unicode/)
    expect(lines(await rt.prometheusMetricsFmt(), 'dynamo_component_batch_text_total')).toHaveLength(sets.length)
  })

  it('a series removed or reset in the turn that created it is gone, and its label set can return', async () => {
    const rt = await runtime()
    const g = rt.metrics.createGaugeVec('batch_g', 'g', ['k'])
    g.set(1, { k: 'x' })
    g.set(2, { k: 'y' })
    expect(g.remove({ k: 'x' })).toBe(true)
    let text = await rt.prometheusMetricsFmt()
    expect(lines(text, 'dynamo_component_batch_g')).toEqual(['dynamo_component_batch_g{k="y"} 2'])

    g.set(3, { k: 'z' })
    g.reset()
    g.set(4, { k: 'x' })
    text = await rt.prometheusMetricsFmt()
    expect(lines(text, 'dynamo_component_batch_g')).toEqual(['dynamo_component_batch_g{k="x"} 4'])
  })

  it('a reset after the label index outgrew its Map leaves an index that finds and creates series', async () => {
    const rt = await runtime()
    const g = rt.metrics.createGaugeVec('batch_wide', 'w', ['k'])
    for (let i = 0; i < 5000; i++) g.set(i, { k: `v${i}` })
    expect(g.get({ k: 'v4999' })).toBe(4999)
    g.reset()
    let text = await rt.prometheusMetricsFmt()
    expect(lines(text, 'dynamo_component_batch_wide')).toEqual([])
    g.set(7, { k: 'v4999' })
    g.set(8, { k: 'new' })
    expect(g.get({ k: 'v4999' })).toBe(7)
    text = await rt.prometheusMetricsFmt()
    expect(lines(text, 'dynamo_component_batch_wide').sort()).toEqual([
      'dynamo_component_batch_wide{k="new"} 8',
      'dynamo_component_batch_wide{k="v4999"} 7',
    ])
  })

  it('GET /metrics after the creating turn shows the series (the scrape reads the table from Rust)', async () => {
    const rt = await runtime(true)
    const c = rt.metrics.createIntCounterVec('batch_http_total', 'h', ['k'])
    for (let i = 0; i < 100; i++) c.inc({ k: `v${i}` })
    await Promise.resolve()
    const r = await httpGet(`http://127.0.0.1:${rt.systemStatusServer?.port}/metrics`)
    expect(r.status).toBe(200)
    expect(lines(r.body, 'dynamo_component_batch_http_total')).toHaveLength(100)
  })

  it('series a metrics callback creates are in that same scrape', async () => {
    const rt = await runtime(true)
    const g = rt.metrics.createGaugeVec('batch_cb', 'g', ['worker'])
    let round = 0
    rt.registerMetricsCallback(() => {
      round++
      g.set(round, { worker: `w${round}` })
    })
    const url = `http://127.0.0.1:${rt.systemStatusServer?.port}/metrics`
    const first = await httpGet(url)
    expect(lines(first.body, 'dynamo_component_batch_cb')).toEqual(['dynamo_component_batch_cb{worker="w1"} 1'])
    const second = await httpGet(url)
    expect(lines(second.body, 'dynamo_component_batch_cb')).toEqual([
      'dynamo_component_batch_cb{worker="w1"} 1',
      'dynamo_component_batch_cb{worker="w2"} 2',
    ])
  })

  it('a runtime shut down in the turn that created series neither throws nor leaves an unhandled error', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    const c = rt.metrics.createCounterVec('batch_late_total', 'l', ['k'])
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown): void => void unhandled.push(e)
    process.on('uncaughtException', onUnhandled)
    process.on('unhandledRejection', onUnhandled)
    try {
      c.inc({ k: 'a' })
      const done = rt.shutdown()
      await done
      await new Promise((r) => setTimeout(r, 20))
    } finally {
      process.off('uncaughtException', onUnhandled)
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
  })
})
