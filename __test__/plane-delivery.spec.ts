// Delivery over NATS (a real nats-server): nothing is lost silently. A response that cannot be
// sent ends the caller's stream with an error; a slow caller is paced by its credit instead of
// overrun; a lost message fails the caller at once, naming the gap; a dropped connection fires
// the handlers' signals.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DistributedRuntime, NatsError, type JsonValue } from '../dist/cjs/index.js'
import { findNatsServer, NatsServer } from './nats-server'
import { P, uniqueNamespace } from './fixtures/plane-cases'
import { deferred, eventually, outcome, valueOf, wireBytes } from './fixtures/plane-helpers'
import { RawWorker, type ScriptedMessage } from './fixtures/plane-raw-worker'

const NATS_BIN = findNatsServer()
if (NATS_BIN === null && process.env.CI === 'true') {
  throw new Error('nats-server is not installed, and CI=true requires the NATS tests: apt-get install nats-server')
}
if (NATS_BIN === null) console.warn('Skipping the NATS delivery tests: nats-server is not installed (apt-get install nats-server).')

/** Over the NATS server's default max payload (1 MiB). */
const TOO_BIG = 'x'.repeat(2 * 1024 * 1024)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe.skipIf(NATS_BIN === null)('NATS delivery', () => {
  let nats: NatsServer
  const runtimes: DistributedRuntime[] = []
  const servers: NatsServer[] = []
  const raws: RawWorker[] = []
  beforeAll(async () => {
    nats = await NatsServer.start()
  })
  afterAll(async () => {
    await nats?.stop()
  })
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close()
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
    await Promise.all(servers.splice(0).map((s) => s.stop()))
  })

  async function runtime(url = nats.url): Promise<DistributedRuntime> {
    const rt = await DistributedRuntime.create({ systemEnabled: false, natsServer: url })
    runtimes.push(rt)
    return rt
  }

  async function workerAndCaller(url = nats.url) {
    const worker = await runtime(url)
    const caller = await runtime(url)
    const ns = uniqueNamespace('deliv')
    return { worker, caller, ns }
  }

  it('an item over the max payload ends the stream with NatsError, fires the signal, counts publish_response and only the bytes sent', async () => {
    const { worker, caller, ns } = await workerAndCaller()
    const aborted = deferred()
    const wep = worker.namespace(ns).component('comp').endpoint('gen')
    await wep.serveEndpoint(async function* (_req: JsonValue, ctx) {
      ctx.signal.addEventListener('abort', () => aborted.resolve())
      yield 'a'
      yield TOO_BIG
      yield 'c'
    })
    const client = caller.namespace(ns).component('comp').endpoint('gen').client()
    await client.waitForInstances(5000)
    const r = await outcome(client.generate(null))
    expect(r.items).toEqual(['a'])
    expect(r.error).toBeInstanceOf(NatsError)
    expect(String((r.error as Error).message)).toMatch(/max payload of \d+ bytes/)
    await aborted.promise
    const text = await wep.prometheusMetricsFmt()
    expect(valueOf(text, `${P}errors_total`, { error_type: 'publish_response' })).toBe(1)
    expect(valueOf(text, `${P}response_bytes_total`)).toBe(wireBytes('a'))
  })

  it('a unary response over the max payload rejects with NatsError and counts no response bytes', async () => {
    const { worker, caller, ns } = await workerAndCaller()
    const wep = worker.namespace(ns).component('comp').endpoint('one')
    await wep.serveEndpoint(async () => TOO_BIG)
    const client = caller.namespace(ns).component('comp').endpoint('one').client()
    await client.waitForInstances(5000)
    const r = await outcome(client.generate(null))
    expect(r.items).toEqual([])
    expect(r.error).toBeInstanceOf(NatsError)
    expect(String((r.error as Error).message)).toMatch(/max payload/)
    const text = await wep.prometheusMetricsFmt()
    expect(valueOf(text, `${P}errors_total`, { error_type: 'publish_response' })).toBe(1)
    expect(valueOf(text, `${P}response_bytes_total`)).toBe(0)
  })

  for (const window of [undefined, 16] as const) {
    it(`a slow caller gets all 4,000 x 1 KB responses in order; the worker stays within the credit window (${window ?? 'default 256'})`, async () => {
      const { worker, caller, ns } = await workerAndCaller()
      const N = 4000
      const pad = 'p'.repeat(1000)
      let produced = 0
      await worker.namespace(ns).component('comp').endpoint('flood').serveEndpoint(async function* () {
        for (let i = 0; i < N; i++) {
          produced = i + 1
          yield { i, pad }
        }
      })
      const client = caller.namespace(ns).component('comp').endpoint('flood').client(window === undefined ? {} : { creditWindow: window })
      await client.waitForInstances(5000)
      let received = 0
      let maxAhead = 0
      for await (const item of client.generate(null)) {
        expect((item as { i: number }).i).toBe(received)
        received++
        maxAhead = Math.max(maxAhead, produced - received)
        // A deliberately slow reader: while it sleeps, an unpaced worker would run thousands ahead.
        if (received % 100 === 0) await sleep(50)
      }
      expect(received).toBe(N)
      // The worker yields one item past its credit, then waits for the caller's acknowledgement.
      expect(maxAhead).toBeLessThanOrEqual((window ?? 256) + 2)
    }, 40_000)
  }

  it('a missing message (a gap in the sequence numbers) fails the caller at once with NatsError naming the gap', async () => {
    const caller = await runtime()
    const ns = uniqueNamespace('gap')
    const raw = await RawWorker.serve(nats.port, `${ns}_comp`, 'gen', 'ab12', (): ScriptedMessage[] => [
      { headers: { 'Dynamo-Seq': '1' }, payload: '"one"' },
      { headers: { 'Dynamo-Seq': '3' }, payload: '"three"' },
      { headers: { 'Dynamo-Seq': '4', 'Dynamo-Final': '1' }, payload: '' },
    ])
    raws.push(raw)
    const client = caller.namespace(ns).component('comp').endpoint('gen').client({ idleTimeoutMs: 30_000 })
    await client.waitForInstances(5000)
    const t0 = Date.now()
    const r = await outcome(client.generate(null))
    expect(r.items).toEqual(['one'])
    expect(r.error).toBeInstanceOf(NatsError)
    expect(String((r.error as Error).message)).toMatch(/lost messages 2 to 2/)
    // At once: not after the 30 s idle timeout.
    expect(Date.now() - t0).toBeLessThan(10_000)
  })

  it("when the worker's NATS connection drops, in-flight handlers' signal fires and the caller fails with NatsError", async () => {
    const own = await NatsServer.start()
    servers.push(own)
    const { worker, caller, ns } = await workerAndCaller(own.url)
    const aborted = deferred()
    let started = 0
    await worker.namespace(ns).component('comp').endpoint('long').serveEndpoint(async function* (_r: JsonValue, ctx) {
      started++
      ctx.signal.addEventListener('abort', () => aborted.resolve())
      for (let i = 0; !ctx.signal.aborted; i++) {
        yield i
        await sleep(10)
      }
    })
    const client = caller.namespace(ns).component('comp').endpoint('long').client()
    await client.waitForInstances(5000)
    const it = client.generate(null)[Symbol.asyncIterator]()
    expect((await it.next()).value).toBe(0)
    await eventually(() => (started === 1 ? true : undefined))
    await own.stop({ kill: true })
    await aborted.promise
    const rest = await outcome({ [Symbol.asyncIterator]: () => it })
    expect(rest.error).toBeInstanceOf(NatsError)
  })
})

