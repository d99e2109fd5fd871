// Load and soak: for 20 s, scrapes from another process while JS updates metrics at full speed,
// plus 1,000 idle connections and 200 stalled readers (child processes on loopback, bounded in
// count and time). No failed scrape, no wrong value, resident memory after warm-up grows by at
// most 10%, and it is back within 10% of the start a few seconds after the attackers leave.
// Warm-up: one short round of the same attackers (so buffers and allocator arenas reach their
// size); the start is measured after it; growth is measured from when the main attack's
// connections are all open to its end.
// Figures of the last run: docs/reliability.md. SOAK_SECONDS shortens or lengthens the attack.
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { DistributedRuntime } from '../dist/cjs/index.js'
import { httpGet, killProgram, sample, startProgram, type Program } from './util'

const ATTACKER = join(__dirname, 'fixtures', 'server-attacker.mjs')
const SCRAPER = join(__dirname, 'fixtures', 'soak-scraper.mjs')
const SERIES = 500
const ATTACK_MS = Number(process.env.SOAK_SECONDS ?? 20) * 1000
const WARMUP_MS = 2500
const AFTER_MS = 3000
const IDLE = 1000
const STALLED = 200

const programs: Program[] = []
let rt: DistributedRuntime | undefined
afterAll(async () => {
  await Promise.all(programs.splice(0).map(killProgram))
  await rt?.shutdown()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const rss = () => process.memoryUsage.rss()
const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10

it(
  'serves every scrape right under load, idle connections and stalled readers, in bounded memory',
  async () => {
    rt = await DistributedRuntime.create({ systemPort: 0, systemHost: '127.0.0.1' })
    const port = rt.systemStatusServer!.port
    const updates = rt.metrics.createIntCounterVec('soak_updates_total', 'updates made by the soak test', ['series'] as const)
    const children = Array.from({ length: SERIES }, (_, i) => updates.labels({ series: `s${i}` }))
    const expected = new Float64Array(SERIES)
    const latency = rt.metrics.createHistogram('soak_latency_seconds', 'a histogram kept busy')

    // JS writes at full speed, yielding to the event loop between batches.
    let running = true
    let written = 0
    const updater = (async () => {
      let k = 0
      while (running) {
        for (let j = 0; j < 20_000; j++) {
          k = (k + 7) % SERIES
          children[k]!.inc()
          expected[k]!++
          latency.observe((j % 100) / 1000)
        }
        written += 20_000
        await new Promise((r) => setImmediate(r))
      }
    })()

    const scraper = startProgram(SCRAPER, [String(port), '4', String(WARMUP_MS + ATTACK_MS + AFTER_MS + 20_000), String(SERIES)])
    programs.push(scraper)
    const attackers = (ms: number, ...flags: string[]) => {
      const idle = startProgram(ATTACKER, [String(port), 'idle', String(IDLE), String(ms), '--ramp', ...flags])
      const stalled = startProgram(ATTACKER, [String(port), 'stalled', String(STALLED), String(ms), '--ramp', ...flags])
      programs.push(idle, stalled)
      return [idle, stalled] as const
    }
    const summaries = (ps: readonly Program[]) =>
      Promise.all(ps.map(async (p) => JSON.parse((await p.line('{')).line) as { opened: number; closedByServer: number }))

    // Warm-up: scrapes, writes and one short round of the attackers, so that connection buffers
    // and allocator arenas have reached their steady size before the start is measured.
    const rssBefore = rss()
    await summaries(attackers(WARMUP_MS))
    await sleep(1000)
    const rssStart = rss()
    const heapStart = process.memoryUsage().heapTotal

    const main = attackers(ATTACK_MS, '--reconnect')
    await Promise.all(main.map((p) => p.line('ready')))
    const attackStarted = performance.now()
    // The attackers' connections cost memory of their own while they are open; what must not
    // grow is the total once they are all there (nothing accumulates per scrape or connection).
    await sleep(2000)
    const rssWarm = rss()
    let rssMax = rssWarm
    let attackersDone = false
    const done = summaries(main).then((v) => ((attackersDone = true), v))
    while (!attackersDone) {
      rssMax = Math.max(rssMax, rss())
      await sleep(250)
    }
    const attackMs = performance.now() - attackStarted
    const [idleSum, stalledSum] = await done
    await sleep(AFTER_MS)
    const rssAfter = rss()
    const heapAfter = process.memoryUsage().heapTotal
    scraper.send('stop')

    const s = JSON.parse((await scraper.line('{')).line) as { scrapes: number; failures: number; firstFailures: string[]; maxLatencyMs: number }
    running = false
    await updater
    const final = await httpGet(`http://127.0.0.1:${port}/metrics`)
    let wrong = 0
    for (let i = 0; i < SERIES; i++) {
      if (sample(final.body, 'dynamo_component_soak_updates_total', `{series="s${i}"}`) !== expected[i]) wrong++
    }
    const figures = {
      attackSeconds: Math.round(attackMs / 100) / 10,
      scrapes: s.scrapes,
      failedScrapes: s.failures,
      maxScrapeLatencyMs: Math.round(s.maxLatencyMs),
      jsUpdates: written,
      idleConnectionsOpened: idleSum!.opened,
      stalledReadersOpened: stalledSum!.opened,
      rssBeforeWarmupMB: mb(rssBefore),
      rssStartMB: mb(rssStart),
      rssAttackersConnectedMB: mb(rssWarm),
      rssMaxMB: mb(rssMax),
      rssGrowthAfterWarmupPct: Math.round((rssMax / rssWarm - 1) * 1000) / 10,
      rssAfterAttackMB: mb(rssAfter),
      rssAfterVsStartPct: Math.round((rssAfter / rssStart - 1) * 1000) / 10,
      v8HeapStartMB: mb(heapStart),
      v8HeapAfterMB: mb(heapAfter),
      wrongValues: wrong,
    }
    console.log('soak figures', JSON.stringify(figures), JSON.stringify(s.firstFailures))

    expect(s.firstFailures).toEqual([])
    expect(s.failures).toBe(0)
    expect(s.scrapes).toBeGreaterThan(50)
    expect(final.status).toBe(200)
    expect(wrong).toBe(0)
    expect(idleSum!.opened).toBeGreaterThanOrEqual(IDLE)
    expect(stalledSum!.opened).toBeGreaterThanOrEqual(STALLED)
    expect(rssMax).toBeLessThanOrEqual(rssWarm * 1.1)
    expect(rssAfter).toBeLessThanOrEqual(rssStart * 1.1)
  },
  ATTACK_MS + WARMUP_MS + AFTER_MS + 40_000,
)
