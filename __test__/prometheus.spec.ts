// A real Prometheus server scrapes the status server with the repository's own scrape config
// (deploy/prometheus/prometheus.yml, pointed at this test's port) and its query API sees the
// values: the end-to-end path a deployment relies on.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DistributedRuntime } from '../dist/cjs/index.js'
import { freePort, httpGet } from './util'

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0
if (!hasPrometheus && process.env.CI === 'true') {
  throw new Error('prometheus is required in CI: apt-get install prometheus')
}
if (!hasPrometheus) console.warn('skipping the Prometheus scrape test: install it with `apt-get install prometheus`')

interface QueryResult {
  status: string
  data: { result: { metric: Record<string, string>; value: [number, string] }[] }
}

describe.runIf(hasPrometheus)('a real Prometheus server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynamo-prom-'))
  let prom: ChildProcess | undefined
  afterAll(() => {
    prom?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('scrapes /metrics with the deploy config and answers queries with the values', async () => {
    const rt = await DistributedRuntime.create({ systemPort: 0, systemHost: '127.0.0.1' })
    try {
      const ep = rt.namespace('ns556').component('cp556').endpoint('ep556')
      const slots = ep.metrics.createIntGauge('request_total_slots', 'Total request slots available')
      const byWorker = ep.metrics.createIntGaugeVec('worker_active_requests', 'Active requests per worker', ['worker_id', 'model'] as const)
      ep.registerMetricsCallback(() => slots.set(1024))
      byWorker.set(5, { worker_id: 'worker_1', model: 'llama-3' })

      const port = rt.systemStatusServer?.port as number
      const config = readFileSync(join(__dirname, '..', 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')
        .replace("'demo:8081'", `'127.0.0.1:${port}'`)
        .replace(/scrape_interval: \d+s/g, 'scrape_interval: 1s')
      expect(config).toContain(`127.0.0.1:${port}`)
      writeFileSync(join(dir, 'prometheus.yml'), config)
      const webPort = await freePort()
      prom = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${webPort}`,
        ],
        { stdio: 'ignore' },
      )
      const query = async (q: string): Promise<QueryResult | undefined> => {
        try {
          const r = await httpGet(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(q)}`)
          return r.status === 200 ? (JSON.parse(r.body) as QueryResult) : undefined
        } catch {
          return undefined
        }
      }
      let slotsResult: QueryResult | undefined
      for (let i = 0; i < 60; i++) {
        slotsResult = await query('dynamo_component_request_total_slots')
        if (slotsResult?.data.result.length) break
        await new Promise((r) => setTimeout(r, 250))
      }
      const sample = slotsResult?.data.result[0]
      expect(sample?.value[1]).toBe('1024')
      expect(sample?.metric).toMatchObject({
        job: 'dynamo-backend',
        dynamo_namespace: 'ns556',
        dynamo_component: 'cp556',
        dynamo_endpoint: 'ep556',
      })
      const workers = await query('dynamo_component_worker_active_requests{model="llama-3"}')
      expect(workers?.data.result.map((r) => [r.metric.worker_id, r.value[1]])).toEqual([['worker_1', '5']])
      const up = await query(`up{job="dynamo-backend"}`)
      expect(up?.data.result[0]?.value[1]).toBe('1')
    } finally {
      await rt.shutdown()
    }
  }, 30_000)
})
