// Every method of every metric class, scalar and Vec: the values they record and render.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  Counter,
  CounterVec,
  DistributedRuntime,
  type Endpoint,
  Gauge,
  GaugeVec,
  Histogram,
  HistogramVec,
  IntCounter,
  IntCounterVec,
  IntGauge,
  IntGaugeVec,
} from '../dist/cjs/index.js'
import { AUTO, line, samples } from './metric-lines'

let rt: DistributedRuntime

beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
})

afterEach(async () => {
  await rt.shutdown()
})

describe('scalar metrics', () => {
  let ep: Endpoint
  beforeEach(() => {
    ep = rt.namespace('ns').component('comp').endpoint('ep')
  })
  const L = AUTO.endpoint

  it('Gauge: set get inc dec add sub', async () => {
    const g = ep.metrics.createGauge('g', 'A gauge')
    expect(g.get()).toBe(0)
    g.set(2.5)
    expect(g.get()).toBe(2.5)
    g.inc()
    expect(g.get()).toBe(3.5)
    g.dec()
    g.dec()
    expect(g.get()).toBe(1.5)
    g.add(10.25)
    expect(g.get()).toBe(11.75)
    g.sub(0.75)
    expect(g.get()).toBe(11)
    g.sub(20)
    expect(g.get()).toBe(-9)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_g', L, '-9'))
    g.set(0.125)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_g', L, '0.125'))
  })

  it('IntGauge: set get inc dec add sub', async () => {
    const g = ep.metrics.createIntGauge('ig', 'An int gauge')
    expect(g.get()).toBe(0)
    g.set(10)
    g.inc()
    expect(g.get()).toBe(11)
    g.dec()
    g.dec()
    expect(g.get()).toBe(9)
    g.add(5)
    expect(g.get()).toBe(14)
    g.sub(20)
    expect(g.get()).toBe(-6)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_ig', L, '-6'))
  })

  it('Counter: inc incBy get', async () => {
    const c = ep.metrics.createCounter('c_total', 'A counter')
    expect(c.get()).toBe(0)
    c.inc()
    c.incBy(2.5)
    c.incBy(0)
    expect(c.get()).toBe(3.5)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_c_total', L, '3.5'))
  })

  it('IntCounter: inc incBy get', async () => {
    const c = ep.metrics.createIntCounter('ic_total', 'An int counter')
    c.inc()
    c.inc()
    c.incBy(40)
    expect(c.get()).toBe(42)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_ic_total', L, '42'))
  })

  it('Counter: inc() counts on a 64-bit integer lane that carries past 2^32 and adds to incBy amounts', async () => {
    const c = ep.metrics.createCounter('lane_total', 'A counter')
    for (let i = 0; i < 1000; i++) c.inc()
    c.incBy(0.5)
    expect(c.get()).toBe(1000.5)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_lane_total', L, '1000.5'))
    // Counting to 2^32 takes seconds, so start the lane's low half just below it: white-box on
    // purpose, the carry is what is tested.
    const lane = c as unknown as { lanes: Uint32Array; lane: number }
    lane.lanes[lane.lane] = 0xffffffff
    lane.lanes[lane.lane + 1] = 0
    c.inc()
    expect(lane.lanes[lane.lane]).toBe(0)
    expect(c.get()).toBe(2 ** 32 + 0.5)
    c.inc()
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_lane_total', L, String(2 ** 32 + 1.5)))
    const ic = ep.metrics.createIntCounter('lane_int_total', 'An int counter')
    ic.inc()
    ic.incBy(2)
    expect(ic.get()).toBe(3)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_lane_int_total', L, '3'))
  })

  it('Histogram: observe getCount getSum buckets', async () => {
    const h = ep.metrics.createHistogram('h_seconds', 'A histogram', { buckets: [0.1, 1] })
    expect(h.getCount()).toBe(0)
    expect(h.getSum()).toBe(0)
    h.observe(0.05)
    h.observe(0.5)
    h.observe(3)
    h.observe(1) // a value equal to a bound falls into that bucket (le is inclusive)
    expect(h.getCount()).toBe(4)
    expect(h.getSum()).toBeCloseTo(4.55, 12)
    expect(h.buckets).toEqual([0.1, 1])
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(
      line('dynamo_component_h_seconds_bucket', L, '1', '0.1') +
        line('dynamo_component_h_seconds_bucket', L, '3', '1') +
        line('dynamo_component_h_seconds_bucket', L, '4', '+Inf') +
        line('dynamo_component_h_seconds_sum', L, '4.55') +
        line('dynamo_component_h_seconds_count', L, '4'),
    )
  })

  it('Histogram.buckets drops a trailing +Inf', () => {
    const h = ep.metrics.createHistogram('hinf', 'h', { buckets: [1, 2, Infinity] })
    expect(h.buckets).toEqual([1, 2])
  })

  it('Histogram.startTimer returns a function that observes the elapsed seconds and returns them', async () => {
    const h = ep.metrics.createHistogram('timer_seconds', 'Timer')
    const stop = h.startTimer()
    expect(typeof stop).toBe('function')
    expect(h.getCount()).toBe(0)
    const seconds = stop()
    expect(typeof seconds).toBe('number')
    expect(Number.isFinite(seconds)).toBe(true)
    expect(seconds).toBeGreaterThanOrEqual(0)
    expect(h.getCount()).toBe(1)
    expect(h.getSum()).toBe(seconds)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_timer_seconds_count', L, '1'))
  })
})

