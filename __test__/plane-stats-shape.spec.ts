// component.scrapeStats() returns one shape on both planes: the same fields with the same types,
// in-process (this process's own stats) and over NATS (the `$SRV.STATS` answers).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DistributedRuntime, type JsonValue, type ServiceStats } from '../dist/cjs/index.js'
import { findNatsServer, NatsServer } from './nats-server'
import { outcome } from './fixtures/plane-helpers'
import { uniqueNamespace } from './fixtures/plane-cases'

const NATS_BIN = findNatsServer()
if (NATS_BIN === null && process.env.CI === 'true') {
  throw new Error('nats-server is not installed, and CI=true requires the NATS tests: apt-get install nats-server')
}

/** Field name -> typeof, recursively, for comparing shapes. */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shapeOf)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, k === 'data' ? 'data' : shapeOf(x)]))
  }
  return typeof v
}

async function traffic(natsServer: string | undefined): Promise<{ stats: ServiceStats[]; instanceId: string }> {
  const rt = await DistributedRuntime.create({ systemEnabled: false, natsServer })
  try {
    const ns = uniqueNamespace('stats')
    const comp = rt.namespace(ns).component('comp')
    const ep = comp.endpoint('gen')
    const served = await ep.serveEndpoint(
      (r: JsonValue) => {
        if (r === 'fail') throw new Error('boom')
        return r
      },
      { statsHandler: () => ({ load: 0.5 }) },
    )
    const client = ep.client()
    await client.waitForInstances(5000)
    await outcome(client.generate(1))
    await outcome(client.generate('fail'))
    const stats = await comp.scrapeStats(natsServer === undefined ? 100 : 500)
    return { stats, instanceId: served.instanceId }
  } finally {
    await rt.shutdown()
  }
}

describe('scrapeStats() shape', () => {
  let nats: NatsServer | undefined
  beforeAll(async () => {
    if (NATS_BIN !== null) nats = await NatsServer.start()
  })
  afterAll(async () => {
    await nats?.stop()
  })
  afterEach(() => {
    delete process.env.NATS_SERVER
  })

  it('in-process: every documented field, typed, with this instance\'s counts and last error', async () => {
    const { stats, instanceId } = await traffic(undefined)
    expect(stats).toHaveLength(1)
    const s = stats[0]
    expect(Object.keys(s).sort()).toEqual(['endpoints', 'id', 'name', 'started', 'version'])
    expect(s.id).toBe(instanceId)
    expect(Object.keys(s.endpoints[0]).sort()).toEqual([
      'average_processing_time',
      'data',
      'last_error',
      'name',
      'num_errors',
      'num_requests',
      'processing_time',
      'queue_group',
      'subject',
    ])
    expect(Number.isNaN(Date.parse(s.started))).toBe(false)
    const ep = s.endpoints[0]
    expect(ep.subject).toBe(`${s.name}.gen-${instanceId}`)
    expect(ep.num_requests).toBe(2)
    expect(ep.num_errors).toBe(1)
    expect(ep.last_error).toBe('500:boom')
    expect(ep.data).toEqual({ load: 0.5 })
  })

  it.skipIf(NATS_BIN === null)('over NATS: the same fields and types as in-process, and the same counts', async () => {
    const local = await traffic(undefined)
    const remote = await traffic(nats!.url)
    expect(remote.stats).toHaveLength(1)
    expect(shapeOf(remote.stats)).toEqual(shapeOf(local.stats))
    const ep = remote.stats[0].endpoints[0]
    // NATS names the service instance itself; the endpoint's instance id is in its subject.
    expect(remote.stats[0].id).not.toBe('')
    expect(ep.subject).toBe(`${remote.stats[0].name}.gen-${remote.instanceId}`)
    expect(ep.num_requests).toBe(2)
    expect(ep.num_errors).toBe(1)
    expect(ep.last_error).toBe('500:boom')
    expect(ep.data).toEqual({ load: 0.5 })
  })
})
