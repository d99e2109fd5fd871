// Every metric constructor on every hierarchy level: names, help, const and automatic labels, buckets.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  Counter,
  CounterVec,
  DEFAULT_BUCKETS,
  DistributedRuntime,
  Gauge,
  GaugeVec,
  Histogram,
  HistogramVec,
  IntCounter,
  IntCounterVec,
  IntGauge,
  IntGaugeVec,
} from '../dist/cjs/index.js'
import { AUTO, DEFAULTS, levelOf, line } from './metric-lines'

let rt: DistributedRuntime

beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
})

afterEach(async () => {
  await rt.shutdown()
})

describe.each(['runtime', 'namespace', 'component', 'endpoint'] as const)('constructors on the %s level', (which) => {
  const auto = AUTO[which]

  it('createCounter(name, help, constLabels object)', async () => {
    const lvl = levelOf(rt, which)
    const c = lvl.metrics.createCounter('requests_total', 'Total requests', { zone: 'us-east' })
    expect(c).toBeInstanceOf(Counter)
    expect(c.name).toBe('dynamo_component_requests_total')
    expect(c.constLabels).toEqual({ ...auto, zone: 'us-east' })
    expect(c.get()).toBe(0)
    c.inc()
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# HELP dynamo_component_requests_total Total requests\n# TYPE dynamo_component_requests_total counter\n')
    expect(text).toContain(line('dynamo_component_requests_total', { ...auto, zone: 'us-east' }, '1'))
  })

  it('createIntCounter(name, help, constLabels as [key, value] pairs)', async () => {
    const lvl = levelOf(rt, which)
    const c = lvl.metrics.createIntCounter('tokens_total', 'Total tokens', [
      ['model', 'llama-3'],
      ['a', 'first'],
    ])
    expect(c).toBeInstanceOf(IntCounter)
    expect(c.name).toBe('dynamo_component_tokens_total')
    expect(c.constLabels).toEqual({ ...auto, model: 'llama-3', a: 'first' })
    c.incBy(7)
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# TYPE dynamo_component_tokens_total counter\n')
    expect(text).toContain(line('dynamo_component_tokens_total', { ...auto, model: 'llama-3', a: 'first' }, '7'))
  })

  it('createGauge(name, help) without const labels', async () => {
    const lvl = levelOf(rt, which)
    const g = lvl.metrics.createGauge('temperature', 'Temperature')
    expect(g).toBeInstanceOf(Gauge)
    expect(g.name).toBe('dynamo_component_temperature')
    expect(g.constLabels).toEqual(auto)
    g.set(21.5)
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# HELP dynamo_component_temperature Temperature\n# TYPE dynamo_component_temperature gauge\n')
    expect(text).toContain(line('dynamo_component_temperature', auto, '21.5'))
  })

  it('createIntGauge(name, help, constLabels)', async () => {
    const lvl = levelOf(rt, which)
    const g = lvl.metrics.createIntGauge('slots', 'Slots', { kind: 'kv' })
    expect(g).toBeInstanceOf(IntGauge)
    expect(g.name).toBe('dynamo_component_slots')
    expect(g.constLabels).toEqual({ ...auto, kind: 'kv' })
    g.set(1024)
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# TYPE dynamo_component_slots gauge\n')
    expect(text).toContain(line('dynamo_component_slots', { ...auto, kind: 'kv' }, '1024'))
  })

  it('createHistogram(name, help) uses the default buckets', async () => {
    const lvl = levelOf(rt, which)
    const h = lvl.metrics.createHistogram('latency_seconds', 'Latency')
    expect(h).toBeInstanceOf(Histogram)
    expect(h.name).toBe('dynamo_component_latency_seconds')
    expect(h.constLabels).toEqual(auto)
    expect(h.buckets).toEqual(DEFAULTS)
    h.observe(0.3)
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# TYPE dynamo_component_latency_seconds histogram\n')
    expect(text).toContain(line('dynamo_component_latency_seconds_bucket', auto, '0', '0.25'))
    expect(text).toContain(line('dynamo_component_latency_seconds_bucket', auto, '1', '0.5'))
    expect(text).toContain(line('dynamo_component_latency_seconds_bucket', auto, '1', '+Inf'))
    expect(text).toContain(line('dynamo_component_latency_seconds_sum', auto, '0.3'))
    expect(text).toContain(line('dynamo_component_latency_seconds_count', auto, '1'))
  })

  it('createHistogram(name, help, { buckets, constLabels })', async () => {
    const lvl = levelOf(rt, which)
    const h = lvl.metrics.createHistogram('queue_seconds', 'Queue time', { buckets: [1, 2, 4], constLabels: [['q', 'main']] })
    expect(h.buckets).toEqual([1, 2, 4])
    expect(h.constLabels).toEqual({ ...auto, q: 'main' })
    h.observe(3)
    const text = await lvl.prometheusMetricsFmt()
    const labels = { ...auto, q: 'main' }
    expect(text).toContain(
      line('dynamo_component_queue_seconds_bucket', labels, '0', '1') +
        line('dynamo_component_queue_seconds_bucket', labels, '0', '2') +
        line('dynamo_component_queue_seconds_bucket', labels, '1', '4') +
        line('dynamo_component_queue_seconds_bucket', labels, '1', '+Inf') +
        line('dynamo_component_queue_seconds_sum', labels, '3') +
        line('dynamo_component_queue_seconds_count', labels, '1'),
    )
  })

  it('createCounterVec(name, help, labelNames, constLabels)', async () => {
    const lvl = levelOf(rt, which)
    const v = lvl.metrics.createCounterVec('errors_total', 'Errors', ['code'], { svc: 'api' })
    expect(v).toBeInstanceOf(CounterVec)
    expect(v.name).toBe('dynamo_component_errors_total')
    expect(v.constLabels).toEqual({ ...auto, svc: 'api' })
    expect(v.labelNames).toEqual(['code'])
    v.incBy(2.5, { code: '500' })
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# TYPE dynamo_component_errors_total counter\n')
    expect(text).toContain(line('dynamo_component_errors_total', { ...auto, svc: 'api', code: '500' }, '2.5'))
  })

  it('createIntCounterVec(name, help, labelNames)', async () => {
    const lvl = levelOf(rt, which)
    const v = lvl.metrics.createIntCounterVec('hits_total', 'Hits', ['cache'])
    expect(v).toBeInstanceOf(IntCounterVec)
    expect(v.constLabels).toEqual(auto)
    expect(v.labelNames).toEqual(['cache'])
    v.incBy(4, { cache: 'l1' })
    expect(await lvl.prometheusMetricsFmt()).toContain(line('dynamo_component_hits_total', { ...auto, cache: 'l1' }, '4'))
  })

  it('createGaugeVec(name, help, labelNames, constLabels pairs)', async () => {
    const lvl = levelOf(rt, which)
    const v = lvl.metrics.createGaugeVec('load', 'Load', ['worker_id'], [['pool', 'p1']])
    expect(v).toBeInstanceOf(GaugeVec)
    expect(v.constLabels).toEqual({ ...auto, pool: 'p1' })
    v.set(0.75, { worker_id: 'w1' })
    const text = await lvl.prometheusMetricsFmt()
    expect(text).toContain('# TYPE dynamo_component_load gauge\n')
    expect(text).toContain(line('dynamo_component_load', { ...auto, pool: 'p1', worker_id: 'w1' }, '0.75'))
  })

  it('createIntGaugeVec(name, help, labelNames)', async () => {
    const lvl = levelOf(rt, which)
    const v = lvl.metrics.createIntGaugeVec('active', 'Active', ['worker_id', 'model'] as const)
    expect(v).toBeInstanceOf(IntGaugeVec)
    expect(v.name).toBe('dynamo_component_active')
    expect(v.labelNames).toEqual(['worker_id', 'model'])
    v.set(5, { worker_id: 'w1', model: 'llama-3' })
    expect(await lvl.prometheusMetricsFmt()).toContain(
      line('dynamo_component_active', { ...auto, worker_id: 'w1', model: 'llama-3' }, '5'),
    )
  })

  it('createHistogramVec(name, help, labelNames, { buckets, constLabels })', async () => {
    const lvl = levelOf(rt, which)
    const v = lvl.metrics.createHistogramVec('ttft_seconds', 'TTFT', ['model'], { buckets: [0.5, 1], constLabels: { a: 'b' } })
    expect(v).toBeInstanceOf(HistogramVec)
    expect(v.buckets).toEqual([0.5, 1])
    expect(v.constLabels).toEqual({ ...auto, a: 'b' })
    expect(v.labelNames).toEqual(['model'])
    v.observe(0.7, { model: 'm' })
    const text = await lvl.prometheusMetricsFmt()
    const l = { ...auto, a: 'b', model: 'm' }
    expect(text).toContain(
      line('dynamo_component_ttft_seconds_bucket', l, '0', '0.5') +
        line('dynamo_component_ttft_seconds_bucket', l, '1', '1') +
        line('dynamo_component_ttft_seconds_bucket', l, '1', '+Inf') +
        line('dynamo_component_ttft_seconds_sum', l, '0.7') +
        line('dynamo_component_ttft_seconds_count', l, '1'),
    )
  })

  it('createHistogramVec without options uses the default buckets', () => {
    const v = levelOf(rt, which).metrics.createHistogramVec('dur_seconds', 'Duration', ['op'])
    expect(v.buckets).toEqual(DEFAULTS)
  })
})

describe('DEFAULT_BUCKETS export', () => {
  it('is the Prometheus default list', () => {
    expect([...DEFAULT_BUCKETS]).toEqual(DEFAULTS)
  })
})
