// The shipped deployment end to end with real programs: the demo (frontend + worker) runs, a real
// Prometheus scrapes it with the shipped prometheus.yml (targets pointed at this test's ports), a
// real Pushgateway carries the aggregator's llm_* series, the test sends known traffic through the
// OpenAI-compatible frontend, and then: the request and token counts Prometheus sees equal what
// was sent, and every expression of every shipped dashboard evaluates and returns data.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEPLOY, ROOT, dashboards, expressions } from './deploy-files'
import { freePort, httpGet, killProgram, type Program, startProgram } from './util'

function has(program: string): boolean {
  const ok = spawnSync(program, ['--version']).status === 0
  if (!ok && process.env.CI === 'true') throw new Error(`${program} is required in CI (apt-get install ${program})`)
  if (!ok) console.warn(`skipping the deployment end-to-end test: install ${program} with apt-get`)
  return ok
}
const ready = has('prometheus') && has('prometheus-pushgateway')
const DEMO = join(ROOT, 'examples', 'dist', 'demo.js')

interface Vector {
  status: string
  error?: string
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }
}

function post(port: number, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', connection: 'close' }, agent: false },
      (res) => {
        let b = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (b += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

/** Opens a streaming request and drops the connection after the first chunk. */
function disconnectAfterFirstChunk(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false }, (res) => {
      res.once('data', () => {
        req.destroy()
        resolve()
      })
    })
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)))
    req.end(JSON.stringify({ model: 'toy', stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'a long answer please' }] }))
  })
}

function pushText(v: number): string {
  const lines: string[] = []
  const g = (name: string, help: string, type: string, values: (w: number) => number, perWorker = true): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    if (perWorker) for (const w of [1, 2]) lines.push(`${name}{component="backend",endpoint="generate",worker_id="${w}"} ${values(w)}`)
    else lines.push(`${name}{component="backend",endpoint="generate"} ${values(0)}`)
  }
  // The aggregator's names and help texts (dynamo-facts 5.5/5.5a), shaped as its push mode sends them.
  g('llm_kv_blocks_active', 'Active KV cache blocks', 'gauge', (w) => 10 * w + v)
  g('llm_kv_blocks_total', 'Total KV cache blocks', 'gauge', () => 100)
  g('llm_requests_active_slots', 'Active request slots', 'gauge', (w) => w)
  g('llm_requests_total_slots', 'Total request slots', 'gauge', () => 8)
  g('llm_kv_hit_rate_percent', 'KV hit rate percentage per worker', 'gauge', (w) => 0.25 * w)
  g('llm_load_avg', 'Average load across workers', 'gauge', () => 15 + v, false)
  g('llm_load_std', 'Load standard deviation across workers', 'gauge', () => 5, false)
  g('llm_kv_hit_rate_isl_blocks', 'Cumulative count of ISL blocks in KV hit rate events', 'counter', (w) => 40 * w * v)
  g('llm_kv_hit_rate_overlap_blocks', 'Cumulative count of overlapping blocks in KV hit rate events', 'counter', (w) => 10 * w * v)
  return lines.join('\n') + '\n'
}

function push(port: number, v: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/metrics/job/dynamo_push_metrics', agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(pushText(v))
  })
}