describe('Vec metrics', () => {
  let ep: Endpoint
  beforeEach(() => {
    ep = rt.namespace('ns').component('comp').endpoint('ep')
  })
  const L = AUTO.endpoint
  const w1 = { worker_id: 'w1', model: 'llama-3' }
  const w2 = { worker_id: 'w2', model: 'llama-3' }

  it('GaugeVec: set get inc dec add sub per label set', async () => {
    const v = ep.metrics.createGaugeVec('gv', 'Gauge vec', ['worker_id', 'model'] as const)
    v.set(5, w1)
    v.set(1.5, w2)
    v.inc(w1)
    v.dec(w2)
    v.add(2.25, w1)
    v.sub(0.25, w2)
    expect(v.get(w1)).toBe(8.25)
    expect(v.get(w2)).toBe(0.25)
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(line('dynamo_component_gv', { ...L, ...w1 }, '8.25'))
    expect(text).toContain(line('dynamo_component_gv', { ...L, ...w2 }, '0.25'))
  })

  it('IntGaugeVec: set get inc dec add sub', async () => {
    const v = ep.metrics.createIntGaugeVec('igv', 'Int gauge vec', ['worker_id', 'model'] as const)
    v.set(5, { worker_id: 'w1', model: 'llama-3' })
    v.inc(w1)
    v.add(10, w1)
    v.sub(3, w1)
    v.dec(w1)
    expect(v.get(w1)).toBe(12)
    v.sub(4, w2)
    expect(v.get(w2)).toBe(-4)
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(line('dynamo_component_igv', { ...L, ...w1 }, '12'))
    expect(text).toContain(line('dynamo_component_igv', { ...L, ...w2 }, '-4'))
  })

  it('CounterVec: inc incBy get', async () => {
    const v = ep.metrics.createCounterVec('cv_total', 'Counter vec', ['worker_id', 'model'] as const)
    v.inc(w1)
    v.incBy(3, w1)
    v.incBy(0.5, w2)
    expect(v.get(w1)).toBe(4)
    expect(v.get(w2)).toBe(0.5)
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(line('dynamo_component_cv_total', { ...L, ...w1 }, '4'))
    expect(text).toContain(line('dynamo_component_cv_total', { ...L, ...w2 }, '0.5'))
  })

  it('IntCounterVec: inc incBy get', async () => {
    const v = ep.metrics.createIntCounterVec('icv_total', 'Int counter vec', ['worker_id', 'model'] as const)
    v.inc(w1)
    v.incBy(3, w1)
    v.incBy(7, w2)
    expect(v.get(w1)).toBe(4)
    expect(v.get(w2)).toBe(7)
    expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_icv_total', { ...L, ...w2 }, '7'))
  })

  it('HistogramVec: observe getCount getSum startTimer buckets', async () => {
    const v = ep.metrics.createHistogramVec('hv_seconds', 'Histogram vec', ['model'] as const, { buckets: [0.5, 1] })
    v.observe(0.2, { model: 'a' })
    v.observe(0.7, { model: 'a' })
    v.observe(5, { model: 'b' })
    expect(v.getCount({ model: 'a' })).toBe(2)
    expect(v.getSum({ model: 'a' })).toBeCloseTo(0.9, 12)
    expect(v.getCount({ model: 'b' })).toBe(1)
    expect(v.getSum({ model: 'b' })).toBe(5)
    expect(v.buckets).toEqual([0.5, 1])
    const stop = v.startTimer({ model: 'c' })
    const s = stop()
    expect(s).toBeGreaterThanOrEqual(0)
    expect(v.getCount({ model: 'c' })).toBe(1)
    expect(v.getSum({ model: 'c' })).toBe(s)
    const text = await ep.prometheusMetricsFmt()
    const a = { ...L, model: 'a' }
    expect(text).toContain(
      line('dynamo_component_hv_seconds_bucket', a, '1', '0.5') +
        line('dynamo_component_hv_seconds_bucket', a, '2', '1') +
        line('dynamo_component_hv_seconds_bucket', a, '2', '+Inf') +
        line('dynamo_component_hv_seconds_sum', a, '0.8999999999999999') +
        line('dynamo_component_hv_seconds_count', a, '2'),
    )
    expect(text).toContain(line('dynamo_component_hv_seconds_bucket', { ...L, model: 'b' }, '0', '1'))
    expect(text).toContain(line('dynamo_component_hv_seconds_bucket', { ...L, model: 'b' }, '1', '+Inf'))
  })

  it('properties: name, constLabels (with auto labels), labelNames in declaration order', () => {
    const v = ep.metrics.createIntGaugeVec('props', 'Props', ['worker_id', 'model'] as const, { zone: 'z1' })
    expect(v.name).toBe('dynamo_component_props')
    expect(v.constLabels).toEqual({ ...L, zone: 'z1' })
    expect(v.labelNames).toEqual(['worker_id', 'model'])
    const child = v.labels(w1)
    expect(child.name).toBe('dynamo_component_props')
    expect(child.constLabels).toEqual({ ...L, zone: 'z1' })
  })

  it('a labels object with an inherited enumerable key addresses the one series of its own keys', async () => {
    const v = ep.metrics.createCounterVec('inherited_total', 'Inherited', ['worker_id', 'model'] as const)
    const l = Object.assign(Object.create({ extra: 'x' }) as object, { worker_id: 'w1', model: 'm' }) as {
      worker_id: string
      model: string
    }
    v.inc(l)
    v.inc(l)
    v.inc({ worker_id: 'w1', model: 'm' })
    expect(v.get({ worker_id: 'w1', model: 'm' })).toBe(3)
    const lines = samples(await ep.prometheusMetricsFmt(), 'dynamo_component_inherited_total')
    expect(lines.map((x) => `${x}\n`)).toEqual([line('dynamo_component_inherited_total', { ...L, model: 'm', worker_id: 'w1' }, '3')])
  })

  it('a labels getter is read once per call: the series is the one of the value read, never a duplicate', async () => {
    const v = ep.metrics.createCounterVec('getter_total', 'Getter', ['worker_id', 'model'] as const)
    v.inc({ worker_id: 'w1', model: 'm' })
    v.inc({ worker_id: 'w2', model: 'm' })
    // First call: the resolver misses with 'w3' and the series of 'w3' is created from that one read.
    // Second call: the getter answers 'w1', an existing series.
    let reads = 0
    const l = {
      get worker_id(): string {
        reads++
        return reads === 1 ? 'w3' : 'w1'
      },
      model: 'm',
    }
    v.inc(l)
    expect(reads).toBe(1)
    v.inc(l)
    expect(reads).toBe(2)
    expect(v.get({ worker_id: 'w1', model: 'm' })).toBe(2)
    expect(v.get({ worker_id: 'w3', model: 'm' })).toBe(1)
    const lines = samples(await ep.prometheusMetricsFmt(), 'dynamo_component_getter_total')
    expect(lines).toHaveLength(3)
  })

  it('labels with the keys in another order address the same series', () => {
    const v = ep.metrics.createGaugeVec('order', 'Order', ['worker_id', 'model'] as const)
    v.set(3, { worker_id: 'w1', model: 'm' })
    expect(v.get({ model: 'm', worker_id: 'w1' })).toBe(3)
    expect(v.labels({ model: 'm', worker_id: 'w1' })).toBe(v.labels({ worker_id: 'w1', model: 'm' }))
  })

  it('number label values are rendered as text and equal their string form', async () => {
    const v = ep.metrics.createGaugeVec('num', 'Num', ['rank'] as const)
    v.set(4, { rank: 1 })
    expect(v.get({ rank: '1' })).toBe(4)
    expect(v.labels({ rank: 1 })).toBe(v.labels({ rank: '1' }))
    v.set(2, { rank: 2.5 })
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(line('dynamo_component_num', { ...L, rank: '1' }, '4'))
    expect(text).toContain(line('dynamo_component_num', { ...L, rank: '2.5' }, '2'))
  })

  describe('labels() returns a bound child with the scalar methods', () => {
    it('GaugeVec → Gauge, same object for the same labels', async () => {
      const v = ep.metrics.createGaugeVec('bg', 'Bound gauge', ['worker_id', 'model'] as const)
      const c = v.labels(w1)
      expect(c).toBeInstanceOf(Gauge)
      expect(v.labels({ worker_id: 'w1', model: 'llama-3' })).toBe(c)
      expect(v.labels(w2)).not.toBe(c)
      c.set(2)
      c.inc()
      c.dec()
      c.add(5)
      c.sub(1.5)
      expect(c.get()).toBe(5.5)
      expect(v.get(w1)).toBe(5.5)
      v.add(1, w1)
      expect(c.get()).toBe(6.5)
      expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_bg', { ...L, ...w1 }, '6.5'))
    })

    it('IntGaugeVec → IntGauge', () => {
      const v = ep.metrics.createIntGaugeVec('big', 'Bound int gauge', ['worker_id', 'model'] as const)
      const c = v.labels(w1)
      expect(c).toBeInstanceOf(IntGauge)
      expect(v.labels(w1)).toBe(c)
      c.set(3)
      c.add(4)
      c.sub(1)
      c.inc()
      expect(v.get(w1)).toBe(7)
    })

    it('CounterVec → Counter', async () => {
      const v = ep.metrics.createCounterVec('bc_total', 'Bound counter', ['worker_id', 'model'] as const)
      const c = v.labels(w2)
      expect(c).toBeInstanceOf(Counter)
      expect(v.labels(w2)).toBe(c)
      c.inc()
      c.incBy(1.5)
      expect(c.get()).toBe(2.5)
      expect(v.get(w2)).toBe(2.5)
      expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_bc_total', { ...L, ...w2 }, '2.5'))
    })

    it('IntCounterVec → IntCounter', () => {
      const v = ep.metrics.createIntCounterVec('bic_total', 'Bound int counter', ['worker_id', 'model'] as const)
      const c = v.labels(w1)
      expect(c).toBeInstanceOf(IntCounter)
      expect(v.labels(w1)).toBe(c)
      c.inc()
      c.incBy(9)
      expect(v.get(w1)).toBe(10)
    })

    it('HistogramVec → Histogram', async () => {
      const v = ep.metrics.createHistogramVec('bh_seconds', 'Bound histogram', ['model'] as const, { buckets: [1] })
      const c = v.labels({ model: 'x' })
      expect(c).toBeInstanceOf(Histogram)
      expect(v.labels({ model: 'x' })).toBe(c)
      expect(c.buckets).toEqual([1])
      c.observe(0.5)
      c.observe(2)
      expect(c.getCount()).toBe(2)
      expect(c.getSum()).toBe(2.5)
      expect(v.getCount({ model: 'x' })).toBe(2)
      const t = c.startTimer()()
      expect(c.getSum()).toBe(2.5 + t)
      expect(c.getCount()).toBe(3)
      const text = await ep.prometheusMetricsFmt()
      expect(text).toContain(line('dynamo_component_bh_seconds_count', { ...L, model: 'x' }, '3'))
    })
  })

  describe('remove()', () => {
    it('returns true for an existing series and false afterwards or for an unknown one', () => {
      const v = ep.metrics.createIntGaugeVec('rm', 'Remove', ['worker_id', 'model'] as const)
      v.set(1, w1)
      expect(v.remove(w2)).toBe(false)
      expect(v.remove(w1)).toBe(true)
      expect(v.remove(w1)).toBe(false)
    })

    it('the series disappears from the output; the others stay', async () => {
      const v = ep.metrics.createIntGaugeVec('rm2', 'Remove', ['worker_id', 'model'] as const)
      v.set(5, w1)
      v.set(6, w2)
      v.remove(w1)
      const text = await ep.prometheusMetricsFmt()
      expect(text).not.toContain(line('dynamo_component_rm2', { ...L, ...w1 }, '5'))
      expect(text).not.toContain('worker_id="w1"')
      expect(text).toContain(line('dynamo_component_rm2', { ...L, ...w2 }, '6'))
      expect(samples(text, 'dynamo_component_rm2')).toHaveLength(1)
    })

    it('a later write with the same labels starts a fresh series at 0', async () => {
      const v = ep.metrics.createCounterVec('rm3_total', 'Remove', ['worker_id', 'model'] as const)
      v.incBy(10, w1)
      expect(v.remove(w1)).toBe(true)
      v.inc(w1)
      expect(v.get(w1)).toBe(1)
      expect(await ep.prometheusMetricsFmt()).toContain(line('dynamo_component_rm3_total', { ...L, ...w1 }, '1'))
    })

    it('a bound child obtained before the remove is detached', async () => {
      const v = ep.metrics.createGaugeVec('rm4', 'Remove', ['worker_id', 'model'] as const)
      const old = v.labels(w1)
      old.set(5)
      expect(v.remove(w1)).toBe(true)
      old.set(99)
      old.inc()
      let text = await ep.prometheusMetricsFmt()
      expect(text).not.toContain('dynamo_component_rm4')
      // A fresh series under the same labels is not fed by the old child.
      const fresh = v.labels(w1)
      expect(fresh).not.toBe(old)
      expect(fresh.get()).toBe(0)
      old.add(7)
      expect(v.get(w1)).toBe(0)
      fresh.set(2)
      text = await ep.prometheusMetricsFmt()
      expect(text).toContain(line('dynamo_component_rm4', { ...L, ...w1 }, '2'))
      expect(samples(text, 'dynamo_component_rm4')).toEqual([line('dynamo_component_rm4', { ...L, ...w1 }, '2').trimEnd()])
    })

    it('works for HistogramVec: the series is gone and restarts empty', async () => {
      const v = ep.metrics.createHistogramVec('rm5_seconds', 'Remove', ['model'] as const, { buckets: [1] })
      const child = v.labels({ model: 'a' })
      v.observe(0.5, { model: 'a' })
      v.observe(0.5, { model: 'b' })
      expect(v.remove({ model: 'a' })).toBe(true)
      child.observe(0.1)
      let text = await ep.prometheusMetricsFmt()
      expect(text).not.toContain('model="a"')
      expect(text).toContain(line('dynamo_component_rm5_seconds_count', { ...L, model: 'b' }, '1'))
      expect(v.getCount({ model: 'a' })).toBe(0)
      v.observe(2, { model: 'a' })
      text = await ep.prometheusMetricsFmt()
      expect(text).toContain(line('dynamo_component_rm5_seconds_bucket', { ...L, model: 'a' }, '0', '1'))
      expect(text).toContain(line('dynamo_component_rm5_seconds_sum', { ...L, model: 'a' }, '2'))
      expect(text).toContain(line('dynamo_component_rm5_seconds_count', { ...L, model: 'a' }, '1'))
    })
  })

  it('thousands of series (more than one slab of slots) each keep their own value', async () => {
    const g = ep.metrics.createGaugeVec('many', 'Many', ['i'] as const)
    const h = ep.metrics.createHistogramVec('many_seconds', 'Many', ['i'] as const, { buckets: [1] })
    const n = 5000
    for (let i = 0; i < n; i++) {
      g.set(i, { i })
      h.observe(i, { i })
    }
    const wrong: number[] = []
    for (let i = 0; i < n; i++) {
      if (g.get({ i }) !== i || h.getSum({ i }) !== i || h.getCount({ i }) !== 1) wrong.push(i)
    }
    expect(wrong).toEqual([])
    const text = await ep.prometheusMetricsFmt()
    expect(samples(text, 'dynamo_component_many')).toHaveLength(n)
    expect(samples(text, 'dynamo_component_many_seconds')).toHaveLength(4 * n)
    expect(text).toContain(line('dynamo_component_many', { ...L, i: '4999' }, '4999'))
    expect(text).toContain(line('dynamo_component_many_seconds_sum', { ...L, i: '4999' }, '4999'))
  })

  it("a detached child does not write into another family's series that reuses the freed slots", async () => {
    const a = ep.metrics.createHistogramVec('reuse_a', 'Reuse', ['k'] as const, { buckets: [1, 2, 3] })
    a.observe(5, { k: 'x' })
    const stale = a.labels({ k: 'x' })
    expect(a.remove({ k: 'x' })).toBe(true)
    const b = ep.metrics.createGaugeVec('reuse_b', 'Reuse', ['k'] as const)
    for (let i = 0; i < 8; i++) b.set(1, { k: String(i) })
    stale.observe(100)
    stale.observe(0.5)
    for (let i = 0; i < 8; i++) expect(b.get({ k: String(i) })).toBe(1)
    const text = await ep.prometheusMetricsFmt()
    expect(text).not.toContain('dynamo_component_reuse_a')
    expect(samples(text, 'dynamo_component_reuse_b').every((l) => l.endsWith(' 1'))).toBe(true)
    expect(samples(text, 'dynamo_component_reuse_b')).toHaveLength(8)
  })

  it('label sets sharing a prefix stay distinct through writes, removes and re-creation', async () => {
    const v = ep.metrics.createIntGaugeVec('prefix', 'Prefix', ['a', 'b', 'c'] as const)
    v.set(1, { a: '1', b: '2', c: '3' })
    v.set(2, { a: '1', b: '2', c: '4' })
    v.set(3, { a: '1', b: '5', c: '3' })
    expect(v.remove({ a: '1', b: '2', c: '3' })).toBe(true)
    expect(v.get({ a: '1', b: '2', c: '4' })).toBe(2)
    expect(v.get({ a: '1', b: '5', c: '3' })).toBe(3)
    expect(v.remove({ a: '1', b: '2', c: '4' })).toBe(true)
    expect(v.remove({ a: '1', b: '2', c: '4' })).toBe(false)
    v.set(9, { a: '1', b: '2', c: '3' })
    const text = await ep.prometheusMetricsFmt()
    expect(samples(text, 'dynamo_component_prefix').sort()).toEqual(
      [line('dynamo_component_prefix', { ...L, a: '1', b: '2', c: '3' }, '9'), line('dynamo_component_prefix', { ...L, a: '1', b: '5', c: '3' }, '3')]
        .map((l) => l.trimEnd())
        .sort(),
    )
  })

  it('label values containing NUL characters do not collide', () => {
    const v = ep.metrics.createGaugeVec('nul', 'Nul', ['x', 'y'] as const)
    v.set(1, { x: 'a\0', y: 'b' })
    v.set(2, { x: 'a', y: '\0b' })
    v.set(3, { x: 'a', y: 'b' })
    expect(v.get({ x: 'a\0', y: 'b' })).toBe(1)
    expect(v.get({ x: 'a', y: '\0b' })).toBe(2)
    expect(v.get({ x: 'a', y: 'b' })).toBe(3)
  })

  describe('reset()', () => {
    it('removes every series; the family is no longer printed', async () => {
      const v = ep.metrics.createIntCounterVec('rs_total', 'Reset', ['worker_id', 'model'] as const)
      v.incBy(3, w1)
      v.incBy(4, w2)
      expect(await ep.prometheusMetricsFmt()).toContain('dynamo_component_rs_total')
      v.reset()
      expect(await ep.prometheusMetricsFmt()).not.toContain('dynamo_component_rs_total')
    })

    it('later writes start fresh series and old bound children are detached', async () => {
      const v = ep.metrics.createGaugeVec('rs2', 'Reset', ['worker_id', 'model'] as const)
      const old = v.labels(w1)
      old.set(8)
      v.set(9, w2)
      v.reset()
      old.set(100)
      expect(v.get(w2)).toBe(0)
      v.inc(w1)
      expect(v.get(w1)).toBe(1)
      expect(v.labels(w1)).not.toBe(old)
      const text = await ep.prometheusMetricsFmt()
      expect(text).toContain(line('dynamo_component_rs2', { ...L, ...w1 }, '1'))
      expect(text).toContain(line('dynamo_component_rs2', { ...L, ...w2 }, '0'))
      expect(samples(text, 'dynamo_component_rs2')).toHaveLength(2)
    })

    it('reset on a HistogramVec clears counts and sums', async () => {
      const v = ep.metrics.createHistogramVec('rs3_seconds', 'Reset', ['model'] as const)
      v.observe(1, { model: 'a' })
      v.reset()
      expect(await ep.prometheusMetricsFmt()).not.toContain('dynamo_component_rs3_seconds')
      expect(v.getCount({ model: 'a' })).toBe(0)
      expect(v.getSum({ model: 'a' })).toBe(0)
    })
  })
})
