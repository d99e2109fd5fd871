// The request plane over a real NATS server (the Debian `nats-server` binary).
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DistributedRuntime, EndpointError, MetricsError, NatsError, type JsonValue } from '../dist/cjs/index.js'
import { findNatsServer, NatsServer } from './nats-server'
import { freePort, httpGet } from './util'
import { RawNats } from './fixtures/raw-nats'
import { P, TRAFFIC, endpointLabels, planeCases, responsesFor, runTraffic, uniqueNamespace } from './fixtures/plane-cases'
import {
  collect,
  deferred,
  eventually,
  killProgram,
  outcome,
  settled,
  startProgram,
  valueOf,
  within,
  wireBytes,
  type Program,
} from './fixtures/plane-helpers'

const NATS_BIN = findNatsServer()
if (NATS_BIN === null && process.env.CI === 'true') {
  throw new Error('nats-server is not installed, and CI=true requires the NATS tests: apt-get install nats-server')
}
if (NATS_BIN === null) {
  console.warn('Skipping the NATS request-plane tests: nats-server is not installed (apt-get install nats-server).')
}

const WORKER = join(__dirname, 'fixtures', 'nats-worker.mjs')
const EXIT_WITHIN_MS = 2000

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

// ---- the suite ----

describe.skipIf(NATS_BIN === null)('NATS request plane', () => {
  let nats: NatsServer
  const runtimes: DistributedRuntime[] = []
  const programs: Program[] = []
  const raws: RawNats[] = []
  const extraServers: NatsServer[] = []

  beforeAll(async () => {
    nats = await NatsServer.start()
  })
  afterAll(async () => {
    await nats?.stop()
  })
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close()
    await Promise.all(programs.splice(0).map(killProgram))
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
    await Promise.all(extraServers.splice(0).map((s) => s.stop()))
  })

  async function runtime(url = nats.url): Promise<DistributedRuntime> {
    const rt = await DistributedRuntime.create({ systemEnabled: false, natsServer: url })
    runtimes.push(rt)
    return rt
  }

  async function raw(port = nats.port): Promise<RawNats> {
    const r = await RawNats.connect(port)
    raws.push(r)
    return r
  }

  planeCases({ name: 'NATS', options: () => ({ natsServer: nats.url }), remoteClients: true })

  describe('NATS specifics', () => {
    it('runtime.natsServer reports the URL it connected to', async () => {
      const rt = await runtime()
      expect(rt.natsServer).toBe(nats.url)
    })

    it('request and response bytes equal those of the in-process plane for the same traffic', async () => {
      const local = await DistributedRuntime.create({ systemEnabled: false })
      runtimes.push(local)
      expect(local.natsServer).toBeNull()
      const worker = await runtime()
      const caller = await runtime()
      const nsL = uniqueNamespace('local')
      const nsN = uniqueNamespace('nats')
      const textL = await runTraffic(local, local, nsL)
      const textN = await runTraffic(worker, caller, nsN)
      const lL = endpointLabels(nsL, 'comp', 'generate')
      const lN = endpointLabels(nsN, 'comp', 'generate')
      const reqBytes = TRAFFIC.reduce<number>((n, r) => n + wireBytes(r), 0)
      const resBytes = TRAFFIC.reduce<number>((n, r) => n + responsesFor(r).reduce<number>((m, x) => m + wireBytes(x), 0), 0)
      for (const [text, l] of [
        [textL, lL],
        [textN, lN],
      ] as const) {
        expect(valueOf(text, `${P}requests_total`, l)).toBe(3)
        expect(valueOf(text, `${P}request_bytes_total`, l)).toBe(reqBytes)
        expect(valueOf(text, `${P}response_bytes_total`, l)).toBe(resBytes)
      }
      expect(valueOf(textN, `${P}request_bytes_total`, lN)).toBe(valueOf(textL, `${P}request_bytes_total`, lL))
      expect(valueOf(textN, `${P}response_bytes_total`, lN)).toBe(valueOf(textL, `${P}response_bytes_total`, lL))
    })

    it('two instances of one endpoint: instanceIds() lists both, roundRobin alternates, direct() and random() reach them', async () => {
      const w1 = await runtime()
      const w2 = await runtime()
      const caller = await runtime()
      const ns = uniqueNamespace()
      const handler = (_req: JsonValue, ctx: { instanceId: string }): JsonValue => ({ by: ctx.instanceId })
      const s1 = await w1.namespace(ns).component('comp').endpoint('generate').serveEndpoint(handler)
      const s2 = await w2.namespace(ns).component('comp').endpoint('generate').serveEndpoint(handler)
      expect(s1.instanceId).not.toBe(s2.instanceId)
      const client = caller.namespace(ns).component('comp').endpoint('generate').client()
      const both = [s1.instanceId, s2.instanceId].sort()
      await eventually(async () => ((await client.instanceIds()).length === 2 ? true : undefined), 5000, 'two instances')
      expect((await client.instanceIds()).sort()).toEqual(both)
      const rr: string[] = []
      for (let i = 0; i < 4; i++) {
        const [r] = (await collect(client.roundRobin(i))) as { by: string }[]
        rr.push(r.by)
      }
      expect(rr[0]).not.toBe(rr[1])
      expect(rr[2]).toBe(rr[0])
      expect(rr[3]).toBe(rr[1])
      expect([...new Set(rr)].sort()).toEqual(both)
      expect(await collect(client.direct('a', s1.instanceId))).toEqual([{ by: s1.instanceId }])
      expect(await collect(client.direct('b', s2.instanceId))).toEqual([{ by: s2.instanceId }])
      for (let i = 0; i < 10; i++) {
        const [r] = (await collect(client.random(i))) as { by: string }[]
        expect(both).toContain(r.by)
      }
    })

    it('garbage and invalid UTF-8 published to the endpoint subject count errors_total{error_type="deserialization"}; the worker keeps serving', async () => {
      const worker = await runtime()
      const caller = await runtime()
      const ns = uniqueNamespace()
      const ep = worker.namespace(ns).component('comp').endpoint('generate')
      const served = await ep.serveEndpoint((req: JsonValue) => ({ ok: req }))
      const svc = `${ns}_comp`
      const r = await raw()
      const info = await r.request(`$SRV.INFO.${svc}`)
      const eps = info.endpoints as { name: string; subject: string }[]
      expect(eps).toHaveLength(1)
      const subject = eps[0].subject
      expect(subject).toBe(`${svc}.generate-${served.instanceId}`)

      const inbox = '_INBOX.garbage'
      const sid = r.sub(inbox)
      const garbage = Buffer.from('{this is not json', 'utf8')
      const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])
      r.pub(subject, inbox, garbage)
      r.pub(subject, inbox, invalidUtf8)
      await r.ping()
      const replies = [await r.next(sid, 5000), await r.next(sid, 5000)]
      for (const m of replies) {
        expect(m, 'the worker did not answer a bad request').toBeDefined()
        expect(m!.headers ?? '').toContain('Nats-Service-Error')
        expect(m!.headers ?? '').toMatch(/deserializ/i)
      }
      expect(r.errors).toEqual([])

      const labels = endpointLabels(ns, 'comp', 'generate')
      const text = await eventually(async () => {
        const t = await ep.prometheusMetricsFmt()
        return valueOf(t, `${P}errors_total`, { ...labels, error_type: 'deserialization' }) === 2 &&
          settled(t, labels)
          ? t
          : undefined
      })
      expect(valueOf(text, `${P}requests_total`, labels)).toBe(2)
      expect(valueOf(text, `${P}request_bytes_total`, labels)).toBe(garbage.length + invalidUtf8.length)
      expect(valueOf(text, `${P}errors_total`, { ...labels, error_type: 'generate' })).toBeUndefined()

      // A normal request still works.
      const client = caller.namespace(ns).component('comp').endpoint('generate').client()
      await client.waitForInstances(5000)
      expect(await collect(client.generate({ fine: true }))).toEqual([{ ok: { fine: true } }])
      const after = await eventually(async () => {
        const t = await ep.prometheusMetricsFmt()
        return valueOf(t, `${P}requests_total`, labels) === 3 ? t : undefined
      })
      expect(valueOf(after, `${P}errors_total`, { ...labels, error_type: 'deserialization' })).toBe(2)
    })

    it('$SRV.PING, $SRV.INFO and $SRV.STATS answer; STATS carries the service name, num_requests and the statsHandler data; scrapeStats() agrees', async () => {
      const worker = await runtime()
      const caller = await runtime()
      const ns = uniqueNamespace()
      let handled = 0
      const served = await worker
        .namespace(ns)
        .component('comp')
        .endpoint('generate')
        .serveEndpoint(
          (req: JsonValue) => {
            handled++
            return { echo: req }
          },
          { statsHandler: () => ({ handled, kv_active_blocks: 7, model: 'tiny' }) },
        )
      const client = caller.namespace(ns).component('comp').endpoint('generate').client()
      await client.waitForInstances(5000)
      for (let i = 0; i < 3; i++) expect(await collect(client.generate(i))).toEqual([{ echo: i }])

      const svc = `${ns}_comp`
      const r = await raw()
      const inbox = '_INBOX.x'
      const sid = r.sub(inbox)
      const ask = async (subject: string): Promise<Record<string, unknown>> => {
        r.pub(subject, inbox, Buffer.alloc(0))
        const m = await r.next(sid, 3000)
        if (m === undefined) throw new Error(`no answer to ${subject}`)
        return JSON.parse(m.text) as Record<string, unknown>
      }

      const ping = await ask(`$SRV.PING.${svc}`)
      expect(ping.name).toBe(svc)
      expect(ping.type).toBe('io.nats.micro.v1.ping_response')
      const serviceId = ping.id
      expect(typeof serviceId).toBe('string')

      const info = await ask(`$SRV.INFO.${svc}`)
      expect(info.name).toBe(svc)
      expect(info.id).toBe(serviceId)
      const ieps = info.endpoints as { name: string; subject: string; metadata: Record<string, string> }[]
      expect(ieps).toHaveLength(1)
      expect(ieps[0].name).toBe('generate')
      expect(ieps[0].subject).toBe(`${svc}.generate-${served.instanceId}`)
      expect(ieps[0].metadata.instance_id).toBe(served.instanceId)

      const want = { handled: 3, kv_active_blocks: 7, model: 'tiny' }
      const stats = await eventually(async () => {
        const s = await ask(`$SRV.STATS.${svc}`)
        const e = (s.endpoints as { num_requests: number; data: unknown }[])[0]
        return e.num_requests === 3 && JSON.stringify(e.data) === JSON.stringify(want) ? s : undefined
      }, 5000, '$SRV.STATS with 3 requests')
      expect(stats.name).toBe(svc)
      expect(stats.id).toBe(serviceId)
      expect(stats.type).toBe('io.nats.micro.v1.stats_response')
      const seps = stats.endpoints as { name: string; subject: string; num_requests: number; num_errors: number; data: unknown }[]
      expect(seps).toHaveLength(1)
      expect(seps[0].name).toBe('generate')
      expect(seps[0].subject).toBe(`${svc}.generate-${served.instanceId}`)
      expect(seps[0].num_requests).toBe(3)
      expect(seps[0].num_errors).toBe(0)
      expect(seps[0].data).toEqual(want)

      // Without a service name, the discovery subjects answer too.
      const all = await r.request('$SRV.PING', 2000)
      expect(typeof all.name).toBe('string')

      const scraped = await caller.namespace(ns).component('comp').scrapeStats(500)
      expect(scraped).toHaveLength(1)
      expect(scraped[0].name).toBe(svc)
      expect(scraped[0].id).toBe(serviceId)
      expect(scraped[0].endpoints).toHaveLength(1)
      expect(scraped[0].endpoints[0].name).toBe('generate')
      expect(scraped[0].endpoints[0].subject).toBe(`${svc}.generate-${served.instanceId}`)
      expect(scraped[0].endpoints[0].num_requests).toBe(3)
      expect(scraped[0].endpoints[0].data).toEqual(want)
    })

    it('a worker in another process serves this process: instance id, streamed responses, and the worker /metrics count the traffic', async () => {
      const ns = uniqueNamespace('xproc')
      const p = startProgram(WORKER, [JSON.stringify({ natsServer: nats.url, namespace: ns, component: 'backend', endpoint: 'generate' })])
      programs.push(p)
      const ready = (await p.line('READY')).line.split(' ')
      const [, instanceId, port, url] = ready
      expect(instanceId).toMatch(/^[0-9a-f]+$/)
      expect(url).toBe(nats.url)
      const pid = p.child.pid!

      const rt = await runtime()
      const client = rt.namespace(ns).component('backend').endpoint('generate').client()
      expect(await client.waitForInstances(10_000)).toEqual([instanceId])
      const sent: JsonValue[] = [{ n: 3, text: 'héllo' }, { n: 1 }, { n: 2, x: [1, 2] }]
      let resBytes = 0
      for (const req of sent) {
        const got = await collect(client.generate(req))
        const n = (req as { n: number }).n
        expect(got).toEqual(Array.from({ length: n }, (_, i) => ({ i, pid, echo: req })))
        resBytes += got.reduce<number>((m, x) => m + wireBytes(x), 0)
      }
      expect(await collect(client.direct({ n: 1, d: true }, instanceId))).toEqual([{ i: 0, pid, echo: { n: 1, d: true } }])
      resBytes += wireBytes({ i: 0, pid, echo: { n: 1, d: true } })
      const reqBytes = [...sent, { n: 1, d: true }].reduce<number>((m, x) => m + wireBytes(x), 0)

      const labels = endpointLabels(ns, 'backend', 'generate')
      const body = await eventually(async () => {
        const r = await httpGet(`http://127.0.0.1:${port}/metrics`)
        return r.status === 200 && settled(r.body, labels) ? r.body : undefined
      })
      expect(body).toContain(`# HELP ${P}requests_total Total number of requests processed by work handler\n`)
      expect(valueOf(body, `${P}requests_total`, labels)).toBe(4)
      expect(valueOf(body, `${P}request_duration_seconds_count`, labels)).toBe(4)
      expect(valueOf(body, `${P}request_bytes_total`, labels)).toBe(reqBytes)
      expect(valueOf(body, `${P}response_bytes_total`, labels)).toBe(resBytes)

      // Its stats come back over NATS too.
      const stats = await eventually(async () => {
        const s = await rt.namespace(ns).component('backend').scrapeStats(500)
        return s.length === 1 && (s[0].endpoints[0].data as { handled?: number } | undefined)?.handled === 4 ? s : undefined
      })
      expect(stats[0].endpoints[0].data).toEqual({ handled: 4, pid })
      expect(stats[0].endpoints[0].num_requests).toBe(4)
    })

    it('the NATS_SERVER environment variable selects NATS like the option does', async () => {
      const ns = uniqueNamespace('env')
      const p = startProgram(WORKER, [JSON.stringify({ namespace: ns, component: 'backend', endpoint: 'generate' })], {
        NATS_SERVER: nats.url,
      })
      programs.push(p)
      const [, instanceId, , url] = (await p.line('READY')).line.split(' ')
      expect(url).toBe(nats.url)
      const rt = await runtime()
      const client = rt.namespace(ns).component('backend').endpoint('generate').client()
      expect(await client.waitForInstances(10_000)).toEqual([instanceId])
      expect(await collect(client.generate({ n: 2 }))).toEqual([
        { i: 0, pid: p.child.pid, echo: { n: 2 } },
        { i: 1, pid: p.child.pid, echo: { n: 2 } },
      ])
    })

    it('a worker process that shuts down (SIGTERM -> runtime.shutdown()) finishes the in-flight request and exits within 2 s after it completes', async () => {
      const ns = uniqueNamespace('down')
      const p = startProgram(WORKER, [JSON.stringify({ natsServer: nats.url, namespace: ns, component: 'backend', endpoint: 'generate' })])
      programs.push(p)
      await p.line('READY')
      const rt = await runtime()
      const client = rt.namespace(ns).component('backend').endpoint('generate').client()
      await client.waitForInstances(10_000)
      const run = outcome(client.generate({ op: 'slow', ms: 700 }))
      await p.line('STARTED')
      p.child.kill('SIGTERM')
      const o = await run
      const completedAt = performance.now()
      expect(o.error).toBeUndefined()
      expect(o.items).toEqual([{ slow: 'done', pid: p.child.pid }])
      const exit = await within(p.exit, 10_000)
      expect(exit, `still running; stdout=${p.stdout()} stderr=${p.stderr()}`).toBeDefined()
      expect(p.stdout()).toContain('SHUTDOWN_DONE')
      expect(exit!.code).toBe(0)
      expect(exit!.at - completedAt).toBeLessThan(EXIT_WITHIN_MS)
    })

    it('create() with an unreachable NATS server rejects with NatsError naming the URL within 5 s', async () => {
      const port = await freePort()
      const url = `nats://127.0.0.1:${port}`
      const attempt = DistributedRuntime.create({ systemEnabled: false, natsServer: url }).then(
        (rt) => {
          runtimes.push(rt)
          return undefined
        },
        (e: unknown) => e,
      )
      const err = await within(attempt, 5000)
      expect(err, 'create() neither failed nor finished within 5 s').toBeDefined()
      expect(err).toBeInstanceOf(NatsError)
      expect(err).toBeInstanceOf(MetricsError)
      expect((err as NatsError).code).toBe('ERR_DYNAMO_NATS')
      expect((err as NatsError).message).toContain(url)
    })

    /** A dedicated server (this test kills it), a worker runtime and a caller runtime on it. */
    async function killable(): Promise<{ own: NatsServer; worker: DistributedRuntime; caller: DistributedRuntime }> {
      const own = await NatsServer.start()
      extraServers.push(own)
      const worker = await runtime(own.url)
      const caller = await runtime(own.url)
      return { own, worker, caller }
    }

    /** Brings a killed server back, so the runtimes on it can shut down in afterEach. */
    async function revive(own: NatsServer): Promise<void> {
      if (!own.running) await own.resume()
    }

    it('nats-server killed while the caller waits for a slow response: NatsError; after a restart on the same port the runtime reconnects and serves again', async () => {
      const { own, worker, caller } = await killable()
      try {
        const ns = uniqueNamespace('kill')
        const started = deferred<void>()
        const release = deferred<void>()
        let handlerErrors = 0
        await worker
          .namespace(ns)
          .component('comp')
          .endpoint('generate')
          .serveEndpoint(async function* (req: JsonValue) {
            try {
              if (req === 'slow') {
                started.resolve()
                await release.promise
              }
              yield { done: req }
            } catch {
              handlerErrors++
            }
          })
        const client = caller.namespace(ns).component('comp').endpoint('generate').client({ idleTimeoutMs: 30_000 })
        await client.waitForInstances(5000)
        const run = outcome(client.generate('slow'))
        await started.promise
        // Let the caller settle into waiting for the response (a drop before that: next test).
        await sleep(300)
        await own.stop({ kill: true })
        const o = await within(run, 8000)
        release.resolve()
        expect(o, 'the caller was still waiting 8 s after NATS went away').toBeDefined()
        expect(o!.items).toEqual([])
        expect(o!.error).toBeInstanceOf(NatsError)
        expect((o!.error as NatsError).code).toBe('ERR_DYNAMO_NATS')
        expect((o!.error as NatsError).message).toContain('NATS')
        expect((o!.error as NatsError).message).toContain(own.url)

        await own.resume()
        const end = Date.now() + 10_000
        let items: JsonValue[] | undefined
        let last: unknown
        while (items === undefined && Date.now() < end) {
          try {
            await client.waitForInstances(1000)
            items = await collect(client.generate('after'))
          } catch (e) {
            last = e
            await sleep(200)
          }
        }
        expect(items, `no successful request within 10 s after the restart; last error: ${String(last)}`).toEqual([
          { done: 'after' },
        ])
        expect(handlerErrors).toBe(0)
        expect(worker.natsServer).toBe(own.url)
        expect(await caller.namespace(ns).component('comp').endpoint('generate').client().instanceIds()).toHaveLength(1)
      } finally {
        await revive(own)
      }
    }, 40_000)

    it('nats-server killed between two reads of a stream: the next read rejects with NatsError instead of waiting for the idle timeout', async () => {
      const { own, worker, caller } = await killable()
      try {
        const ns = uniqueNamespace('kill2')
        const release = deferred<void>()
        await worker
          .namespace(ns)
          .component('comp')
          .endpoint('generate')
          .serveEndpoint(async function* () {
            yield { part: 1 }
            await release.promise
            yield { part: 2 }
          })
        const client = caller.namespace(ns).component('comp').endpoint('generate').client({ idleTimeoutMs: 30_000 })
        await client.waitForInstances(5000)
        const it = client.generate('stream')[Symbol.asyncIterator]()
        expect(await it.next()).toEqual({ done: false, value: { part: 1 } })
        await own.stop({ kill: true })
        await sleep(500) // the caller is slow to read on; the connection is gone meanwhile
        const second = await within(
          it.next().then(
            (v) => ({ v, e: undefined as unknown }),
            (e: unknown) => ({ v: undefined, e }),
          ),
          8000,
        )
        release.resolve()
        expect(second, 'the read after the connection loss was still waiting 8 s later').toBeDefined()
        expect(second!.e).toBeInstanceOf(NatsError)
        expect((second!.e as NatsError).message).toContain(own.url)
      } finally {
        await revive(own)
      }
    }, 40_000)

    it('runtime.shutdown() resolves while the NATS server is down (the process can exit)', async () => {
      const { own, worker } = await killable()
      let closed = false
      try {
        await worker.namespace(uniqueNamespace('down')).component('comp').endpoint('generate').serveEndpoint(() => 1)
        await own.stop({ kill: true })
        await sleep(300)
        const r = await within(worker.shutdown().then(() => (closed = true)), 5000)
        expect(r, 'runtime.shutdown() had not resolved 5 s after it was called with NATS down').toBe(true)
      } finally {
        await revive(own)
        if (!closed) await within(worker.shutdown(), 10_000)
      }
    }, 40_000)

    it('an endpoint served by a runtime that has shut down is no longer discovered; calling it rejects with EndpointError', async () => {
      const worker = await DistributedRuntime.create({ systemEnabled: false, natsServer: nats.url })
      const caller = await runtime()
      const ns = uniqueNamespace()
      await worker.namespace(ns).component('comp').endpoint('generate').serveEndpoint(() => 1)
      const client = caller.namespace(ns).component('comp').endpoint('generate').client()
      await client.waitForInstances(5000)
      await worker.shutdown()
      await eventually(async () => ((await client.instanceIds()).length === 0 ? true : undefined), 5000, 'instance gone')
      await sleep(1100) // past the client's discovery cache
      const o = await outcome(client.generate(0))
      expect(o.error).toBeInstanceOf(EndpointError)
    })
  })
})