describe('in-process delivery', () => {
  const runtimes: DistributedRuntime[] = []
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
  })

  async function endpoint() {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    return rt.namespace(uniqueNamespace('inproc')).component('comp').endpoint('gen')
  }

  it('a slow in-process reader paces the handler to its credit window', async () => {
    const ep = await endpoint()
    let produced = 0
    await ep.serveEndpoint(async function* () {
      for (let i = 0; i < 2000; i++) {
        produced = i + 1
        yield i
      }
    })
    let received = 0
    let maxAhead = 0
    for await (const i of ep.client({ creditWindow: 16 }).generate(null)) {
      expect(i).toBe(received)
      received++
      maxAhead = Math.max(maxAhead, produced - received)
      if (received % 100 === 0) await sleep(20)
    }
    expect(received).toBe(2000)
    expect(maxAhead).toBeLessThanOrEqual(17)
  })

  it('a reader that breaks off while the handler waits for room fires its signal and the endpoint stops', async () => {
    const ep = await endpoint()
    const aborted = deferred()
    const served = await ep.serveEndpoint(async function* (_r: JsonValue, ctx) {
      ctx.signal.addEventListener('abort', () => aborted.resolve())
      for (let i = 0; !ctx.signal.aborted; i++) yield i
    })
    for await (const i of ep.client({ creditWindow: 4 }).generate(null)) {
      if (i === 2) break
    }
    await aborted.promise
    await served.stop()
  })
})

describe.skipIf(NATS_BIN === null)('NATS credit timeout', () => {
  let nats: NatsServer
  const runtimes: DistributedRuntime[] = []
  beforeAll(async () => {
    nats = await NatsServer.start()
  })
  afterAll(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
    await nats?.stop()
  })

  it('a caller that stops reading without cancelling: after creditTimeoutMs the handler\'s signal fires and publish_response counts it', async () => {
    const worker = await DistributedRuntime.create({ systemEnabled: false, natsServer: nats.url })
    const caller = await DistributedRuntime.create({ systemEnabled: false, natsServer: nats.url })
    runtimes.push(worker, caller)
    const ns = uniqueNamespace('credit')
    const wep = worker.namespace(ns).component('comp').endpoint('gen')
    const aborted = deferred()
    await wep.serveEndpoint(
      async function* (_r: JsonValue, ctx) {
        ctx.signal.addEventListener('abort', () => aborted.resolve())
        for (let i = 0; !ctx.signal.aborted; i++) yield i
      },
      { creditTimeoutMs: 300 },
    )
    const client = caller.namespace(ns).component('comp').endpoint('gen').client({ creditWindow: 4 })
    await client.waitForInstances(5000)
    const it = client.generate(null)[Symbol.asyncIterator]()
    expect((await it.next()).value).toBe(0)
    // ...and then the caller reads nothing more, and does not cancel.
    await aborted.promise
    const text = await wep.prometheusMetricsFmt()
    expect(valueOf(text, `${P}errors_total`, { error_type: 'publish_response' })).toBe(1)
    // When it reads again, it gets what was sent, then NatsError saying why the rest is missing.
    const rest = await outcome({ [Symbol.asyncIterator]: () => it })
    expect(rest.items).toEqual([1, 2, 3])
    expect(rest.error).toBeInstanceOf(NatsError)
    expect(String((rest.error as Error).message)).toMatch(/read nothing for 300 ms/)
  })

  it('creditTimeoutMs outside 1..2147483647 or not an integer is a ConfigError naming the option', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false, natsServer: nats.url })
    runtimes.push(rt)
    const ep = rt.namespace(uniqueNamespace('credit')).component('comp').endpoint('gen')
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      await expect(ep.serveEndpoint((r: JsonValue) => r, { creditTimeoutMs: bad })).rejects.toThrow(/creditTimeoutMs must be an integer/)
    }
  })
})
