// The status server's limits, through the public package and attacked from child processes on
// loopback (bounded in count and time): header-read timeout (slowloris, silent connections),
// idle timeout, connection cap, write timeout (stalled readers), render bound (503 +
// Retry-After), HEAD /metrics, the scrape-timeout header's minimum, unrequestable paths.
import { join } from 'node:path'
import { Agent, request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime, type RuntimeOptions } from '../dist/cjs/index.js'
import { eventually, httpGet, killProgram, sample, startProgram, type Program } from './util'

const ATTACKER = join(__dirname, 'fixtures', 'server-attacker.mjs')
const ERRORS = 'dynamo_component_metrics_callback_errors_total'

const runtimes: DistributedRuntime[] = []
const programs: Program[] = []
afterEach(async () => {
  await Promise.all(programs.splice(0).map(killProgram))
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
})

async function serving(options: RuntimeOptions = {}): Promise<{ rt: DistributedRuntime; url: string; port: number }> {
  const rt = await DistributedRuntime.create({ systemPort: 0, systemHost: '127.0.0.1', ...options })
  runtimes.push(rt)
  const port = rt.systemStatusServer!.port
  return { rt, url: `http://127.0.0.1:${port}`, port }
}

interface Summary {
  opened: number
  open: number
  closedByServer: number
  refused: number
  minLifetimeMs: number | null
  maxLifetimeMs: number | null
  stalledBytes: number
}

function attack(port: number, mode: string, count: number, ms: number, ...flags: string[]): Program {
  const p = startProgram(ATTACKER, [String(port), mode, String(count), String(ms), ...flags])
  programs.push(p)
  return p
}

async function summary(p: Program): Promise<Summary> {
  const { line } = await p.line('{')
  return JSON.parse(line) as Summary
}

