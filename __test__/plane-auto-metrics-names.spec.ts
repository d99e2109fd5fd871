// A user metric that takes one of the automatic endpoint metrics' names: serveEndpoint says whose
// name it is and how to avoid the clash, and `autoMetrics: false` serves anyway.
import { afterEach, describe, expect, it } from 'vitest'
import { DistributedRuntime, MetricConflictError, type JsonValue } from '../dist/cjs/index.js'
import { collect } from './fixtures/plane-helpers'
import { uniqueNamespace } from './fixtures/plane-cases'

delete process.env.NATS_SERVER

describe('automatic endpoint metric names', () => {
  const runtimes: DistributedRuntime[] = []
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
  })

  async function endpoint(name: string) {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    return rt.namespace(uniqueNamespace('auto')).component('comp').endpoint(name)
  }

  for (const [name, create] of [
    ['requests_total', (ep: Awaited<ReturnType<typeof endpoint>>) => ep.metrics.createIntCounter('requests_total', 'my own count')],
    ['inflight_requests', (ep: Awaited<ReturnType<typeof endpoint>>) => ep.metrics.createGauge('inflight_requests', 'my gauge')],
  ] as const) {
    it(`a user metric named '${name}' makes serveEndpoint fail with MetricConflictError naming the automatic metrics and the way out`, async () => {
      const ep = await endpoint('gen')
      create(ep)
      const err = await ep.serveEndpoint((r: JsonValue) => r).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(MetricConflictError)
      const msg = (err as Error).message
      expect(msg).toContain(`'${name}'`)
      expect(msg).toContain('automatic endpoint metrics')
      expect(msg).toContain('autoMetrics: false')
      // The way out the message names works: serve without the automatic metrics.
      await ep.serveEndpoint((r: JsonValue) => r, { autoMetrics: false })
      expect(await collect(ep.client().generate(7))).toEqual([7])
    })
  }
})
