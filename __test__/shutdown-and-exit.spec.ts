import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { DistributedRuntime, MetricsError, RuntimeClosedError } from '../dist/cjs/index.js'
import { httpGet, startProgram, within, type Program } from './util'

const FIXTURE = join(__dirname, 'fixtures', 'lifecycle.mjs')
const EXIT_WITHIN_MS = 2000

const runtimes: DistributedRuntime[] = []
const children: ChildProcess[] = []

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

function start(mode: string): Program {
  const p = startProgram(FIXTURE, [mode])
  children.push(p.child)
  return p
}

function bindable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, host, () => s.close(() => resolve(true)))
  })
}

describe('process lifecycle (child processes)', () => {
  it('a program that serves a scrape and awaits shutdown() exits with code 0 within 2 s', async () => {
    const p = start('shutdown')
    expect((await p.line('SCRAPED')).line).toBe('SCRAPED 200 found')
    const done = await p.line('DONE')
    const exit = await within(p.exit, 10_000)
    expect(exit, `still running; stderr=${p.stderr()}`).toBeDefined()
    expect(exit!.code).toBe(0)
    expect(exit!.at - done.at).toBeLessThan(EXIT_WITHIN_MS)
  })

  it('a program that never enables the server exits on its own (no shutdown call) within 2 s', async () => {
    const p = start('noserver')
    expect((await p.line('RENDERED')).line).toBe('RENDERED found noserver')
    const done = await p.line('DONE')
    const exit = await within(p.exit, 10_000)
    expect(exit, `still running; stderr=${p.stderr()}`).toBeDefined()
    expect(exit!.code).toBe(0)
    expect(exit!.at - done.at).toBeLessThan(EXIT_WITHIN_MS)
  })

  it('a running status server keeps the process alive until it is killed', async () => {
    const p = start('serve')
    const ready = await p.line('READY')
    const port = Number(ready.line.split(' ')[1])
    expect(port).toBeGreaterThan(0)
    const exited = await within(p.exit, 1000)
    expect(exited, `exited on its own; stdout=${p.stdout()} stderr=${p.stderr()}`).toBeUndefined()
    expect(p.child.exitCode).toBeNull()
    // And it is serving.
    const r = await httpGet(`http://127.0.0.1:${port}/metrics`)
    expect(r.status).toBe(200)
    expect(r.body).toContain('dynamo_component_alive{dynamo_namespace="ns"} 1\n')
    p.child.kill('SIGTERM')
    const exit = await within(p.exit, 5000)
    expect(exit?.signal).toBe('SIGTERM')
  })
})

describe('shutdown (in process)', () => {
  async function serving(): Promise<{ rt: DistributedRuntime; port: number }> {
    const rt = await DistributedRuntime.create({ systemPort: 0, systemHost: '127.0.0.1' })
    runtimes.push(rt)
    const port = rt.systemStatusServer?.port
    if (port === undefined) throw new Error('status server did not start')
    return { rt, port }
  }

  it('frees the port', async () => {
    const { rt, port } = await serving()
    expect((await httpGet(`http://127.0.0.1:${port}/metrics`)).status).toBe(200)
    expect(await bindable(port)).toBe(false)
    await rt.shutdown()
    expect(await bindable(port)).toBe(true)
  })

  it('stops answering HTTP', async () => {
    const { rt, port } = await serving()
    await rt.shutdown()
    await expect(httpGet(`http://127.0.0.1:${port}/health`)).rejects.toThrow()
  })

  it('prometheusMetricsFmt() then rejects with RuntimeClosedError at every level', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    const ep = rt.namespace('ns').component('comp').endpoint('ep')
    ep.metrics.createIntGauge('g', 'g').set(1)
    await rt.shutdown()
    for (const level of [rt, ep]) {
      const err = await level.prometheusMetricsFmt().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(RuntimeClosedError)
      expect(err).toBeInstanceOf(MetricsError)
      expect((err as RuntimeClosedError).code).toBe('ERR_DYNAMO_CLOSED')
    }
  })

  it('does not run callbacks after shutdown', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    runtimes.push(rt)
    let n = 0
    rt.registerMetricsCallback(() => void n++)
    await rt.prometheusMetricsFmt()
    expect(n).toBe(1)
    await rt.shutdown()
    await expect(rt.prometheusMetricsFmt()).rejects.toBeInstanceOf(RuntimeClosedError)
    expect(n).toBe(1)
  })

  it('twice (in sequence or concurrently) is fine', async () => {
    const a = await serving()
    await a.rt.shutdown()
    await expect(a.rt.shutdown()).resolves.toBeUndefined()

    const b = await serving()
    await expect(Promise.all([b.rt.shutdown(), b.rt.shutdown()])).resolves.toEqual([undefined, undefined])
    expect(await bindable(b.port)).toBe(true)

    const c = await DistributedRuntime.create({ systemEnabled: false })
    await c.shutdown()
    await expect(c.shutdown()).resolves.toBeUndefined()
  })
})
