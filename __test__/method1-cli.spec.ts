// The `dynamo-metrics` command as a child process: flag errors, server mode with two worker
// processes, Pushgateway mode (what the gateway holds; an unreachable URL, then resuming), and
// mock-worker.
import { spawnSync } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DistributedRuntime, publishKvHitRate } from '../dist/cjs/index.js'
import { NatsServer } from './nats-server'
import { CLI, fpm, Pushgateway, requireProgram, uniqueNs, until, WORKER } from './method1-helpers'
import { freePort, httpGet, killProgram, sample, startProgram, type Program } from './util'

const NATS_BIN = requireProgram('nats-server', 'the dynamo-metrics command tests')
const PGW_BIN = requireProgram('prometheus-pushgateway', 'the dynamo-metrics Pushgateway tests')

describe('dynamo-metrics flags', () => {
  it.each([
    [['--component', 'backend', '--endpoint', 'generate', '--poll-interval', '0'], /--poll-interval must be an integer from 1/],
    [['--component', 'backend', '--endpoint', 'generate', '--port', 'abc'], /--port must be an integer from 0 to 65535 \(got 'abc'\)/],
    [['--component', 'backend'], /--endpoint is required/],
    [['--component', 'backend', '--endpoint', 'generate', '--bogus'], /Unknown option '--bogus'/],
    [['--component', 'backend', '--endpoint', 'generate', '--push'], /--push needs --push-url/],
    [['--component', 'backend', '--endpoint', 'generate', '--host', 'localhost'], /--host must be an IP address/],
    [['mock-worker', '--port', '1'], /Unknown option '--port'/],
    [['--component', 'backend', '--endpoint', 'generate', '--model-name', ' '], /--model-name must not be empty/],
  ])('%j: usage on stderr, exit code 2', (args, why) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 })
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(why)
    expect(r.stderr).toContain('Usage:')
    expect(r.stdout).toBe('')
  })

  it('--help prints the usage on stdout and exits 0', () => {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 10_000 })
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('--push-url')
  })
})

