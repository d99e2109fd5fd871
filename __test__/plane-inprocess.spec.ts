// The request plane without NATS: endpoints are served and called in-process.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DistributedRuntime, type JsonValue } from '../dist/cjs/index.js'
import { planeCases, uniqueNamespace } from './fixtures/plane-cases'
import { collect, eventually, killProgram, startProgram, within, type Program } from './fixtures/plane-helpers'

// This plane is chosen by the absence of a NATS server; never pick one up from the environment.
delete process.env.NATS_SERVER

const EXIT_WITHIN_MS = 2000

planeCases({ name: 'in-process', options: () => ({}), remoteClients: false })

describe('in-process plane specifics', () => {
  const runtimes: DistributedRuntime[] = []
  const programs: Program[] = []
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
    await Promise.all(programs.splice(0).map(killProgram))
  })

  it('a runtime without a NATS server reports natsServer null', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    expect(rt.natsServer).toBeNull()
  })

  it("scrapeStats() returns this process's stats (instance id, statsHandler data) and nothing after stop()", async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    const ns = uniqueNamespace()
    const comp = rt.namespace(ns).component('comp')
    let load = 0.25
    const a = await comp.endpoint('generate').serveEndpoint((r: JsonValue) => r, { statsHandler: () => ({ load }) })
    const b = await comp.endpoint('embed').serveEndpoint((r: JsonValue) => r)
    const client = comp.endpoint('generate').client()
    await collect(client.generate(1))
    await collect(client.generate(2))
    load = 0.75
    const stats = await comp.scrapeStats(500)
    expect(stats).toHaveLength(2)
    const byName = new Map(stats.map((s) => [s.endpoints[0].name, s]))
    const gen = byName.get('generate')!
    expect(gen.name).toBe(`${ns}_comp`)
    expect(gen.id).toBe(a.instanceId)
    expect(gen.endpoints[0].num_requests).toBe(2)
    expect(gen.endpoints[0].num_errors).toBe(0)
    expect(gen.endpoints[0].data).toEqual({ load: 0.75 })
    const emb = byName.get('embed')!
    expect(emb.id).toBe(b.instanceId)
    expect(emb.endpoints[0].num_requests).toBe(0)
    expect(emb.endpoints[0]).not.toHaveProperty('data')
    await a.stop()
    await b.stop()
    expect(await comp.scrapeStats(500)).toEqual([])
  })

  it('a program that shuts down with a request in flight lets it finish and exits within 2 s after it completes', async () => {
    const p = startProgram(join(__dirname, 'fixtures', 'plane-shutdown.mjs'), [])
    programs.push(p)
    await p.line('SHUTDOWN_CALLED')
    const completed = await p.line('COMPLETED')
    expect(JSON.parse(completed.line.slice('COMPLETED '.length))).toEqual({
      items: [{ phase: 'start', req: 'go' }, { phase: 'end' }],
      aborted: false,
    })
    await p.line('SHUTDOWN_DONE')
    const exit = await within(p.exit, 10_000)
    expect(exit, `still running; stdout=${p.stdout()} stderr=${p.stderr()}`).toBeDefined()
    expect(exit!.code).toBe(0)
    expect(exit!.at - completed.at).toBeLessThan(EXIT_WITHIN_MS)
  })

  it('served.stop() while a request is in flight waits for it, then the endpoint is gone', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    const ep = rt.namespace(uniqueNamespace()).component('comp').endpoint('generate')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let started!: () => void
    const startedP = new Promise<void>((r) => (started = r))
    const served = await ep.serveEndpoint(async () => {
      started()
      await gate
      return 'late'
    })
    const client = ep.client()
    const run = collect(client.generate(0))
    await startedP
    let stopped = false
    const stopping = served.stop().then(() => void (stopped = true))
    await new Promise((r) => setTimeout(r, 100))
    expect(stopped).toBe(false)
    release()
    expect(await run).toEqual(['late'])
    await stopping
    await eventually(async () => ((await client.instanceIds()).length === 0 ? true : undefined))
  })
})