/** GET /metrics over one kept-alive connection of `agent`. */
function keepAliveGet(url: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/metrics`, { agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Exposition text without the uptime sample, the one line that differs between two scrapes. */
function steady(text: string): string {
  return text.replace(/^dynamo_component_uptime_seconds .*$/m, '')
}

/** Registers a callback that waits for `release()` before it settles, counting its runs. */
function gatedCallback(rt: DistributedRuntime): { runs: () => number; release: () => void } {
  let runs = 0
  let open: () => void = () => {}
  let gate = new Promise<void>((r) => (open = r))
  rt.registerMetricsCallback(async () => {
    runs++
    await gate
  })
  return {
    runs: () => runs,
    release: () => {
      open()
      gate = Promise.resolve()
    },
  }
}

describe('header-read and idle timeouts', () => {
  it('closes slowloris and silent connections after headerReadTimeoutMs; scrapes go on', async () => {
    const { url, port } = await serving({ headerReadTimeoutMs: 400 })
    const slow = attack(port, 'slowloris', 20, 2500)
    const silent = attack(port, 'silent', 20, 2500)
    await Promise.all([slow.line('ready'), silent.line('ready')])
    expect((await httpGet(`${url}/metrics`)).status).toBe(200)
    for (const s of await Promise.all([summary(slow), summary(silent)])) {
      console.log('limit figures', JSON.stringify(s))
      expect(s.opened).toBe(20)
      expect(s.closedByServer).toBe(20)
      expect(s.minLifetimeMs!).toBeGreaterThanOrEqual(350)
      expect(s.maxLifetimeMs!).toBeLessThan(2400)
    }
  })

  it('closes a keep-alive connection idle for idleTimeoutMs', async () => {
    const { port } = await serving({ idleTimeoutMs: 400, headerReadTimeoutMs: 30_000 })
    const s = await summary(attack(port, 'idle', 20, 2500))
    console.log('limit figures', JSON.stringify(s))
    expect(s.opened).toBe(20)
    expect(s.closedByServer).toBe(20)
    expect(s.minLifetimeMs!).toBeGreaterThanOrEqual(350)
  })

  it('leaves connections open within the timeouts', async () => {
    const { port } = await serving({ idleTimeoutMs: 30_000, headerReadTimeoutMs: 30_000 })
    const s = await summary(attack(port, 'idle', 20, 1000))
    expect(s.closedByServer).toBe(0)
    expect(s.open).toBe(20)
  })
})

describe('maxConnections', () => {
  it('closes a connection over the cap while an open scrape connection goes on', async () => {
    const { url, port } = await serving({ maxConnections: 30, headerReadTimeoutMs: 30_000 })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      expect((await keepAliveGet(url, agent)).status).toBe(200)
      const filler = attack(port, 'silent', 29, 4000)
      await filler.line('ready')
      // One more: the server closes it without an answer.
      await expect(httpGet(`${url}/metrics`)).rejects.toThrow()
      const over = await summary(attack(port, 'silent', 5, 500))
      expect(over.closedByServer + over.refused).toBe(5)
      // The connection already open keeps scraping.
      for (let i = 0; i < 3; i++) expect((await keepAliveGet(url, agent)).status).toBe(200)
      await killProgram(filler)
      // Once the server has seen the filler's connections close, a new connection is served.
      const after = await eventually(() => httpGet(`${url}/metrics`), 5000, 'a scrape on a new connection')
      expect(after.status).toBe(200)
    } finally {
      agent.destroy()
    }
  })
})

describe('writeTimeoutMs and maxConcurrentRenders', () => {
  it('drops a stalled reader after writeTimeoutMs, which frees its render', async () => {
    // A write timeout far above the probe's round trip, even on a loaded machine.
    const { rt, url, port } = await serving({ writeTimeoutMs: 1500, maxConcurrentRenders: 1, renderWaitMs: 100 })
    // A large target (~6 MB of text): far more than the socket buffers take from a stalled reader.
    const g = rt.metrics.createGaugeVec('big', 'a large target', ['series'] as const, undefined, { maxSeries: 100_000 })
    const pad = 'x'.repeat(80)
    for (let i = 0; i < 50_000; i++) g.set(i, { series: `${pad}${i}` })
    const full = await httpGet(`${url}/metrics`)
    expect(full.status).toBe(200)

    const stalled = attack(port, 'stalled', 1, 4000)
    // Its first bytes tell its render holds the one permit (taken before the render starts).
    await stalled.line('answered')
    const during = await httpGet(`${url}/metrics`)
    expect(during.status).toBe(503)
    // After the write timeout the stalled render is gone and scrapes answer again.
    let after = during
    const stalledAt = performance.now()
    const until = performance.now() + 5000
    while (after.status !== 200 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 100))
      after = await httpGet(`${url}/metrics`)
    }
    const freedMs = Math.round(performance.now() - stalledAt)
    expect(after.status).toBe(200)
    // The same target in full; only the uptime sample moves between scrapes (and its length with it).
    expect(steady(after.body) === steady(full.body)).toBe(true)
    const s = await summary(stalled)
    console.log(
      'limit figures',
      JSON.stringify({ bodyBytes: full.body.length, stalledBytes: s.stalledBytes, renderFreedWithinMs: freedMs }),
    )
    expect(s.stalledBytes).toBeLessThan(full.body.length)
  })

  it('200 stalled readers of a large target pin at most maxConcurrentRenders renders of memory', async () => {
    const { rt, url, port } = await serving({ writeTimeoutMs: 3000 })
    const g = rt.metrics.createGaugeVec('big', 'a large target', ['series'] as const, undefined, { maxSeries: 100_000 })
    const pad = 'x'.repeat(80)
    for (let i = 0; i < 50_000; i++) g.set(i, { series: `${pad}${i}` })
    expect((await httpGet(`${url}/metrics`)).status).toBe(200)
    const before = process.memoryUsage.rss()
    const stalled = attack(port, 'stalled', 200, 2500)
    await stalled.line('ready')
    let peak = before
    const done = summary(stalled)
    let finished = false
    void done.then(() => (finished = true))
    while (!finished) {
      peak = Math.max(peak, process.memoryUsage.rss())
      await new Promise((r) => setTimeout(r, 100))
    }
    const growthMB = (peak - before) / 2 ** 20
    console.log('limit figures', JSON.stringify({ stalledReaders: 200, bodyBytes: 6_128_285, rssGrowthMB: Math.round(growthMB) }))
    // Measured: ~20 MB with the default bound of 16 renders; ~63 MB with the bound lifted
    // (DYN_SYSTEM_MAX_CONCURRENT_RENDERS=1000), where every stalled reader pins its render.
    expect(growthMB).toBeLessThan(45)
    expect((await httpGet(`${url}/live`)).status).toBe(503)
  })

  it('answers 503 with Retry-After past the render bound, and 200 once a render is free', async () => {
    const { rt, url } = await serving({ maxConcurrentRenders: 1, renderWaitMs: 100 })
    const cb = gatedCallback(rt)
    const first = httpGet(`${url}/metrics`)
    // The callback runs once the first scrape holds the one render permit.
    await eventually(() => (cb.runs() === 1 ? true : undefined), 5000, 'the first scrape running its callback')
    const refused = await httpGet(`${url}/metrics`)
    expect(refused.status).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    // Health is no render.
    expect((await httpGet(`${url}/live`)).status).toBe(503)
    cb.release()
    expect((await first).status).toBe(200)
    expect((await httpGet(`${url}/metrics`)).status).toBe(200)
  })

  it('concurrent scrapes within the bound still share one run of the callbacks', async () => {
    const { rt, url } = await serving({ maxConcurrentRenders: 8 })
    const cb = gatedCallback(rt)
    const all = Array.from({ length: 8 }, () => httpGet(`${url}/metrics`))
    await new Promise((r) => setTimeout(r, 200))
    cb.release()
    const rs = await Promise.all(all)
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200))
    expect(cb.runs()).toBe(1)
  })
})

describe('smaller server points', () => {
  it('HEAD /metrics answers headers only, without running the callbacks', async () => {
    const { rt, url } = await serving()
    let runs = 0
    rt.registerMetricsCallback(() => void runs++)
    const res = await new Promise<{ status: number; type?: string; body: string }>((resolve, reject) => {
      const req = request(`${url}/metrics`, { method: 'HEAD', agent: false }, (r) => {
        let body = ''
        r.on('data', (c: Buffer) => (body += c.toString()))
        r.on('end', () => resolve({ status: r.statusCode ?? 0, type: r.headers['content-type'], body }))
      })
      req.on('error', reject)
      req.end()
    })
    expect(res).toEqual({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: '' })
    expect(runs).toBe(0)
    expect((await httpGet(`${url}/metrics`)).status).toBe(200)
    expect(runs).toBe(1)
  })

  it('raises a tiny X-Prometheus-Scrape-Timeout-Seconds to the minimum, so callbacks still count', async () => {
    const { rt, url } = await serving({ scrapeTimeoutMs: 1000 })
    const g = rt.metrics.createGauge('fresh', 'set by the callback')
    let n = 0
    rt.registerMetricsCallback(async () => {
      await new Promise((r) => setTimeout(r, 30))
      g.set(++n)
    })
    const r = await httpGet(`${url}/metrics`, { 'X-Prometheus-Scrape-Timeout-Seconds': '1e-9' })
    expect(r.status).toBe(200)
    expect(sample(r.body, 'dynamo_component_fresh')).toBe(1)
    expect(sample(r.body, ERRORS)).toBe(0)
  })

  it.each(['/a b', '/héalth', '/a?b'])('rejects healthPath %j, which no request can match, with ConfigError', async (path) => {
    const e = await DistributedRuntime.create({ systemEnabled: false, healthPath: path }).then(
      (rt) => (runtimes.push(rt), undefined),
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as Error).message).toContain('healthPath')
    expect((e as Error).message).toContain('no request')
  })

  it('reads the limits from DYN_SYSTEM_* variables, and rejects a malformed one naming it', async () => {
    const env = join(__dirname, 'fixtures', 'env-runtime.mjs')
    const run = async (vars: Record<string, string>) => {
      const p = startProgram(env, ['{}', '["/metrics"]'], { DYN_SYSTEM_HOST: '127.0.0.1', DYN_SYSTEM_PORT: '0', ...vars })
      programs.push(p)
      return JSON.parse((await p.line('{')).line) as {
        ok: boolean
        responses?: Record<string, { status: number }>
        error?: { isConfigError: boolean; message: string }
      }
    }
    // A render wait of 0 and one render: still a 200 for a lone scrape.
    const good = await run({ DYN_SYSTEM_MAX_CONCURRENT_RENDERS: '1', DYN_SYSTEM_RENDER_WAIT_MS: '0' })
    expect(good.ok).toBe(true)
    expect(good.responses!['/metrics']!.status).toBe(200)
    const bad = await run({ DYN_SYSTEM_MAX_CONNECTIONS: '10k' })
    expect(bad.ok).toBe(false)
    expect(bad.error!.isConfigError).toBe(true)
    expect(bad.error!.message).toContain('DYN_SYSTEM_MAX_CONNECTIONS')
    expect(bad.error!.message).toContain('10k')
  })

  it('rejects a zero limit with ConfigError naming the option', async () => {
    for (const o of [{ maxConnections: 0 }, { maxConcurrentRenders: 0 }, { writeTimeoutMs: 0 }] as RuntimeOptions[]) {
      await expect(DistributedRuntime.create({ systemEnabled: false, ...o })).rejects.toThrow(
        new RegExp(Object.keys(o)[0]!),
      )
    }
  })
})
