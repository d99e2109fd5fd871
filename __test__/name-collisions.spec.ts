// A family name may not collide with the sample names of another family: a gauge `lat_count`
// beside a histogram `lat` would write two `lat_count` lines, which promtool rejects and a real
// Prometheus resolves by silently dropping one. Rejected at creation, in either order.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Component, DistributedRuntime, MetricConflictError, MetricsError } from '../dist/cjs/index.js'

let rt: DistributedRuntime
let comp: Component

beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
  comp = rt.namespace('ns').component('comp')
})

afterEach(async () => {
  await rt.shutdown()
})

function expectConflict(fn: () => unknown, ...names: string[]): void {
  let caught: unknown
  try {
    fn()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(MetricConflictError)
  expect(caught).toBeInstanceOf(MetricsError)
  const err = caught as MetricConflictError
  expect(err.code).toBe('ERR_DYNAMO_METRIC_CONFLICT')
  for (const n of names) expect(err.message).toContain(n)
}

describe('a name that is another family\'s sample name', () => {
  for (const suffix of ['_count', '_sum', '_bucket', '_created']) {
    it(`gauge lat${suffix} after histogram lat`, async () => {
      comp.metrics.createHistogram('lat', 'Latency').observe(0.2)
      expectConflict(() => comp.metrics.createGauge(`lat${suffix}`, 'Gauge'), `dynamo_component_lat${suffix}`, 'dynamo_component_lat')
      // The histogram keeps working and the scrape stays one valid family.
      const text = await rt.prometheusMetricsFmt()
      expect(text).toContain('dynamo_component_lat_count{dynamo_component="comp",dynamo_namespace="ns"} 1\n')
      expect(text).not.toContain('# TYPE dynamo_component_lat' + suffix + ' gauge')
    })

    it(`histogram lat after gauge lat${suffix}`, async () => {
      comp.metrics.createIntGauge(`lat${suffix}`, 'Gauge').set(3)
      expectConflict(() => comp.metrics.createHistogram('lat', 'Latency'), `dynamo_component_lat${suffix}`, 'dynamo_component_lat')
      const text = await rt.prometheusMetricsFmt()
      expect(text).toContain(`dynamo_component_lat${suffix}{dynamo_component="comp",dynamo_namespace="ns"} 3\n`)
      expect(text).not.toContain('# TYPE dynamo_component_lat histogram')
    })
  }

  it('across levels too: a histogram on an endpoint, a gauge Vec on the runtime', () => {
    comp.endpoint('gen').metrics.createHistogramVec('wait', 'Wait', ['model'])
    expectConflict(() => rt.metrics.createGaugeVec('wait_bucket', 'Gauge', ['model']), 'dynamo_component_wait_bucket')
  })

  it('a histogram whose samples would include an existing histogram name', () => {
    comp.metrics.createHistogram('lat_sum', 'Sum histogram')
    expectConflict(() => comp.metrics.createHistogram('lat', 'Latency'), 'dynamo_component_lat_sum')
  })

  it('counter lat_total beside histogram lat (both would be family lat in OpenMetrics)', () => {
    comp.metrics.createHistogram('lat', 'Latency')
    expectConflict(() => comp.metrics.createCounter('lat_total', 'Counter'), 'dynamo_component_lat_created')
  })

  it('x_created beside counter x_total, both orders', () => {
    comp.metrics.createCounter('jobs_total', 'Jobs')
    expectConflict(() => comp.metrics.createGauge('jobs_created', 'Created'), 'dynamo_component_jobs_created', 'dynamo_component_jobs_total')
    comp.metrics.createIntGauge('tasks_created', 'Created')
    expectConflict(() => comp.metrics.createIntCounter('tasks_total', 'Tasks'), 'dynamo_component_tasks_created')
  })

  it('names that only look alike are accepted', async () => {
    comp.metrics.createHistogram('lat', 'Latency')
    comp.metrics.createGauge('lat_counts', 'Gauge').set(1)
    comp.metrics.createGauge('latency_count', 'Gauge').set(2)
    comp.metrics.createCounter('latency_total', 'Counter').inc()
    // The same histogram at another level merges as before.
    comp.endpoint('gen').metrics.createHistogram('lat', 'Latency').observe(1)
    const text = await rt.prometheusMetricsFmt()
    expect(text).toContain('dynamo_component_lat_counts{')
    expect(text).toContain('dynamo_component_latency_count{')
    expect(text.match(/# TYPE dynamo_component_lat histogram/g)).toHaveLength(1)
  })
})