describe.runIf(ready)('the deployment end to end (demo, Prometheus, Pushgateway, every dashboard)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynamo-deploy-'))
  const procs: ChildProcess[] = []
  let demo: Program | undefined
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL')
    if (demo) await killProgram(demo)
    rmSync(dir, { recursive: true, force: true })
  })

  it('counts what was sent and lights every panel', async () => {
    demo = startProgram(DEMO, ['--load', '0'], { DEMO_FRONTEND_PORT: '0', DYN_SYSTEM_PORT: '0', DEMO_HOST: '127.0.0.1' })
    const fPort = Number(/:(\d+) /.exec((await demo.line('frontend http://')).line)?.[1])
    const wPort = Number(/:(\d+)$/.exec((await demo.line('worker http://')).line)?.[1])
    expect(fPort).toBeGreaterThan(0)
    expect(wPort).toBeGreaterThan(0)

    const pgPort = await freePort()
    const pg = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${pgPort}`, `--persistence.file=${join(dir, 'pg')}`], { stdio: 'ignore' })
    procs.push(pg)
    const deadPort = await freePort() // the aggregator itself is not running here
    const targets: Record<string, string> = {
      "'demo:8000'": `'127.0.0.1:${fPort}'`,
      "'demo:8081'": `'127.0.0.1:${wPort}'`,
      "'host.docker.internal:9091'": `'127.0.0.1:${deadPort}'`,
      "'pushgateway:9091'": `'127.0.0.1:${pgPort}'`,
    }
    let config = readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')
    for (const [from, to] of Object.entries(targets)) {
      expect(config).toContain(from)
      config = config.replace(from, to)
    }
    expect([...config.matchAll(/targets: \['([^']+)'\]/g)].map((m) => m[1]).every((t) => t.startsWith('127.0.0.1:'))).toBe(true)
    config = config.replace(/scrape_interval: \d+s/g, 'scrape_interval: 1s')
    writeFileSync(join(dir, 'prometheus.yml'), config)
    const webPort = await freePort()
    procs.push(
      spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`], {
        stdio: 'ignore',
      }),
    )
    const query = async (q: string): Promise<Vector | undefined> => {
      try {
        const r = await httpGet(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent(q)}`)
        return JSON.parse(r.body) as Vector
      } catch {
        return undefined
      }
    }
    const scalar = async (q: string): Promise<number | undefined> => {
      const r = await query(q)
      const v = r?.data?.result[0]?.value[1]
      return v === undefined ? undefined : Number(v)
    }
    const until = async (q: string, want: number, ms = 20_000): Promise<number | undefined> => {
      let v: number | undefined
      for (const end = Date.now() + ms; Date.now() < end; ) {
        v = await scalar(q)
        if (v === want) return v
        await new Promise((r) => setTimeout(r, 250))
      }
      return v
    }

    // Pushgateway: the aggregator's llm_* view, pushed twice so the counters increase.
    for (let i = 0; i < 40 && (await push(pgPort, 1).catch(() => 0)) !== 200; i++) await new Promise((r) => setTimeout(r, 250))

    // Known traffic: streaming and unary requests, an unknown model, a worker error.
    const STREAM = 6
    const UNARY = 5
    let promptTokens = 0
    let completionTokens = 0
    const sends = []
    for (let i = 0; i < STREAM + UNARY; i++) {
      const stream = i < STREAM
      sends.push(post(fPort, { model: 'toy', stream, max_tokens: 3 + i, messages: [{ role: 'user', content: `request number ${i} please` }] }))
    }
    for (const r of await Promise.all(sends)) {
      expect(r.status).toBe(200)
      const usageText = r.body.startsWith('data:') ? r.body.split('\n\n').filter((l) => l.includes('"usage"'))[0].slice(6) : r.body
      const usage = (JSON.parse(usageText) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage
      promptTokens += usage.prompt_tokens
      completionTokens += usage.completion_tokens
    }
    expect(completionTokens).toBe([...Array(STREAM + UNARY).keys()].reduce((a, i) => a + 3 + i, 0))
    expect((await post(fPort, { model: 'nope', messages: [{ role: 'user', content: 'x' }] })).status).toBe(404)
    expect((await post(fPort, { model: 'toy', messages: [{ role: 'user', content: '' }] })).status).toBe(500)
    await push(pgPort, 2)

    const total = STREAM + UNARY + 2
    expect(await until('sum(dynamo_frontend_requests_total)', total)).toBe(total)
    expect(await scalar('sum(dynamo_frontend_requests_total{status="success",request_type="stream"})')).toBe(STREAM)
    expect(await scalar('sum(dynamo_frontend_requests_total{status="success",request_type="unary"})')).toBe(UNARY)
    expect(await scalar('sum(dynamo_frontend_requests_total{error_type="not_found",model="nope"})')).toBe(1)
    expect(await scalar('sum(dynamo_frontend_requests_total{error_type="internal"})')).toBe(1)
    expect(await scalar('sum(dynamo_frontend_output_tokens_total)')).toBe(completionTokens)
    expect(await scalar('sum(dynamo_frontend_output_sequence_tokens_sum)')).toBe(completionTokens)
    expect(await scalar('sum(dynamo_frontend_input_sequence_tokens_sum)')).toBe(promptTokens)
    expect(await scalar('sum(dynamo_frontend_time_to_first_token_seconds_count)')).toBe(STREAM + UNARY)
    expect(await scalar('sum(dynamo_frontend_inflight_requests)')).toBe(0)
    // The worker saw every request that reached it (not the unknown model), one of them failing.
    expect(await until('sum(dynamo_component_requests_total{job="dynamo-backend"})', STREAM + UNARY + 1)).toBe(STREAM + UNARY + 1)
    expect(await scalar('sum(dynamo_component_errors_total{error_type="generate"})')).toBe(1)
    // Each family is scraped once: frontend series only from the frontend job, component series only from the worker job.
    expect(await scalar('count(dynamo_frontend_requests_total{job!="dynamo-frontend"})')).toBeUndefined()
    expect(await scalar('count(dynamo_component_requests_total{job!="dynamo-backend"})')).toBeUndefined()

    // A client that goes away mid-stream.
    await disconnectAfterFirstChunk(fPort)
    expect(await until('sum(dynamo_frontend_disconnected_clients)', 1)).toBe(1)
    expect(await until('sum(dynamo_frontend_requests_total{error_type="cancelled"})', 1)).toBe(1)
    expect(await until('sum(dynamo_frontend_inflight_requests)', 0)).toBe(0)

    // Enough samples after the traffic for every rate() window, then every dashboard expression.
    expect(await until('sum(llm_kv_hit_rate_isl_blocks)', 240)).toBe(240)
    await new Promise((r) => setTimeout(r, 3000))
    const vars = { __rate_interval: '1m', component: 'backend', endpoint: 'generate' }
    let n = 0
    for (const { file, d } of dashboards()) {
      for (const { panel, expr } of expressions(d, vars)) {
        const r = await query(expr)
        expect(r?.status, `${file} / ${panel}: ${expr}: ${r?.error}`).toBe('success')
        expect(r?.data.result.length, `${file} / ${panel}: no data for ${expr}`).toBeGreaterThan(0)
        n++
      }
    }
    expect(n).toBeGreaterThan(30)
    // The variables' own queries find the values substituted above.
    const series = await httpGet(`http://127.0.0.1:${webPort}/api/v1/label/endpoint/values?match[]=llm_kv_blocks_active{component="backend"}`)
    expect((JSON.parse(series.body) as { data: string[] }).data).toEqual(['generate'])

    demo.child.kill('SIGTERM')
    const exit = await demo.exit
    expect(exit.code).toBe(0)
    expect(demo.stdout()).toContain('shut down')
  }, 120_000)
})
