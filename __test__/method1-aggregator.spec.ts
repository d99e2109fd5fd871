// KvMetricsAggregator over a real nats-server with worker child processes: aggregated values and
// load statistics, the event path, malformed input, a SIGKILLed worker, a NATS restart.
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DistributedRuntime, KvMetricsAggregator, publishKvHitRate, type AggregatedMetrics } from '../dist/cjs/index.js'
import { NatsServer } from './nats-server'
import { fpm, requireProgram, uniqueNs, until, WORKER } from './method1-helpers'
import { RawNats } from './fixtures/raw-nats'
import { killProgram, startProgram, type Program } from './util'

const NATS_BIN = requireProgram('nats-server', 'the Method 1 aggregator tests')

describe.skipIf(NATS_BIN === null)('KvMetricsAggregator over NATS', () => {
  let nats: NatsServer
  let rt: DistributedRuntime
  const programs: Program[] = []
  const aggregators: KvMetricsAggregator[] = []

  beforeAll(async () => {
    nats = await NatsServer.start()
    rt = await DistributedRuntime.create({ natsServer: nats.url, systemEnabled: false })
  })

  afterEach(async () => {
    for (const a of aggregators.splice(0)) a.close()
    await Promise.all(programs.splice(0).map(killProgram))
  })

  afterAll(async () => {
    await rt?.shutdown()
    await nats?.stop()
  })

  async function worker(ns: string, component: string): Promise<{ p: Program; id: string }> {
    const p = startProgram(WORKER, [nats.url, ns, component])
    programs.push(p)
    const { line } = await p.line('ready ')
    return { p, id: line.slice('ready '.length) }
  }

  async function publish(w: { p: Program }, m: ReturnType<typeof fpm>): Promise<void> {
    const n = w.p.stdout().split('published\n').length
    w.p.send(JSON.stringify(m))
    await until('the worker to publish', 5000, () => (w.p.stdout().split('published\n').length > n ? true : undefined))
  }

  function aggregator(ns: string, component: string, opts: ConstructorParameters<typeof KvMetricsAggregator>[1] = {}): KvMetricsAggregator {
    const a = new KvMetricsAggregator(rt.namespace(ns).component(component), opts)
    aggregators.push(a)
    return a
  }

  const byId = (m: AggregatedMetrics, id: string) => m.endpoints.find((e) => e.workerId === id)

  it('aggregates two workers: their values by worker id, mean and population std of kvActiveBlocks', async () => {
    const ns = uniqueNs('agg')
    const a = aggregator(ns, 'backend')
    await a.ready
    expect(a.getMetrics()).toEqual({ endpoints: [], loadAvg: 0, loadStd: 0 })
    const w1 = await worker(ns, 'backend')
    const w2 = await worker(ns, 'backend')
    await publish(w1, fpm({ requestActiveSlots: 0, requestTotalSlots: 1024, kvActiveBlocks: 523, kvTotalBlocks: 777 }))
    await publish(w2, fpm({ requestActiveSlots: 7, requestTotalSlots: 64, kvActiveBlocks: 100, kvTotalBlocks: 200, numRequestsWaiting: 3, gpuCacheUsagePerc: 0.25, gpuPrefixCacheHitRate: 0.5 }))
    const m = await until('both workers', 5000, () => {
      const m = a.getMetrics()
      return byId(m, w1.id)?.kvActiveBlocks === 523 && byId(m, w2.id)?.kvActiveBlocks === 100 ? m : undefined
    })
    expect(m.endpoints).toHaveLength(2)
    expect(byId(m, w1.id)).toEqual({
      workerId: w1.id,
      requestActiveSlots: 0,
      requestTotalSlots: 1024,
      kvActiveBlocks: 523,
      kvTotalBlocks: 777,
      numRequestsWaiting: 0,
      gpuCacheUsagePerc: 0,
      gpuPrefixCacheHitRate: 0,
    })
    expect(byId(m, w2.id)).toMatchObject({ requestActiveSlots: 7, numRequestsWaiting: 3, gpuCacheUsagePerc: 0.25, gpuPrefixCacheHitRate: 0.5 })
    expect(m.loadAvg).toBe(311.5)
    expect(m.loadStd).toBe(211.5)
    // Another component's aggregator of the same namespace sees neither (events are namespace-wide).
    const other = aggregator(ns, 'other')
    await other.ready
    await publish(w1, fpm({ kvActiveBlocks: 524 }))
    await until('the change', 5000, () => (byId(a.getMetrics(), w1.id)?.kvActiveBlocks === 524 ? true : undefined))
    expect(other.getMetrics().endpoints).toEqual([])

    const text = a.prometheusMetricsFmt()
    expect(text).toContain(`llm_kv_blocks_active{component="backend",endpoint="load_metrics",worker_id="${w1.id}"} 524\n`)
    expect(text).toContain('llm_load_avg{component="backend",endpoint="load_metrics"} 312\n')
  })

  it('a SIGKILLed worker leaves within staleAfterMs; the other stays', async () => {
    const ns = uniqueNs('kill')
    const a = aggregator(ns, 'backend')
    await a.ready
    expect(a.staleAfterMs).toBe(900)
    const w1 = await worker(ns, 'backend')
    const w2 = await worker(ns, 'backend')
    await publish(w1, fpm({ kvActiveBlocks: 1 }))
    await publish(w2, fpm({ kvActiveBlocks: 2 }))
    await until('both workers', 5000, () => (a.getMetrics().endpoints.length === 2 ? true : undefined))
    w1.p.child.kill('SIGKILL')
    const { at: killedAt } = await w1.p.exit
    await until('the killed worker to leave', 5000, () => (byId(a.getMetrics(), w1.id) === undefined ? true : undefined))
    const gone = performance.now() - killedAt
    // Bound: staleAfterMs after its last answer (plus one poll interval of scheduling slack).
    expect(gone).toBeLessThan(a.staleAfterMs + 100 + 400)
    expect(byId(a.getMetrics(), w2.id)?.kvActiveBlocks).toBe(2)
    expect(a.getMetrics().loadAvg).toBe(2)
  })

  it('ignores malformed kv_metrics events and non-JSON bytes: counted, warned at most once a second, nothing else lost', async () => {
    const ns = uniqueNs('bad')
    const warnings: { m: string; at: number }[] = []
    const a = aggregator(ns, 'backend', { onWarning: (m) => warnings.push({ m, at: performance.now() }) })
    await a.ready
    const w = await worker(ns, 'backend')
    await publish(w, fpm({ kvActiveBlocks: 5 }))
    await until('the worker', 5000, () => (byId(a.getMetrics(), w.id)?.kvActiveBlocks === 5 ? true : undefined))
    const raw = await RawNats.connect(nats.url)
    try {
      const subject = `namespace.${ns}.kv_metrics`
      await raw.publish(subject, 'not json at all')
      await raw.publish(subject, Buffer.from([0xff, 0xfe, 0x00]))
      await raw.publish(subject, JSON.stringify({ worker_id: Number(w.id.slice(0, 6)), data: { worker_stats: {} } }))
      await raw.publish(`namespace.${ns}.kv-hit-rate`, '{"worker_id":1}')
      // A good event after the bad ones still lands.
      await publish(w, fpm({ kvActiveBlocks: 6 }))
      await until('the good event', 5000, () => (byId(a.getMetrics(), w.id)?.kvActiveBlocks === 6 ? true : undefined))
      await until('the count', 5000, () => (a.malformedEvents === 4 ? true : undefined))
      // A burst of 50 more: still at most one warning a second, and every message accounted for.
      for (let i = 0; i < 50; i++) await raw.publish(subject, `garbage ${i}`)
      await until('the count', 5000, () => (a.malformedEvents === 54 ? true : undefined))
      const counted = () => warnings.reduce((n, w) => n + Number(/ignored (\d+) malformed/.exec(w.m)?.[1] ?? 0), 0)
      await until('the warnings to cover all 54', 5000, () => (counted() === 54 ? true : undefined))
      for (let i = 1; i < warnings.length; i++) expect(warnings[i].at - warnings[i - 1].at).toBeGreaterThan(900)
      expect(warnings.length).toBeLessThanOrEqual(4)
      expect(warnings.at(-1)!.m).toMatch(/last: kv_metrics: LoadEvent is not JSON/)
      expect(a.prometheusMetricsFmt()).toContain('llm_kv_metrics_malformed_total{component="backend",endpoint="load_metrics"} 54\n')
    } finally {
      raw.close()
    }
  })

  it('counts kv-hit-rate events per worker', async () => {
    const ns = uniqueNs('hit')
    const a = aggregator(ns, 'backend')
    await a.ready
    const nsObj = rt.namespace(ns)
    await publishKvHitRate(nsObj, { workerId: 11, islBlocks: 10, overlapBlocks: 4 })
    await publishKvHitRate(nsObj, { workerId: 11, islBlocks: 5, overlapBlocks: 1 })
    await publishKvHitRate(nsObj, { workerId: 12, islBlocks: 3, overlapBlocks: 3 })
    const text = await until('the counters', 5000, () => {
      const t = a.prometheusMetricsFmt()
      return t.includes('llm_kv_hit_rate_isl_blocks{component="backend",endpoint="load_metrics",worker_id="12"} 3\n') ? t : undefined
    })
    expect(text).toContain('llm_kv_hit_rate_isl_blocks{component="backend",endpoint="load_metrics",worker_id="11"} 15\n')
    expect(text).toContain('llm_kv_hit_rate_overlap_blocks{component="backend",endpoint="load_metrics",worker_id="11"} 5\n')
    expect(text).toContain('llm_kv_hit_rate_overlap_blocks{component="backend",endpoint="load_metrics",worker_id="12"} 3\n')
  })

  it('the process exits by itself after runtime.shutdown() (aggregator not closed)', async () => {
    const p = startProgram(join(__dirname, 'fixtures', 'method1-exit.cjs'), [nats.url])
    programs.push(p)
    await p.line('workers 1')
    const { at: shutAt } = await p.line('shut down')
    const { code, at } = await p.exit
    expect(code).toBe(0)
    expect(at - shutAt).toBeLessThan(2000)
  })

  it('publisher and aggregator carry on after the NATS server restarts', async () => {
    const ns = uniqueNs('restart')
    const a = aggregator(ns, 'backend')
    await a.ready
    const w = await worker(ns, 'backend')
    await publish(w, fpm({ kvActiveBlocks: 10 }))
    await until('the worker', 5000, () => (byId(a.getMetrics(), w.id)?.kvActiveBlocks === 10 ? true : undefined))
    await nats.restart()
    await publish(w, fpm({ kvActiveBlocks: 11 }))
    await until('the worker after the restart', 15_000, () => (byId(a.getMetrics(), w.id)?.kvActiveBlocks === 11 ? true : undefined))
    await publish(w, fpm({ kvActiveBlocks: 12 }))
    await until('a later change', 5000, () => (byId(a.getMetrics(), w.id)?.kvActiveBlocks === 12 ? true : undefined))
  }, 30_000)
})
