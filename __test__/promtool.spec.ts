// Prometheus's own linter reads our exposition: the format must parse as real Prometheus text.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { DistributedRuntime } from '../dist/cjs/index.js'

const hasPromtool = spawnSync('promtool', ['--version']).status === 0
if (!hasPromtool && process.env.CI === 'true') {
  throw new Error('promtool is required in CI: apt-get install prometheus')
}
if (!hasPromtool) console.warn('skipping promtool tests: install promtool with `apt-get install prometheus`')

describe.runIf(hasPromtool)('promtool check metrics', () => {
  it('accepts every metric type, escaping and special values', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      const ep = rt.namespace('ns').component('backend').endpoint('generate')
      ep.metrics.createCounter('requests_total', 'Requests.\nSecond line with \\ backslash').incBy(1.5)
      ep.metrics.createIntGauge('slots', 'Slots').set(1024)
      ep.metrics.createGauge('weird', 'Special values').set(Number.NaN)
      const v = ep.metrics.createGaugeVec('per_worker', 'Per worker', ['worker_id'] as const)
      v.set(Number.POSITIVE_INFINITY, { worker_id: 'a"b\\c\nd' })
      v.set(-1e21, { worker_id: 'plain' })
      const h = ep.metrics.createHistogramVec('latency_seconds', 'Latency', ['model'] as const, { buckets: [0.1, 1, 10] })
      h.observe(0.05, { model: 'llama' })
      h.observe(5, { model: 'llama' })
      rt.namespace('ns').component('backend').endpoint('other').metrics.createCounter('requests_total', 'Requests.\nSecond line with \\ backslash').inc()
      const text = await rt.prometheusMetricsFmt()
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      // promtool exits 0 for valid text; lint hints (like counter names without _total) go to stdout
      // with exit 3, so only a parse error (exit 1) or a crash is a failure here.
      expect(r.stderr).not.toMatch(/error while linting|text format parsing error/)
      expect([0, 3]).toContain(r.status)
    } finally {
      await rt.shutdown()
    }
  })
})
