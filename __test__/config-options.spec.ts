// Numeric options are checked as the JS numbers given, before anything converts them: a port of
// 80.9 must not bind port 80, NaN must not pick a random port, a timeout of -1 or 1e20 must not
// remove the scrape deadline.
import { describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime, MetricsError, type RuntimeOptions } from '../dist/cjs/index.js'

async function createError(options: RuntimeOptions): Promise<unknown> {
  try {
    const rt = await DistributedRuntime.create(options)
    await rt.shutdown()
    return null
  } catch (e) {
    return e
  }
}

describe('numeric runtime options', () => {
  const bad: Array<[keyof RuntimeOptions, number]> = [
    ['systemPort', 80.9],
    ['systemPort', 1.5],
    ['systemPort', Number.NaN],
    ['systemPort', -1],
    ['systemPort', Number.POSITIVE_INFINITY],
    ['systemPort', 65536],
    ['scrapeTimeoutMs', -1],
    ['scrapeTimeoutMs', 1e20],
    ['scrapeTimeoutMs', 0],
    ['scrapeTimeoutMs', 2.5],
    ['scrapeTimeoutMs', Number.NaN],
  ]
  for (const [option, value] of bad) {
    it(`${option}: ${String(value)} is a ConfigError naming the option and the value`, async () => {
      const e = await createError({ systemHost: '127.0.0.1', [option]: value })
      expect(e).toBeInstanceOf(ConfigError)
      expect(e).toBeInstanceOf(MetricsError)
      const err = e as ConfigError
      expect(err.code).toBe('ERR_DYNAMO_CONFIG')
      expect(err.message).toContain(option)
      expect(err.message).toContain(String(value))
    })
  }

  it('integers in range are taken as given', async () => {
    const rt = await DistributedRuntime.create({ systemHost: '127.0.0.1', systemPort: 0, scrapeTimeoutMs: 4294967295 })
    try {
      expect(rt.systemStatusServer).not.toBeNull()
      expect(rt.systemStatusServer!.port).toBeGreaterThan(0)
    } finally {
      await rt.shutdown()
    }
  })
})
