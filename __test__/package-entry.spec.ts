import { describe, expect, it } from 'vitest'
import { DistributedRuntime } from '../dist/cjs/index.js'

describe('package entry', () => {
  it('renders a metric created on an endpoint', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    const ep = rt.namespace('ns').component('backend').endpoint('generate')
    const g = ep.metrics.createIntGauge('request_total_slots', 'Total request slots available')
    g.set(1024)
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(
      'dynamo_component_request_total_slots{dynamo_component="backend",dynamo_endpoint="generate",dynamo_namespace="ns"} 1024\n',
    )
    await rt.shutdown()
  })
})
