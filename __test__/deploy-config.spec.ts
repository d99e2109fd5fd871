// The shipped deployment files checked by the real programs that read them (promtool,
// docker-compose) and, since Grafana cannot run here, the dashboards structurally: schema,
// unique ids, the provisioned datasource uid, an expression per target, and the query rules
// (counters only through rate(), percentiles as histogram_quantile(q, sum by (le) (rate(...)))).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEPLOY, ROOT, dashboards, datasourceUid, expressions, panels } from './deploy-files'

function has(program: string, args: string[]): boolean {
  const ok = spawnSync(program, args).status === 0
  if (!ok && process.env.CI === 'true') throw new Error(`${program} is required in CI (apt-get install ${program})`)
  if (!ok) console.warn(`skipping ${program} checks: install it with apt-get`)
  return ok
}
const hasPromtool = has('promtool', ['--version'])
const hasCompose = has('docker-compose', ['version'])

const PROM_CONFIG = join(DEPLOY, 'prometheus', 'prometheus.yml')
/** The aggregator's gauge whose name ends in _total (Dynamo's name, not a counter). */
const GAUGES_NAMED_TOTAL = ['llm_kv_blocks_total']
const VARS = { __rate_interval: '1m', component: 'backend', endpoint: 'generate' }

describe.runIf(hasPromtool)('promtool', () => {
  it('accepts the shipped prometheus.yml, with the four jobs and honor_labels on the Pushgateway', () => {
    const r = spawnSync('promtool', ['check', 'config', PROM_CONFIG], { encoding: 'utf8' })
    expect(r.status, r.stdout + r.stderr).toBe(0)
    const text = readFileSync(PROM_CONFIG, 'utf8')
    const jobs = [...text.matchAll(/job_name:\s*(\S+)/g)].map((m) => m[1])
    expect(jobs).toEqual(['dynamo-frontend', 'dynamo-backend', 'metrics-aggregation-service', 'pushgateway'])
    expect(text).toMatch(/job_name: pushgateway\n\s+honor_labels: true/)
    expect(text).toContain(':8081')
    expect(text).toContain(':9091')
  })

  it('parses every dashboard expression (variables substituted) as PromQL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynamo-rules-'))
    try {
      const exprs = dashboards().flatMap(({ d }) => expressions(d, VARS))
      expect(exprs.length).toBeGreaterThan(30)
      const rules = ['groups:', '  - name: dashboards', '    rules:']
      exprs.forEach((e, i) => rules.push(`      - record: dashboard:expr_${i}`, `        expr: ${JSON.stringify(e.expr)}`))
      writeFileSync(join(dir, 'rules.yml'), rules.join('\n') + '\n')
      const r = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' })
      expect(r.status, r.stdout + r.stderr).toBe(0)
      expect(r.stdout).toContain(`${exprs.length} rules found`)
      // A broken expression does fail the same check.
      writeFileSync(join(dir, 'bad.yml'), rules.slice(0, 3).join('\n') + '\n      - record: x\n        expr: "rate(foo[1m]"\n')
      expect(spawnSync('promtool', ['check', 'rules', join(dir, 'bad.yml')]).status).not.toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe.runIf(hasCompose)('docker-compose', () => {
  const compose = (args: string[]) =>
    spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), ...args], { encoding: 'utf8', cwd: ROOT })

  it('validates the compose file; the metrics profile adds the demo, Prometheus, Pushgateway and Grafana', () => {
    const q = compose(['--profile', 'metrics', 'config', '-q'])
    expect(q.status, q.stderr).toBe(0)
    const all = compose(['--profile', 'metrics', 'config', '--services'])
    expect(all.stdout.trim().split('\n').sort()).toEqual(['demo', 'grafana', 'nats-server', 'prometheus', 'pushgateway'])
    const resolved = compose(['--profile', 'metrics', 'config']).stdout
    // Every service but NATS is in the metrics profile (docker-compose v1 lists them all).
    const blocks = resolved.split(/\n {2}(?=[a-z-]+:\n)/).slice(1)
    const inProfile = blocks.filter((b) => /\n {4}profiles:\n {4}- metrics/.test(b)).map((b) => b.split(':')[0])
    expect(inProfile.sort()).toEqual(['demo', 'grafana', 'prometheus', 'pushgateway'])
    expect(resolved).toContain('GF_SECURITY_ADMIN_PASSWORD: admin')
    expect(resolved).toMatch(/published: "?3000"?|3000:3000/)
  })

  it('mounts files that exist', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')
    const mounts = [...text.matchAll(/'?\.\/(deploy\/[^:']+):/g)].map((m) => m[1])
    expect(mounts.length).toBe(3)
    for (const m of mounts) expect(existsSync(join(ROOT, m)), m).toBe(true)
  })
})

