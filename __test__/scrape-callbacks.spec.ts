import { join } from 'node:path'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { DistributedRuntime, type RuntimeOptions } from '../dist/cjs/index.js'
import { freePort, httpGet, sample } from './util'

const FIXTURES = join(__dirname, 'fixtures') + '/'
const ERRORS = 'dynamo_component_metrics_callback_errors_total'

const runtimes: DistributedRuntime[] = []
const timers: ReturnType<typeof setTimeout>[] = []
const children: ChildProcess[] = []

afterEach(async () => {
  for (const t of timers.splice(0)) clearTimeout(t)
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

async function runtime(options: RuntimeOptions = {}): Promise<DistributedRuntime> {
  const rt = await DistributedRuntime.create({ systemEnabled: false, ...options })
  runtimes.push(rt)
  return rt
}

/** A runtime with its status server on a loopback port; returns its base URL too. */
async function serving(options: RuntimeOptions = {}): Promise<{ rt: DistributedRuntime; url: string }> {
  const rt = await runtime({ systemEnabled: true, systemPort: 0, systemHost: '127.0.0.1', ...options })
  const s = rt.systemStatusServer
  if (s === null) throw new Error('status server did not start')
  return { rt, url: `http://127.0.0.1:${s.port}` }
}

/** A sleep whose timer is cleared after the test, so abandoned callbacks leave nothing behind. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    timers.push(setTimeout(resolve, ms))
  })
}


const EP = (component: string, endpoint: string, ns = 'ns') =>
  `{dynamo_component="${component}",dynamo_endpoint="${endpoint}",dynamo_namespace="${ns}"}`

describe('callbacks: which run, how often, in what order', () => {
  async function tree() {
    const rt = await runtime()
    const ns = rt.namespace('ns')
    const comp = ns.component('comp')
    const ep1 = comp.endpoint('ep1')
    const ep2 = comp.endpoint('ep2')
    const other = ns.component('other')
    const oep = other.endpoint('oep')
    const calls: string[] = []
    const reg = (level: { registerMetricsCallback(cb: () => void): () => void }, tag: string) =>
      level.registerMetricsCallback(() => {
        calls.push(tag)
      })
    // Deliberately not in tree order.
    reg(ep2, 'ep2')
    reg(rt, 'rt')
    reg(ep1, 'ep1')
    reg(comp, 'comp')
    reg(ns, 'ns')
    reg(oep, 'oep')
    reg(ep1, 'ep1b')
    reg(other, 'other')
    return { rt, ns, comp, ep1, ep2, other, oep, calls }
  }

  it('a runtime scrape runs every callback once, in registration order across levels', async () => {
    const { rt, calls } = await tree()
    await rt.prometheusMetricsFmt()
    expect(calls).toEqual(['ep2', 'rt', 'ep1', 'comp', 'ns', 'oep', 'ep1b', 'other'])
    calls.length = 0
    await rt.prometheusMetricsFmt()
    expect(calls).toEqual(['ep2', 'rt', 'ep1', 'comp', 'ns', 'oep', 'ep1b', 'other'])
  })

  it('GET /metrics runs every callback once, in registration order', async () => {
    const { rt, url } = await serving()
    const ns = rt.namespace('ns')
    const ep = ns.component('comp').endpoint('ep')
    const calls: string[] = []
    ep.registerMetricsCallback(() => void calls.push('ep'))
    rt.registerMetricsCallback(() => void calls.push('rt'))
    ns.registerMetricsCallback(() => void calls.push('ns'))
    const r = await httpGet(`${url}/metrics`)
    expect(r.status).toBe(200)
    expect(calls).toEqual(['ep', 'rt', 'ns'])
    await httpGet(`${url}/metrics`)
    expect(calls).toEqual(['ep', 'rt', 'ns', 'ep', 'rt', 'ns'])
  })

  it("an endpoint scrape runs only that endpoint's callbacks", async () => {
    const { ep1, calls } = await tree()
    await ep1.prometheusMetricsFmt()
    expect(calls).toEqual(['ep1', 'ep1b'])
  })

  it("a sibling endpoint's scrape does not run another endpoint's callbacks", async () => {
    const { ep2, oep, calls } = await tree()
    await ep2.prometheusMetricsFmt()
    expect(calls).toEqual(['ep2'])
    calls.length = 0
    await oep.prometheusMetricsFmt()
    expect(calls).toEqual(['oep'])
  })

  it("a component scrape runs its own and its endpoints' callbacks, not its parents' or siblings'", async () => {
    const { comp, other, calls } = await tree()
    await comp.prometheusMetricsFmt()
    expect(calls).toEqual(['ep2', 'ep1', 'comp', 'ep1b'])
    calls.length = 0
    await other.prometheusMetricsFmt()
    expect(calls).toEqual(['oep', 'other'])
  })

  it("a namespace scrape runs everything below it but not the runtime's callbacks", async () => {
    const { ns, calls } = await tree()
    await ns.prometheusMetricsFmt()
    expect(calls).toEqual(['ep2', 'ep1', 'comp', 'ns', 'oep', 'ep1b', 'other'])
  })

  it('a callback sets the value that the same scrape renders', async () => {
    const rt = await runtime()
    const ep = rt.namespace('ns').component('comp').endpoint('ep')
    const g = ep.metrics.createIntGauge('active_requests', 'Active requests')
    let n = 0
    ep.registerMetricsCallback(() => g.set(++n * 10))
    expect(sample(await ep.prometheusMetricsFmt(), 'dynamo_component_active_requests', EP('comp', 'ep'))).toBe(10)
    expect(sample(await rt.prometheusMetricsFmt(), 'dynamo_component_active_requests', EP('comp', 'ep'))).toBe(20)
  })
})

describe('callbacks: async', () => {
  it('awaits Promise-returning callbacks before rendering', async () => {
    const rt = await runtime()
    const ep = rt.namespace('ns').component('comp').endpoint('ep')
    const a = ep.metrics.createIntGauge('a', 'set after an await')
    const b = ep.metrics.createGauge('b', 'set when a plain promise resolves')
    ep.registerMetricsCallback(async () => {
      await sleep(50)
      a.set(42)
    })
    rt.registerMetricsCallback(
      () =>
        new Promise<void>((resolve) => {
          timers.push(
            setTimeout(() => {
              b.set(4.5)
              resolve()
            }, 80),
          )
        }),
    )
    const text = await rt.prometheusMetricsFmt()
    expect(sample(text, 'dynamo_component_a', EP('comp', 'ep'))).toBe(42)
    expect(sample(text, 'dynamo_component_b', EP('comp', 'ep'))).toBe(4.5)
  })

  it('awaits async callbacks for GET /metrics too', async () => {
    const { rt, url } = await serving()
    const g = rt.namespace('ns').metrics.createIntGauge('queue_depth', 'Queue depth')
    let n = 0
    rt.registerMetricsCallback(async () => {
      await sleep(30)
      g.set(++n)
    })
    const r1 = await httpGet(`${url}/metrics`)
    expect(sample(r1.body, 'dynamo_component_queue_depth', '{dynamo_namespace="ns"}')).toBe(1)
    const r2 = await httpGet(`${url}/metrics`)
    expect(sample(r2.body, 'dynamo_component_queue_depth', '{dynamo_namespace="ns"}')).toBe(2)
  })
})

describe('callbacks: failures', () => {
  it('counts a throw and a rejection in callback_errors_total; the scrape still renders the rest', async () => {
    const rt = await runtime()
    const ep = rt.namespace('ns').component('comp').endpoint('ep')
    const good = ep.metrics.createIntGauge('good', 'set by a working callback')
    const late = ep.metrics.createIntGauge('late', 'set by a callback registered after the failures')
    let runs = 0
    ep.registerMetricsCallback(() => good.set(7))
    ep.registerMetricsCallback(() => {
      throw new Error('sync failure')
    })
    rt.registerMetricsCallback(async () => {
      await sleep(5)
      throw new Error('async failure')
    })
    ep.registerMetricsCallback(() => late.set(++runs))

    const t1 = await rt.prometheusMetricsFmt()
    expect(sample(t1, ERRORS)).toBe(2)
    expect(sample(t1, 'dynamo_component_good', EP('comp', 'ep'))).toBe(7)
    expect(sample(t1, 'dynamo_component_late', EP('comp', 'ep'))).toBe(1)

    const t2 = await rt.prometheusMetricsFmt()
    expect(sample(t2, ERRORS)).toBe(4)
    expect(sample(t2, 'dynamo_component_late', EP('comp', 'ep'))).toBe(2)
  })

  it('a failing callback does not fail GET /metrics', async () => {
    const { rt, url } = await serving()
    const g = rt.namespace('ns').metrics.createIntGauge('ok_value', 'ok')
    rt.registerMetricsCallback(() => Promise.reject(new Error('rejected')))
    rt.registerMetricsCallback(() => g.set(5))
    const r = await httpGet(`${url}/metrics`)
    expect(r.status).toBe(200)
    expect(sample(r.body, 'dynamo_component_ok_value', '{dynamo_namespace="ns"}')).toBe(5)
    expect(sample(r.body, ERRORS)).toBe(1)
  })

  it('starts with callback_errors_total at 0 when callbacks succeed', async () => {
    const rt = await runtime()
    rt.registerMetricsCallback(() => {})
    rt.registerMetricsCallback(async () => {})
    expect(sample(await rt.prometheusMetricsFmt(), ERRORS)).toBe(0)
    expect(sample(await rt.prometheusMetricsFmt(), ERRORS)).toBe(0)
  })
})

describe('callbacks: deadline', () => {
  it('abandons a callback that never settles and answers with the latest values', async () => {
    const { rt, url } = await serving({ scrapeTimeoutMs: 300 })
    const ep = rt.namespace('ns').component('comp').endpoint('ep')
    const before = ep.metrics.createIntGauge('before', 'set by a callback registered before the hang')
    const after = ep.metrics.createIntGauge('after', 'set by a callback registered after the hang')
    const direct = ep.metrics.createIntGauge('direct', 'set directly')
    direct.set(99)
    ep.registerMetricsCallback(() => before.set(1))
    ep.registerMetricsCallback(() => new Promise<void>(() => {}))
    ep.registerMetricsCallback(() => after.set(2))

    let t = performance.now()
    const text = await rt.prometheusMetricsFmt()
    expect(performance.now() - t).toBeLessThan(2000)
    expect(sample(text, 'dynamo_component_before', EP('comp', 'ep'))).toBe(1)
    expect(sample(text, 'dynamo_component_after', EP('comp', 'ep'))).toBe(2)
    expect(sample(text, 'dynamo_component_direct', EP('comp', 'ep'))).toBe(99)
    expect(sample(text, ERRORS)).toBeGreaterThanOrEqual(1)

    t = performance.now()
    const r = await httpGet(`${url}/metrics`)
    expect(performance.now() - t).toBeLessThan(2000)
    expect(r.status).toBe(200)
    expect(sample(r.body, 'dynamo_component_direct', EP('comp', 'ep'))).toBe(99)
  })

  it('abandons a slow (5 s) callback at the deadline and serves the value it had set so far', async () => {
    const rt = await runtime({ scrapeTimeoutMs: 300 })
    const g = rt.namespace('ns').component('comp').metrics.createIntGauge('progress', 'progress')
    rt.registerMetricsCallback(async () => {
      g.set(10)
      await sleep(5000)
      g.set(20)
    })
    const t = performance.now()
    const text = await rt.prometheusMetricsFmt()
    expect(performance.now() - t).toBeLessThan(2000)
    expect(sample(text, 'dynamo_component_progress', '{dynamo_component="comp",dynamo_namespace="ns"}')).toBe(10)
    expect(sample(text, ERRORS)).toBe(1)
  })

  it('the X-Prometheus-Scrape-Timeout-Seconds header shortens the deadline', async () => {
    const { rt, url } = await serving({ scrapeTimeoutMs: 5000 })
    const g = rt.namespace('ns').metrics.createIntGauge('slow', 'slow')
    rt.registerMetricsCallback(async () => {
      g.set(1)
      await sleep(5000)
      g.set(2)
    })
    const t = performance.now()
    const r = await httpGet(`${url}/metrics`, { 'X-Prometheus-Scrape-Timeout-Seconds': '0.3' })
    expect(performance.now() - t).toBeLessThan(1000)
    expect(r.status).toBe(200)
    expect(sample(r.body, 'dynamo_component_slow', '{dynamo_namespace="ns"}')).toBe(1)
  })

  it('without the header the configured (longer) deadline applies and the callback is awaited', async () => {
    const { rt, url } = await serving({ scrapeTimeoutMs: 5000 })
    const g = rt.namespace('ns').metrics.createIntGauge('slowish', 'slowish')
    let n = 0
    rt.registerMetricsCallback(async () => {
      const mine = ++n
      await sleep(1200)
      g.set(mine)
    })
    // Configured 5 s deadline: the 1.2 s callback finishes and its value is served.
    const r1 = await httpGet(`${url}/metrics`)
    expect(sample(r1.body, 'dynamo_component_slowish', '{dynamo_namespace="ns"}')).toBe(1)
    expect(sample(r1.body, ERRORS)).toBe(0)
    // 0.3 s announced by Prometheus: the same callback is abandoned, the old value is served.
    const t = performance.now()
    const r2 = await httpGet(`${url}/metrics`, { 'X-Prometheus-Scrape-Timeout-Seconds': '0.3' })
    expect(performance.now() - t).toBeLessThan(1000)
    expect(r2.status).toBe(200)
    expect(sample(r2.body, 'dynamo_component_slowish', '{dynamo_namespace="ns"}')).toBe(1)
    expect(sample(r2.body, ERRORS)).toBe(1)
  })

  it('waits out the deadline for a never-settling callback even when its promise is garbage-collected', async () => {
    const out = execFileSync(process.execPath, [`${FIXTURES}gc-hang.mjs`], {
      encoding: 'utf8',
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DYN_'))),
      timeout: 20_000,
    })
    const { ms, text } = JSON.parse(out.trim().split('\n').pop() as string) as { ms: number; text: string }
    expect(ms).toBeGreaterThanOrEqual(250)
    expect(ms).toBeLessThan(2000)
    expect(sample(text, 'dynamo_component_direct')).toBe(5)
    expect(sample(text, ERRORS)).toBe(1)
  })

  it('answers GET /metrics while the JS event loop is blocked', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [`${FIXTURES}blocked-loop.mjs`, String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DYN_'))),
    })
    children.push(child)
    let out = ''
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
        if (out.includes('READY\n')) resolve()
      })
      child.on('exit', () => reject(new Error(`child exited before READY: ${stderr}`)))
    })

    const t = performance.now()
    const r = await httpGet(`http://127.0.0.1:${port}/metrics`)
    const took = performance.now() - t
    // The child was still busy-looping when the answer came back.
    expect(out).not.toContain('UNBLOCKED')
    expect(took).toBeLessThan(2000)
    expect(r.status).toBe(200)
    expect(sample(r.body, 'dynamo_component_blocked_value', EP('worker', 'generate'))).toBe(123)

    expect(await exited).toBe(0)
    expect(out).toContain('UNBLOCKED')
  })
})

describe('callbacks: unregister', () => {
  it('stops the calls; the others keep running; calling it twice is harmless', async () => {
    const rt = await runtime()
    const ep = rt.namespace('ns').component('comp').endpoint('ep')
    let a = 0
    let b = 0
    const offA = ep.registerMetricsCallback(() => void a++)
    rt.registerMetricsCallback(() => void b++)
    await rt.prometheusMetricsFmt()
    expect([a, b]).toEqual([1, 1])
    offA()
    await rt.prometheusMetricsFmt()
    await ep.prometheusMetricsFmt()
    expect([a, b]).toEqual([1, 2])
    offA()
    await rt.prometheusMetricsFmt()
    expect([a, b]).toEqual([1, 3])
  })

  it('unregistering one of two identical functions keeps the other registration', async () => {
    const rt = await runtime()
    let n = 0
    const cb = () => void n++
    const off1 = rt.registerMetricsCallback(cb)
    rt.registerMetricsCallback(cb)
    await rt.prometheusMetricsFmt()
    expect(n).toBe(2)
    off1()
    await rt.prometheusMetricsFmt()
    expect(n).toBe(3)
  })
})

/** A gauge that a 200 ms async callback sets to the number of times it ran; returns that count. */
function slowRuns(rt: DistributedRuntime): () => number {
  const g = rt.namespace('ns').metrics.createIntGauge('runs', 'callback runs')
  let runs = 0
  rt.registerMetricsCallback(async () => {
    runs++
    await sleep(200)
    g.set(runs)
  })
  return () => runs
}

describe('callbacks: concurrent scrapes share one run', () => {
  it('5 parallel prometheusMetricsFmt() calls run a 200 ms callback once', async () => {
    const rt = await runtime()
    const runs = slowRuns(rt)
    const texts = await Promise.all(Array.from({ length: 5 }, () => rt.prometheusMetricsFmt()))
    expect(runs()).toBe(1)
    for (const t of texts) expect(sample(t, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(1)
    // A later scrape runs it again.
    await rt.prometheusMetricsFmt()
    expect(runs()).toBe(2)
  })

  it('GET /metrics during a prometheusMetricsFmt() joins its run, and the other way round', async () => {
    const { rt, url } = await serving()
    const runs = slowRuns(rt)
    // The render starts the run on this thread; the GET arrives while its callback sleeps.
    const render = rt.prometheusMetricsFmt()
    const get = httpGet(`${url}/metrics`)
    const [text, r] = await Promise.all([render, get])
    expect(runs()).toBe(1)
    expect(sample(text, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(1)
    expect(sample(r.body, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(1)
    // A GET first, then a render while it waits: one more run between them.
    const get2 = httpGet(`${url}/metrics`)
    await sleep(50)
    const text2 = await rt.prometheusMetricsFmt()
    expect(runs()).toBe(2)
    expect(sample(text2, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(2)
    expect(sample((await get2).body, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(2)
  })

  it('a render runs a sync callback to completion on the JS thread, however long it blocks; GET /metrics does not wait for it', async () => {
    const { rt, url } = await serving({ scrapeTimeoutMs: 100 })
    const g = rt.namespace('ns').metrics.createIntGauge('slow', 'slow callback')
    let runs = 0
    const block = (ms: number) => {
      const until = Date.now() + ms
      while (Date.now() < until) {
        // blocks the JS thread past the 100 ms deadline
      }
    }
    rt.registerMetricsCallback(() => {
      runs++
      block(300)
      g.set(runs)
    })
    // prometheusMetricsFmt() is called on the JS thread: its sync callbacks have returned before
    // the render goes on, so it shows what they set, and nothing missed a deadline.
    const text = await rt.prometheusMetricsFmt()
    expect(runs).toBe(1)
    expect(sample(text, 'dynamo_component_slow', '{dynamo_namespace="ns"}')).toBe(1)
    expect(sample(text, ERRORS, '')).toBe(0)
    // A Prometheus scrape is not held up by the blocked thread: it answers at its deadline with
    // the values of that moment, and counts the miss.
    const r = await httpGet(`${url}/metrics`)
    expect(runs).toBe(2)
    expect(sample(r.body, 'dynamo_component_slow', '{dynamo_namespace="ns"}')).toBe(1)
    expect(sample(r.body, ERRORS, '')).toBe(1)
  })

  it('a GET that arrives while a render runs its sync callbacks on the JS thread joins that run', async () => {
    const { rt, url } = await serving()
    const g = rt.namespace('ns').metrics.createIntGauge('runs', 'callback runs')
    let runs = 0
    rt.registerMetricsCallback(() => {
      runs++
      // Blocks this thread long enough for the other process's GET to reach the server.
      const until = Date.now() + 1500
      while (Date.now() < until) {
        // busy
      }
      g.set(runs)
    })
    // Another process scrapes as soon as it starts; this thread is blocked in the callback then.
    const child = spawn(process.execPath, ['-e', `require('http').get(${JSON.stringify(`${url}/metrics`)}, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => process.stdout.write(b)) })`])
    children.push(child)
    let body = ''
    child.stdout.on('data', (d: Buffer) => (body += d.toString()))
    const exited = new Promise((r) => child.once('exit', r))
    await new Promise((r) => child.once('spawn', r))
    const text = await rt.prometheusMetricsFmt()
    await exited
    expect(runs).toBe(1)
    expect(sample(text, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(1)
    expect(sample(body, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(1)
  })

  it('a runtime too large to render on the JS thread renders on a Rust thread, with the same values', async () => {
    const { rt, url } = await serving()
    const v = rt.namespace('ns').metrics.createGaugeVec('wide', 'many series', ['i'])
    for (let i = 0; i < 5000; i++) v.set(i, { i: String(i) })
    let runs = 0
    rt.registerMetricsCallback(() => {
      runs++
      v.set(-runs, { i: '0' })
    })
    const text = await rt.prometheusMetricsFmt()
    expect(runs).toBe(1)
    expect(sample(text, 'dynamo_component_wide', '{dynamo_namespace="ns",i="0"}')).toBe(-1)
    expect(sample(text, 'dynamo_component_wide', '{dynamo_namespace="ns",i="4999"}')).toBe(4999)
    const r = await httpGet(`${url}/metrics`)
    expect(runs).toBe(2)
    expect(sample(r.body, 'dynamo_component_wide', '{dynamo_namespace="ns",i="0"}')).toBe(-2)
    expect(r.body.split('\n').filter((l) => l.startsWith('dynamo_component_wide{'))).toHaveLength(5000)
  })

  it('5 parallel GET /metrics run a 200 ms callback once', async () => {
    const { rt, url } = await serving()
    const runs = slowRuns(rt)
    const rs = await Promise.all(Array.from({ length: 5 }, () => httpGet(`${url}/metrics`)))
    expect(runs()).toBe(1)
    for (const r of rs) {
      expect(r.status).toBe(200)
      expect(sample(r.body, 'dynamo_component_runs', '{dynamo_namespace="ns"}')).toBe(1)
    }
  })
})
