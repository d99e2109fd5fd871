// Method 1 wire types through the public entry: one validation (the core's field table), typed
// errors naming the field, for publish(), publishKvHitRate() and the aggregator's options.
import { describe, expect, it } from 'vitest'
import { ConfigError, DistributedRuntime, InvalidArgumentError, InvalidValueError, KvMetricsAggregator, WorkerMetricsPublisher, publishKvHitRate } from '../dist/cjs/index.js'
import { fpm } from './method1-helpers'

function thrown(f: () => unknown): InvalidValueError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidValueError)
    expect((e as InvalidValueError).code).toBe('ERR_DYNAMO_INVALID_VALUE')
    return e as InvalidValueError
  }
  throw new Error('expected a throw')
}

describe('ForwardPassMetrics validation', () => {
  const pub = new WorkerMetricsPublisher()

  it('accepts plain objects, with or without the optional parts', () => {
    pub.publish(fpm({ kvActiveBlocks: 3 }))
    const m = fpm()
    pub.publish({
      ...m,
      workerStats: { ...m.workerStats, dataParallelRank: 2 },
      specDecodeStats: { numSpecTokens: 4, numAcceptedTokensPerPos: [1, 2, 3] },
    })
    pub.publish({ ...m, specDecodeStats: null })
  })

  it.each([
    ['kvStats.gpuCacheUsagePerc', (m: ReturnType<typeof fpm>) => (m.kvStats.gpuCacheUsagePerc = 1.5), 'from 0 to 1'],
    ['kvStats.gpuPrefixCacheHitRate', (m: ReturnType<typeof fpm>) => (m.kvStats.gpuPrefixCacheHitRate = NaN), 'from 0 to 1'],
    ['kvStats.kvActiveBlocks', (m: ReturnType<typeof fpm>) => (m.kvStats.kvActiveBlocks = 2.5), 'u64'],
    ['workerStats.numRequestsWaiting', (m: ReturnType<typeof fpm>) => (m.workerStats.numRequestsWaiting = -1), 'u64'],
    ['workerStats.requestTotalSlots', (m: ReturnType<typeof fpm>) => ((m.workerStats as Record<string, unknown>).requestTotalSlots = '5'), 'u64'],
    ['workerStats.dataParallelRank', (m: ReturnType<typeof fpm>) => (m.workerStats.dataParallelRank = 2 ** 32), 'u32'],
    ['kvStats.kvTotalBlocks', (m: ReturnType<typeof fpm>) => delete (m.kvStats as Partial<typeof m.kvStats>).kvTotalBlocks, 'missing'],
  ])('refuses a bad %s, naming it', (field, spoil, rule) => {
    const m = fpm()
    spoil(m)
    const e = thrown(() => pub.publish(m))
    expect(e.message).toContain(`'${field}'`)
    expect(e.message).toContain(rule)
  })

  it('refuses a missing group, a non-object and a bad list', () => {
    expect(thrown(() => pub.publish({ workerStats: fpm().workerStats } as never)).message).toContain("'kvStats'")
    expect(thrown(() => pub.publish(null as never)).message).toContain('must be an object')
    const e = thrown(() => pub.publish({ ...fpm(), specDecodeStats: { numAcceptedTokensPerPos: [1, -2] } }))
    expect(e.message).toContain("'specDecodeStats.numAcceptedTokensPerPos'")
  })
})

describe('KvHitRateEvent and aggregator options', () => {
  it('publishKvHitRate refuses bad events with a typed error naming the field (before any NATS use)', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      const ns = rt.namespace('dynamo')
      await expect(publishKvHitRate(ns, { workerId: 1.5, islBlocks: 1, overlapBlocks: 0 })).rejects.toThrow(/'workerId' must be an integer \(i64\)/)
      await expect(publishKvHitRate(ns, { workerId: 1, islBlocks: -1, overlapBlocks: 0 })).rejects.toBeInstanceOf(InvalidValueError)
      await expect(publishKvHitRate(ns, { workerId: 1, islBlocks: 1 } as never)).rejects.toThrow(/'overlapBlocks'/)
      await expect(publishKvHitRate(ns, { workerId: 1n, islBlocks: 1, overlapBlocks: 0 } as never)).rejects.toThrow(/cannot be serialized/)
    } finally {
      await rt.shutdown()
    }
  })

  it('the aggregator refuses bad options with a ConfigError naming the option', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      const c = rt.namespace('dynamo').component('backend')
      expect(() => new KvMetricsAggregator(c, { pollIntervalMs: 0 })).toThrow(ConfigError)
      expect(() => new KvMetricsAggregator(c, { pollTimeoutMs: 1.5 })).toThrow(/pollTimeoutMs/)
      expect(() => new KvMetricsAggregator(c, { pollIntervalMs: 500, staleAfterMs: 600 })).toThrow(/staleAfterMs/)
      // Not a Component: the typed argument error, not a plain TypeError.
      expect(() => new KvMetricsAggregator({} as never)).toThrow(InvalidArgumentError)
      expect(() => new KvMetricsAggregator({} as never)).toThrow(/KvMetricsAggregator: component must be a Component/)
    } finally {
      await rt.shutdown()
    }
  })
})