describe('Grafana dashboards (structure)', () => {
  const uid = datasourceUid()
  const all = dashboards()

  it('ships the three dashboards with unique uids', () => {
    expect(all.map((x) => x.file)).toEqual(['dynamo-frontend-components.json', 'dynamo-llm-aggregator.json', 'dynamo-method2.json'])
    expect(new Set(all.map((x) => x.d.uid)).size).toBe(all.length)
    const provider = readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'dashboards.yml'), 'utf8')
    expect(provider).toContain('path: /var/lib/grafana/dashboards')
  })

  for (const { file, d } of all) {
    it(`${file}: schema, unique panel ids, the provisioned datasource, an expression and a description per panel`, () => {
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36)
      expect(d.title).toMatch(/^Dynamo/)
      const ps = panels(d)
      const ids = ps.map((p) => p.id)
      expect(new Set(ids).size).toBe(ids.length)
      for (const p of ps.filter((x) => x.type !== 'row')) {
        expect(p.datasource?.uid, p.title).toBe(uid)
        expect(p.description, p.title).toBeTruthy()
        expect(p.targets?.length, p.title).toBeGreaterThan(0)
        for (const t of p.targets ?? []) {
          expect(t.datasource?.uid, p.title).toBe(uid)
          expect(t.expr?.trim(), p.title).toBeTruthy()
        }
      }
      for (const v of d.templating.list) expect(v.datasource?.uid, v.name).toBe(uid)
    })

    it(`${file}: counters only through rate(), percentiles as histogram_quantile(q, sum by (le) (rate(..._bucket[...])))`, () => {
      for (const { panel, expr } of expressions(d, VARS)) {
        // Counters: *_total, histogram series, and the aggregator's two cumulative counters.
        const counters = /\b[a-z_:]+(?:_total|_bucket|_sum|_count|_isl_blocks|_overlap_blocks)\b/g
        for (const m of expr.matchAll(counters)) {
          if (GAUGES_NAMED_TOTAL.includes(m[0])) continue
          const before = expr.slice(0, m.index)
          expect(before.endsWith('rate('), `${panel}: ${m[0]} outside rate() in ${expr}`).toBe(true)
        }
        // Gauges are never rated.
        for (const m of expr.matchAll(/rate\(([a-z_:]+)/g)) {
          expect(GAUGES_NAMED_TOTAL, `${panel}: rate() of a gauge in ${expr}`).not.toContain(m[1])
          expect(m[1], `${panel}: rate() of a gauge in ${expr}`).toMatch(/(_total|_bucket|_sum|_count|_isl_blocks|_overlap_blocks)$/)
        }
        for (const m of expr.matchAll(/histogram_quantile\(/g)) {
          const rest = expr.slice(m.index)
          expect(rest, panel).toMatch(/^histogram_quantile\(0\.\d+, sum by \(le\) \(rate\([a-z_:]+_bucket(\{[^}]*\})?\[1m\]\)\)\)/)
        }
      }
    })
  }

  it('covers the panels of Dynamo\'s main dashboard and the aggregator view', () => {
    const text = (f: string) => JSON.stringify(all.find((x) => x.file === f)?.d)
    const main = text('dynamo-frontend-components.json')
    for (const n of [
      'dynamo_frontend_requests_total',
      'dynamo_frontend_time_to_first_token_seconds_bucket',
      'dynamo_frontend_inter_token_latency_seconds_bucket',
      'dynamo_frontend_request_duration_seconds_bucket',
      'dynamo_frontend_input_sequence_tokens_bucket',
      'dynamo_frontend_output_sequence_tokens_bucket',
      'dynamo_component_requests_total',
      'dynamo_component_request_bytes_total',
      'dynamo_component_response_bytes_total',
      'dynamo_component_errors_total',
      'dynamo_component_request_duration_seconds_bucket',
    ]) {
      expect(main).toContain(n)
    }
    const llm = all.find((x) => x.file === 'dynamo-llm-aggregator.json')?.d
    expect(llm?.templating.list.map((v) => v.name)).toEqual(['component', 'endpoint'])
    for (const n of ['llm_kv_blocks_active', 'llm_kv_blocks_total', 'llm_requests_active_slots', 'llm_requests_total_slots', 'llm_kv_hit_rate_percent', 'llm_load_avg', 'llm_load_std']) {
      expect(JSON.stringify(llm)).toContain(n)
    }
  })
})
