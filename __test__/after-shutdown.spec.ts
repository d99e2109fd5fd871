// What the README promises after runtime.shutdown(): writes through metric objects already held are
// accepted and go nowhere (no check on the hot path); calls that reach the Rust core throw
// RuntimeClosedError; a second shutdown() and setHealthStatus are accepted.
import { describe, expect, it } from 'vitest'
import { DistributedRuntime, RuntimeClosedError } from '../dist/cjs/index.js'

async function closedRuntime() {
  const rt = await DistributedRuntime.create({ systemEnabled: false })
  const ep = rt.namespace('ns').component('cp').endpoint('ep')
  const m = {
    rt,
    ep,
    gauge: ep.metrics.createGauge('g', 'a gauge'),
    intCounter: ep.metrics.createIntCounter('c', 'a counter'),
    histogram: ep.metrics.createHistogram('h', 'a histogram', { buckets: [1, 2] }),
    vec: ep.metrics.createGaugeVec('v', 'a gauge vec', ['a'] as const),
    counterVec: ep.metrics.createCounterVec('cv', 'a counter vec', ['a'] as const),
  }
  m.vec.set(1, { a: 'x' })
  const child = m.vec.labels({ a: 'y' })
  await rt.shutdown()
  return { ...m, child }
}

function expectClosed(f: () => unknown): void {
  let thrown: unknown
  try {
    f()
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(RuntimeClosedError)
  expect((thrown as RuntimeClosedError).code).toBe('ERR_DYNAMO_CLOSED')
}

describe('after shutdown()', () => {
  it('accepts writes through metric objects already held; get() returns the local value', async () => {
    const { gauge, intCounter, histogram, vec, counterVec, child } = await closedRuntime()
    gauge.set(5)
    gauge.inc()
    intCounter.inc()
    intCounter.incBy(2)
    histogram.observe(1.5)
    vec.set(2, { a: 'x' })
    vec.inc({ a: 'x' })
    child.set(4)
    expect(gauge.get()).toBe(6)
    expect(intCounter.get()).toBe(3)
    expect(histogram.getCount()).toBe(1)
    expect(histogram.getSum()).toBe(1.5)
    expect(vec.get({ a: 'x' })).toBe(3)
    expect(child.get()).toBe(4)
    void counterVec
  })

  it('throws RuntimeClosedError for a new series, whether or not its family has a reserved slot left', async () => {
    const { vec, counterVec } = await closedRuntime()
    // vec has slots reserved ahead (its second series took one), counterVec none: both refuse.
    expectClosed(() => vec.set(3, { a: 'new' }))
    expectClosed(() => counterVec.inc({ a: 'z' }))
    expectClosed(() => vec.labels({ a: 'other' }))
    // Refused means not created: asking again refuses again, and the series it has stay readable.
    expectClosed(() => vec.set(3, { a: 'new' }))
    expect(vec.get({ a: 'x' })).toBe(1)
  })

  it('throws RuntimeClosedError for every call that reaches the Rust core', async () => {
    const { rt, ep, vec } = await closedRuntime()
    expectClosed(() => ep.metrics.createGauge('g2', 'help'))
    expectClosed(() => ep.metrics.createIntCounter('c2', 'help'))
    expectClosed(() => ep.metrics.createHistogram('h2', 'help'))
    expectClosed(() => ep.metrics.createIntGaugeVec('v2', 'help', ['a']))
    expectClosed(() => rt.metrics.createGauge('g3', 'help'))
    expectClosed(() => rt.namespace('other'))
    expectClosed(() => rt.namespace('ns').component('other'))
    expectClosed(() => rt.namespace('ns').component('cp').endpoint('other'))
    expectClosed(() => ep.registerMetricsCallback(() => {}))
    expectClosed(() => vec.remove({ a: 'x' }))
    expectClosed(() => vec.reset())
    await expect(ep.prometheusMetricsFmt()).rejects.toBeInstanceOf(RuntimeClosedError)
    await expect(ep.serveEndpoint(async () => 'x')).rejects.toBeInstanceOf(RuntimeClosedError)
  })

  it('accepts a second shutdown() and setHealthStatus', async () => {
    const { rt } = await closedRuntime()
    await expect(rt.shutdown()).resolves.toBeUndefined()
    expect(() => rt.setHealthStatus('ready')).not.toThrow()
    expect(rt.systemStatusServer).toBeNull()
  })
})
