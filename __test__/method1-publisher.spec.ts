// WorkerMetricsPublisher over a real nats-server: the debounce rule as a plain NATS subscriber
// sees it, the load_metrics stats, the kvstats gauges, and kv-hit-rate events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DistributedRuntime, WorkerMetricsPublisher, publishKvHitRate } from '../dist/cjs/index.js'
import { NatsLink, NatsServer } from './nats-server'
import { fpm, requireProgram, uniqueNs, until } from './method1-helpers'
import { RawNats } from './fixtures/raw-nats'
import { sample } from './util'

const NATS_BIN = requireProgram('nats-server', 'the Method 1 publisher tests')

/** Spins for `us` microseconds (the publishes must be 100 µs apart, closer than any timer). */
function spin(us: number): void {
  const end = performance.now() + us / 1000
  while (performance.now() < end) {
    // busy
  }
}

describe.skipIf(NATS_BIN === null)('WorkerMetricsPublisher over NATS', () => {
  let nats: NatsServer
  let rt: DistributedRuntime
  let raw: RawNats
  const ns = uniqueNs('pub')

  beforeAll(async () => {
    nats = await NatsServer.start()
    rt = await DistributedRuntime.create({ natsServer: nats.url, systemEnabled: false })
    raw = await RawNats.connect(nats.url)
    await raw.subscribe(`namespace.${ns}.>`)
  })

  afterAll(async () => {
    raw?.close()
    await rt?.shutdown()
    await nats?.stop()
  })

  it('sends one LoadEvent with the last values for ten publishes 100 µs apart, none for other-field changes', async () => {
    const pub = new WorkerMetricsPublisher()
    await pub.createEndpoint(rt.namespace(ns).component('debounce'))
    const subject = `namespace.${ns}.kv_metrics`
    const events = (): { worker_id: string; data: { kv_stats: { kv_active_blocks: number }; worker_stats: { num_requests_waiting: number } } }[] =>
      raw.messages.filter((m) => m.subject === subject).map((m) => JSON.parse(m.text))
    for (let i = 1; i <= 10; i++) {
      pub.publish(fpm({ kvActiveBlocks: (i - 1) * 100, numRequestsWaiting: (i - 1) * 10 }))
      spin(100)
    }
    // Dynamo's test values: the last publish has kv_active_blocks 900 and num_requests_waiting 90.
    await until('the event', 2000, () => (events().length > 0 ? true : undefined))
    await new Promise((r) => setTimeout(r, 100))
    await raw.ping()
    expect(events().length).toBe(1)
    expect(events()[0].data.kv_stats.kv_active_blocks).toBe(900)
    expect(events()[0].data.worker_stats.num_requests_waiting).toBe(90)
    // The id is an i64: read it from the text (JSON.parse would round it).
    const rawEvent = raw.messages.find((m) => m.subject === subject)!.text
    expect(/^\{"worker_id":(\d+),"data":/.exec(rawEvent)?.[1]).toBe(pub.workerId)

    for (let i = 1; i <= 10; i++) {
      pub.publish(fpm({ kvActiveBlocks: 900, numRequestsWaiting: 90, requestActiveSlots: i, gpuCacheUsagePerc: i / 10 }))
      spin(100)
    }
    await new Promise((r) => setTimeout(r, 200))
    await raw.ping()
    expect(events().length).toBe(1)
    await pub.stop()
  })

  it('keeps only the newest LoadEvent while NATS is unreachable, and counts each one it replaced', async () => {
    // The publisher's runtime reaches NATS through a link the test cuts; `raw` stays subscribed.
    const link = await NatsLink.open(nats)
    const behind = await DistributedRuntime.create({ natsServer: link.url, systemEnabled: false })
    try {
      const comp = behind.namespace(ns).component('outage')
      const pub = new WorkerMetricsPublisher()
      await pub.createEndpoint(comp)
      const L = `{dynamo_component="outage",dynamo_namespace="${ns}"}`
      const dropped = async () => sample(await comp.prometheusMetricsFmt(), 'dynamo_component_kvstats_load_events_dropped_total', L)
      expect(await dropped()).toBe(0)
      expect(await comp.prometheusMetricsFmt()).toContain(
        '# HELP dynamo_component_kvstats_load_events_dropped_total LoadEvents not sent: replaced by a newer one while NATS was unreachable, or unsent at stop\n',
      )
      const subject = `namespace.${ns}.kv_metrics`
      const mine = (from: number) =>
        raw.messages
          .slice(from)
          .filter((m) => m.subject === subject && m.text.startsWith(`{"worker_id":${pub.workerId},`))
          .map((m) => (JSON.parse(m.text) as { data: { kv_stats: { kv_active_blocks: number } } }).data.kv_stats.kv_active_blocks)
      pub.publish(fpm({ kvActiveBlocks: 1 }))
      await until('the event before the outage', 5000, () => (mine(0).includes(1) ? true : undefined))

      await link.cut()
      const cutAt = raw.messages.length
      // Until the publisher sees the outage an event may still enter the NATS client's buffer
      // (sent on reconnect); once it sees it, the second change replaces the first.
      let probe = 100
      await until('a first replaced event', 10_000, async () => {
        pub.publish(fpm({ kvActiveBlocks: probe++ }))
        await new Promise((r) => setTimeout(r, 5))
        return (await dropped())! >= 1 ? true : undefined
      })
      const base = (await dropped())!
      const N = 5
      for (let i = 1; i <= N; i++) {
        pub.publish(fpm({ kvActiveBlocks: 1000 + i }))
        await until(`replacement ${i}`, 5000, async () => ((await dropped()) === base + i ? true : undefined))
      }

      await link.restore()
      // On reconnect only the newest of the changes made while unreachable goes.
      await until('the newest event after the outage', 15_000, () => (mine(cutAt).includes(1000 + N) ? true : undefined))
      await raw.ping()
      const after = mine(cutAt)
      expect(after[after.length - 1]).toBe(1000 + N)
      for (let i = 1; i < N; i++) expect(after).not.toContain(1000 + i)
      expect(await dropped()).toBe(base + N)

      // A change still held when the publisher stops never goes: counted too.
      await link.cut()
      let more = 2000
      await until('a replaced event in the second outage', 10_000, async () => {
        pub.publish(fpm({ kvActiveBlocks: more++ }))
        await new Promise((r) => setTimeout(r, 5))
        return (await dropped())! > base + N ? true : undefined
      })
      const held = (await dropped())!
      await pub.stop()
      expect(await dropped()).toBe(held + 1)
    } finally {
      await behind.shutdown()
      await link.cut()
    }
  }, 40_000)

  it('a refused publish() leaves the pending values as they were', async () => {
    const pub = new WorkerMetricsPublisher()
    await pub.createEndpoint(rt.namespace(ns).component('refused'))
    const before = raw.messages.length
    pub.publish(fpm({ kvActiveBlocks: 5, numRequestsWaiting: 1 }))
    // Good counts first, a bad fraction later: refused as a whole, nothing of it kept.
    const bad = { ...fpm({ kvActiveBlocks: 9, numRequestsWaiting: 2 }), specDecodeStats: { numDrafts: 1 } }
    bad.kvStats.gpuCacheUsagePerc = 2
    expect(() => pub.publish(bad)).toThrow(/'kvStats.gpuCacheUsagePerc'/)
    const ev = await until('the event', 2000, () => raw.messages.slice(before).find((m) => m.subject === `namespace.${ns}.kv_metrics`))
    expect(JSON.parse(ev.text).data.kv_stats.kv_active_blocks).toBe(5)
    expect(JSON.parse(ev.text).data.spec_decode_stats).toBe(null)
    await pub.stop()
  })

  it('serves load_metrics whose stats are the latest metrics, and sets the kvstats gauges', async () => {
    const comp = rt.namespace(ns).component('stats')
    const pub = new WorkerMetricsPublisher()
    await pub.createEndpoint(comp)
    pub.publish(fpm({ kvActiveBlocks: 42, kvTotalBlocks: 12894, gpuCacheUsagePerc: 0.5, gpuPrefixCacheHitRate: 0.75, requestActiveSlots: 3 }))
    const text = await comp.prometheusMetricsFmt()
    expect(sample(text, 'dynamo_component_kvstats_active_blocks', `{dynamo_component="stats",dynamo_namespace="${ns}"}`)).toBe(42)
    expect(sample(text, 'dynamo_component_kvstats_total_blocks', `{dynamo_component="stats",dynamo_namespace="${ns}"}`)).toBe(12894)
    expect(sample(text, 'dynamo_component_kvstats_gpu_cache_usage_percent', `{dynamo_component="stats",dynamo_namespace="${ns}"}`)).toBe(0.5)
    expect(sample(text, 'dynamo_component_kvstats_gpu_prefix_cache_hit_rate', `{dynamo_component="stats",dynamo_namespace="${ns}"}`)).toBe(0.75)
    expect(text).toContain('# HELP dynamo_component_kvstats_active_blocks Number of active KV cache blocks currently in use\n')
    const data = await until('stats data', 3000, async () => {
      const stats = await comp.scrapeStats(200)
      const ep = stats.flatMap((s) => s.endpoints).find((e) => e.name === 'load_metrics')
      return (ep?.data as { kv_stats?: { kv_active_blocks: number } } | undefined)?.kv_stats?.kv_active_blocks === 42 ? ep : undefined
    })
    expect(data.subject).toMatch(new RegExp(`^${ns}_stats\\.load_metrics-[0-9a-f]{16}$`))
    expect(BigInt(`0x${data.subject.split('-').pop()}`).toString()).toBe(pub.workerId)
    expect(data.data).toEqual({
      worker_stats: { data_parallel_rank: null, request_active_slots: 3, request_total_slots: 1024, num_requests_waiting: 0 },
      kv_stats: { kv_active_blocks: 42, kv_total_blocks: 12894, gpu_cache_usage_perc: 0.5, gpu_prefix_cache_hit_rate: 0.75 },
      spec_decode_stats: null,
    })
    // A second publisher of this process on the component shares the gauges (last write wins).
    const pub2 = new WorkerMetricsPublisher()
    await pub2.createEndpoint(comp)
    pub2.publish(fpm({ kvActiveBlocks: 7 }))
    expect(sample(await comp.prometheusMetricsFmt(), 'dynamo_component_kvstats_active_blocks', `{dynamo_component="stats",dynamo_namespace="${ns}"}`)).toBe(7)
    expect(pub2.workerId).not.toBe(pub.workerId)
    await pub2.stop()
    await pub.stop()
  })

  it('publishKvHitRate sends Dynamo JSON to namespace.<ns>.kv-hit-rate', async () => {
    await publishKvHitRate(rt.namespace(ns), { workerId: '7587884888253033398', islBlocks: 12, overlapBlocks: 5 })
    const subject = `namespace.${ns}.kv-hit-rate`
    const msg = await until('the hit-rate event', 2000, () => raw.messages.find((m) => m.subject === subject))
    expect(msg.text).toBe('{"worker_id":7587884888253033398,"isl_blocks":12,"overlap_blocks":5}')
  })
})
