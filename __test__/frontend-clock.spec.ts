// The tracker's clocks: the coarse clock thread exists only while a runtime uses it, and both
// clocks measure real time (TTFT and duration of a request that waited 30 ms).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime } from '../dist/cjs/index.js'
import { PKG } from './util'

describe('frontend tracker clocks', () => {
  for (const clock of ['coarse', 'precise'] as const) {
    it(`clock '${clock}' measures TTFT, ITL and duration in real time`, async () => {
      const rt = await DistributedRuntime.create({ systemEnabled: false })
      try {
        const fm = rt.frontendMetrics({ clock })
        const f = fm.families
        const t = fm.startRequest({ model: 'm' })
        await new Promise((r) => setTimeout(r, 30))
        t.token()
        await new Promise((r) => setTimeout(r, 30))
        t.token()
        t.finish()
        const ttft = f.timeToFirstToken.getSum({ model: 'm' })
        const itl = f.interTokenLatency.getSum({ model: 'm' })
        const dur = f.requestDuration.getSum({ model: 'm' })
        // Timers fire no earlier than asked; the coarse clock is within its 0.25 ms tick.
        expect(ttft).toBeGreaterThanOrEqual(0.029)
        expect(itl).toBeGreaterThanOrEqual(0.029)
        expect(dur).toBeGreaterThanOrEqual(ttft + itl - 0.001)
      } finally {
        await rt.shutdown()
      }
    })
  }

  it("rejects an unknown clock and a second set with another clock for the same prefix", async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      expect(() => rt.frontendMetrics({ clock: 'fast' as never })).toThrow(ConfigError)
      for (const bad of [0, 49, 100_001, 1.5, '500']) {
        expect(() => rt.frontendMetrics({ clockTickUs: bad as never })).toThrow(/clockTickUs must be an integer from 50 to 100000/)
      }
      rt.frontendMetrics({ clock: 'precise' })
      expect(() => rt.frontendMetrics({ clock: 'coarse' })).toThrow(/other buckets or clock settings/)
    } finally {
      await rt.shutdown()
    }
  })

  it.runIf(existsSync('/proc/self/task'))('runs one clock thread per tick while runtimes use it, none after the last shutdown', () => {
    const script = `
      const { readdirSync, readFileSync } = require('node:fs')
      const { DistributedRuntime } = require(${JSON.stringify(PKG)})
      const clocks = () => readdirSync('/proc/self/task').filter((t) => {
        try { return readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'dynamo-clock' } catch { return false }
      }).length
      // A new thread names itself once it runs: give it a moment before counting.
      const settled = () => new Promise((r) => setTimeout(() => r(clocks()), 200))
      ;(async () => {
        const out = [clocks()]
        const a = await DistributedRuntime.create({ systemEnabled: false })
        const b = await DistributedRuntime.create({ systemEnabled: false })
        a.frontendMetrics(); b.frontendMetrics({ prefix: 'x' }); a.frontendMetrics({ prefix: 'y' })
        out.push(await settled())
        b.frontendMetrics({ prefix: 'z', clockTickUs: 1000 })
        out.push(await settled())
        // b held both ticks, a only the default one.
        await b.shutdown()
        out.push(await settled())
        await a.shutdown()
        out.push(await settled())
        // A set asked of a runtime already shut down fails and starts no thread.
        let closed = ''
        try { a.frontendMetrics({ prefix: 'late' }) } catch (e) { closed = e.code }
        out.push(closed, await settled())
        console.log(JSON.stringify(out))
      })()
    `
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.trim())).toEqual([0, 1, 2, 1, 0, 'ERR_DYNAMO_CLOSED', 0])
  })
})
