// A failing metrics callback is logged with the level it was registered on and, when given, its
// name (`registerMetricsCallback(cb, { name })`), so a log line says which callback failed.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime } from '../dist/cjs/index.js'

describe('a failing metrics callback is named in the log', () => {
  it('names the level path and the callback name, sync or async, whatever was thrown', () => {
    const r = spawnSync(process.execPath, [join(__dirname, 'fixtures', 'callback-failures.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.stdout).toBe('DONE\n')
    const failed = r.stderr.split('\n').filter((l) => l.includes('metrics callback failed'))
    expect(failed.sort()).toEqual(
      [
        "dynamo-metrics: metrics callback failed: runtime, unnamed callback: boom at the runtime",
        `dynamo-metrics: metrics callback failed: namespace 'dyn.inner', callback "inner-refresh": boom in the inner namespace`,
        `dynamo-metrics: metrics callback failed: component 'dyn.backend', callback "kv-stats": async boom`,
        `dynamo-metrics: metrics callback failed: endpoint 'dyn.backend.generate', callback "queue-depth": a thrown string`,
      ].sort(),
    )
  })

  it('a name that is not a string is a ConfigError, and nothing is registered', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      let runs = 0
      const cb = (): void => void runs++
      expect(() => rt.registerMetricsCallback(cb, { name: 42 as unknown as string })).toThrow(ConfigError)
      expect(() => rt.registerMetricsCallback(cb, { name: 42 as unknown as string })).toThrow('options.name must be a string')
      await rt.prometheusMetricsFmt()
      expect(runs).toBe(0)
    } finally {
      await rt.shutdown()
    }
  })
})