describe.skipIf(NATS_BIN === null)('dynamo-metrics over NATS', () => {
  let nats: NatsServer
  let rt: DistributedRuntime
  const programs: Program[] = []

  beforeAll(async () => {
    nats = await NatsServer.start()
    rt = await DistributedRuntime.create({ natsServer: nats.url, systemEnabled: false })
  })
  afterEach(async () => {
    await Promise.all(programs.splice(0).map(killProgram))
  })
  afterAll(async () => {
    await rt?.shutdown()
    await nats?.stop()
  })

  function run(file: string, args: string[], env: Record<string, string> = {}): Program {
    const p = startProgram(file, args, { NATS_SERVER: nats.url, ...env })
    programs.push(p)
    return p
  }

  async function worker(ns: string, component: string, endpoint: string, m: ReturnType<typeof fpm>): Promise<string> {
    const p = run(WORKER, [nats.url, ns, component, endpoint])
    const id = (await p.line('ready ')).line.slice(6)
    p.send(JSON.stringify(m))
    await p.line('published')
    return id
  }

  const has = (p: Program, text: string) => (p.stdout().includes(text) ? true : undefined)

  it('server mode: llm_* metrics of two workers by worker_id, exact load stats, hit-rate counters; a killed worker leaves', async () => {
    const ns = uniqueNs('cli')
    const port = await freePort()
    const agg = run(CLI, ['--namespace', ns, '--component', 'backend', '--endpoint', 'generate', '--host', '127.0.0.1', '--port', String(port)], {
      DYN_LOG: 'info',
    })
    await until('the server', 10_000, () => has(agg, 'Serving metrics on http://127.0.0.1:'))
    expect(agg.stdout()).toMatch(new RegExp(`Z  INFO metrics: Scraping service ${ns}_backend and filtering on subject ${ns}_backend\\.generate\\n`))
    await until('the no-endpoint warning', 5000, () => has(agg, `WARN metrics: No endpoints found matching subject ${ns}_backend.generate`))
    const id1 = await worker(ns, 'backend', 'generate', fpm({ kvActiveBlocks: 40, kvTotalBlocks: 100, requestActiveSlots: 3, requestTotalSlots: 10, gpuPrefixCacheHitRate: 0.5 }))
    const id2 = await worker(ns, 'backend', 'generate', fpm({ kvActiveBlocks: 2, kvTotalBlocks: 100 }))
    await publishKvHitRate(rt.namespace(ns), { workerId: id1, islBlocks: 8, overlapBlocks: 3 })
    await publishKvHitRate(rt.namespace(ns), { workerId: id1, islBlocks: 2, overlapBlocks: 1 })
    const url = `http://127.0.0.1:${port}/metrics`
    const L = (id: string) => `{component="backend",endpoint="generate",worker_id="${id}"}`
    const body = await until('both workers in /metrics', 10_000, async () => {
      const r = await httpGet(url)
      return sample(r.body, 'llm_kv_blocks_active', L(id1)) === 40 &&
        sample(r.body, 'llm_kv_blocks_active', L(id2)) === 2 &&
        sample(r.body, 'llm_kv_hit_rate_isl_blocks', L(id1)) === 10
        ? r
        : undefined
    })
    expect(body.status).toBe(200)
    expect(body.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const t = body.body
    expect(t).toContain('# HELP llm_kv_blocks_active Active KV cache blocks\n')
    expect(sample(t, 'llm_kv_blocks_total', L(id1))).toBe(100)
    expect(sample(t, 'llm_requests_active_slots', L(id1))).toBe(3)
    expect(sample(t, 'llm_requests_total_slots', L(id1))).toBe(10)
    expect(sample(t, 'llm_kv_hit_rate_percent', L(id1))).toBe(0.5)
    expect(sample(t, 'llm_load_avg', '{component="backend",endpoint="generate"}')).toBe(21)
    expect(sample(t, 'llm_load_std', '{component="backend",endpoint="generate"}')).toBe(19)
    expect(sample(t, 'llm_kv_hit_rate_overlap_blocks', L(id1))).toBe(4)
    await until('the warning to stop', 5000, () => has(agg, `Found 2 endpoint(s) matching subject ${ns}_backend.generate`))
    const warnings = agg.stdout().split('No endpoints found').length
    await new Promise((r) => setTimeout(r, 1500))
    expect(agg.stdout().split('No endpoints found').length).toBe(warnings)

    // SIGKILL one worker: its series go within the command's stale bound (poll interval 1 s: 2.3 s).
    const victim = programs.find((p) => p.stdout().startsWith(`ready ${id2}`))!
    victim.child.kill('SIGKILL')
    const { at } = await victim.exit
    await until('the killed worker to leave /metrics', 10_000, async () =>
      sample((await httpGet(url)).body, 'llm_kv_blocks_active', L(id2)) === undefined ? true : undefined,
    )
    expect(performance.now() - at).toBeLessThan(2300 + 1000 + 500)
    const after = (await httpGet(url)).body
    expect(sample(after, 'llm_load_avg', '{component="backend",endpoint="generate"}')).toBe(40)
    expect(sample(after, 'llm_load_std', '{component="backend",endpoint="generate"}')).toBe(0)
    expect((await httpGet(`http://127.0.0.1:${port}/nope`)).status).toBe(404)
  }, 40_000)

  it('--model-name puts model="<name>" on every llm_* series, beside Dynamo\'s labels', async () => {
    const ns = uniqueNs('model')
    const port = await freePort()
    const id = await worker(ns, 'backend', 'generate', fpm({ kvActiveBlocks: 12, kvTotalBlocks: 100 }))
    const agg = run(CLI, ['--namespace', ns, '--component', 'backend', '--endpoint', 'generate', '--model-name', 'llama-3', '--host', '127.0.0.1', '--port', String(port)])
    await until('the server', 10_000, () => has(agg, 'Serving metrics'))
    expect(agg.stdout()).toContain(`filtering on subject ${ns}_backend.generate (model llama-3)`)
    const W = `{component="backend",endpoint="generate",model="llama-3",worker_id="${id}"}`
    const scrape = async () => (await httpGet(`http://127.0.0.1:${port}/metrics`)).body
    await until('the worker', 10_000, async () => (sample(await scrape(), 'llm_kv_blocks_active', W) === 12 ? true : undefined))
    // Hit-rate events are not kept: sent once the aggregator listens.
    await publishKvHitRate(rt.namespace(ns), { workerId: id, islBlocks: 5, overlapBlocks: 2 })
    const t = await until('its hit rate', 10_000, async () => {
      const b = await scrape()
      return sample(b, 'llm_kv_hit_rate_isl_blocks', W) === 5 ? b : undefined
    })
    expect(sample(t, 'llm_kv_blocks_total', W)).toBe(100)
    expect(sample(t, 'llm_kv_hit_rate_overlap_blocks', W)).toBe(2)
    expect(sample(t, 'llm_load_avg', '{component="backend",endpoint="generate",model="llama-3"}')).toBe(12)
    const samples = t.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    expect(samples.length).toBeGreaterThanOrEqual(10)
    for (const line of samples) expect(line).toContain('model="llama-3"')
  }, 30_000)

  it('the namespace defaults to DYN_NAMESPACE (Dynamo test_namespace_from_env), and DYN_LOG=error hides warnings', async () => {
    const agg = run(CLI, ['--component', 'comp', '--endpoint', 'end', '--host', '127.0.0.1', '--port', '0'], { DYN_NAMESPACE: 'test-namespace' })
    await until('the scrape line', 10_000, () => has(agg, 'Scraping service test-namespace_comp and filtering on subject test-namespace_comp.end'))
    const quiet = run(CLI, ['--component', 'comp', '--endpoint', 'end', '--host', '127.0.0.1', '--port', '0'], { DYN_LOG: 'error' })
    await until('a no-endpoint warning of the first', 5000, () => has(agg, 'No endpoints found'))
    await new Promise((r) => setTimeout(r, 1200))
    expect(quiet.stdout()).toBe('')
    expect(quiet.child.exitCode).toBe(null)
  })

  it('mock-worker: several processes show up in the aggregate with 100 total slots and blocks', async () => {
    const ns = uniqueNs('mock')
    const port = await freePort()
    run(CLI, ['mock-worker', '--namespace', ns])
    run(CLI, ['mock-worker', '--namespace', ns])
    // --metrics-port: the seed's spelling of --port.
    const agg = run(CLI, ['--namespace', ns, '--component', 'MyComponent', '--endpoint', 'my_endpoint', '--host', '127.0.0.1', '--metrics-port', String(port)])
    await until('the server', 10_000, () => has(agg, 'Serving metrics'))
    const t = await until('two mock workers', 10_000, async () => {
      const b = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body
      return (b.match(/^llm_kv_blocks_total\{/gm) ?? []).length === 2 && b.includes('llm_kv_hit_rate_isl_blocks{') ? b : undefined
    })
    for (const line of t.split('\n').filter((l) => l.startsWith('llm_kv_blocks_total{') || l.startsWith('llm_requests_total_slots{'))) {
      expect(line.endsWith(' 100')).toBe(true)
    }
  }, 30_000)

  it('carries on after the NATS server restarts: a later change shows in /metrics', async () => {
    const ns = uniqueNs('clirestart')
    const port = await freePort()
    const p = run(WORKER, [nats.url, ns, 'backend', 'generate'])
    const id = (await p.line('ready ')).line.slice(6)
    p.send(JSON.stringify(fpm({ kvActiveBlocks: 1 })))
    const agg = run(CLI, ['--namespace', ns, '--component', 'backend', '--endpoint', 'generate', '--host', '127.0.0.1', '--port', String(port)])
    await until('the server', 10_000, () => has(agg, 'Serving metrics'))
    const L = `{component="backend",endpoint="generate",worker_id="${id}"}`
    const value = async () => sample((await httpGet(`http://127.0.0.1:${port}/metrics`)).body, 'llm_kv_blocks_active', L)
    await until('the worker', 10_000, async () => ((await value()) === 1 ? true : undefined))
    await nats.restart()
    p.send(JSON.stringify(fpm({ kvActiveBlocks: 2 })))
    await until('the change after the restart', 20_000, async () => ((await value()) === 2 ? true : undefined))
    expect(agg.child.exitCode).toBe(null)
  }, 40_000)

  describe.skipIf(PGW_BIN === null)('push mode', () => {
    let gw: Pushgateway | undefined
    afterEach(async () => {
      await gw?.stop()
    })

    it('pushes the same text to <push-url>/metrics/job/<job>; the Pushgateway holds it with job="dynamo_metrics"', async () => {
      gw = await Pushgateway.start(PGW_BIN!)
      const ns = uniqueNs('push')
      const id = await worker(ns, 'backend', 'generate', fpm({ kvActiveBlocks: 33, kvTotalBlocks: 100 }))
      const agg = run(CLI, ['--namespace', ns, '--component', 'backend', '--endpoint', 'generate', '--push', '--push-url', gw.url, '--push-interval', '1'])
      await until('the push line', 10_000, () => has(agg, `Pushing metrics to ${gw!.url}/metrics/job/dynamo_metrics every 1s`))
      const body = await until('the gateway to hold the worker', 15_000, async () => {
        const b = (await httpGet(`${gw!.url}/metrics`)).body
        return b.includes(`llm_kv_blocks_active{component="backend",endpoint="generate",instance="",job="dynamo_metrics",worker_id="${id}"} 33`) ? b : undefined
      })
      expect(body).toContain('llm_load_avg{component="backend",endpoint="generate",instance="",job="dynamo_metrics"} 33')
      expect(body).toMatch(/push_time_seconds\{instance="",job="dynamo_metrics"\} /)
      expect(agg.stdout()).not.toContain('Serving metrics')
    }, 30_000)

    it('an unreachable push URL is logged and retried with back-off; pushes resume when the gateway comes', async () => {
      const port = await freePort()
      const ns = uniqueNs('retry')
      await worker(ns, 'backend', 'generate', fpm({ kvActiveBlocks: 7 }))
      const agg = run(CLI, ['--namespace', ns, '--component', 'backend', '--endpoint', 'generate', '--push', '--push-url', `http://127.0.0.1:${port}`, '--push-interval', '1', '--push-job', 'retry_job'])
      await until('two failed attempts', 10_000, () => has(agg, '(attempt 2)'))
      expect(agg.stdout()).toMatch(/WARN metrics: Push to http:\/\/127\.0\.0\.1:\d+\/metrics\/job\/retry_job failed \(attempt 1\)/)
      expect(agg.child.exitCode).toBe(null)
      gw = await Pushgateway.start(PGW_BIN!, port)
      await until('pushes to resume', 20_000, () => has(agg, 'resumed after'))
      await until('the gateway to hold it', 10_000, async () =>
        (await httpGet(`${gw!.url}/metrics`)).body.includes('job="retry_job"') ? true : undefined,
      )
    }, 40_000)
  })
})
