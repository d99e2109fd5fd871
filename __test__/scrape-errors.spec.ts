// prometheusMetricsFmt() fails with a typed error where it cannot answer: a text longer than a JS
// string can be, and a callback that awaits the scrape that is waiting for it.
import { constants } from 'node:buffer'
import { createRequire } from 'node:module'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DistributedRuntime, MetricsError, ScrapeError } from '../dist/cjs/index.js'
import { httpGet } from './util'

let rt: DistributedRuntime | undefined

afterEach(async () => {
  await rt?.shutdown()
  rt = undefined
})

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  )
}

describe('a callback that awaits its own scrape', () => {
  // The deadline is far beyond the test's timeout: waiting for it would fail the test.
  const slow = { systemEnabled: false, scrapeTimeoutMs: 600_000 }

  it('is rejected at once with ScrapeError; the scrape answers with its values', async () => {
    rt = await DistributedRuntime.create(slow)
    const g = rt.metrics.createIntGauge('queue', 'Queue')
    let inner: unknown = 'not called'
    const r = rt
    rt.registerMetricsCallback(async () => {
      g.set(4)
      inner = await rejection(r.prometheusMetricsFmt())
    })
    const text = await rt.prometheusMetricsFmt()
    expect(inner).toBeInstanceOf(ScrapeError)
    expect(inner).toBeInstanceOf(MetricsError)
    expect((inner as ScrapeError).code).toBe('ERR_DYNAMO_SCRAPE')
    expect((inner as ScrapeError).message).toContain('prometheusMetricsFmt')
    expect(text).toContain('dynamo_component_queue 4\n')
    expect(text).toContain('dynamo_component_metrics_callback_errors_total 0\n')
  })

  it('after an await (a microtask, a macrotask, a then-chain) as well', async () => {
    rt = await DistributedRuntime.create(slow)
    const r = rt
    const inner: unknown[] = []
    rt.registerMetricsCallback(async () => {
      await Promise.resolve()
      inner.push(await rejection(r.prometheusMetricsFmt()))
      await new Promise((resolve) => setImmediate(resolve))
      inner.push(await rejection(r.prometheusMetricsFmt()))
    })
    // Not an async function: its continuation is a then-callback.
    rt.registerMetricsCallback(() =>
      Promise.resolve().then(async () => {
        inner.push(await rejection(r.prometheusMetricsFmt()))
      }),
    )
    await rt.prometheusMetricsFmt()
    expect(inner).toHaveLength(3)
    for (const e of inner) expect(e).toBeInstanceOf(ScrapeError)
  })

  it('a callback that lets the rejection escape is counted as failed, and the scrape still answers', async () => {
    rt = await DistributedRuntime.create(slow)
    const ns = rt.namespace('ns')
    const r = ns
    const off = ns.registerMetricsCallback(async () => {
      await r.prometheusMetricsFmt()
    })
    const text = await ns.prometheusMetricsFmt()
    expect(text).not.toContain('callback_errors_total') // the runtime's own metrics are at the root
    off()
    const root = await rt.prometheusMetricsFmt()
    expect(root).toContain('dynamo_component_metrics_callback_errors_total 1\n')
  })

  it('during a /metrics scrape as well', async () => {
    rt = await DistributedRuntime.create({ systemHost: '127.0.0.1', systemPort: 0, scrapeTimeoutMs: 600_000 })
    let inner: unknown = 'not called'
    const r = rt
    rt.registerMetricsCallback(async () => {
      inner = await rejection(r.prometheusMetricsFmt())
    })
    const { port } = rt.systemStatusServer!
    const res = await httpGet(`http://127.0.0.1:${port}/metrics`)
    expect(res.status).toBe(200)
    expect(inner).toBeInstanceOf(ScrapeError)
  })

  it('while the scrape of another level ends first (the context stays on until every scrape settled)', async () => {
    rt = await DistributedRuntime.create(slow)
    const ns = rt.namespace('ns')
    const other = rt.namespace('other')
    other.registerMetricsCallback(() => {})
    let open = (): void => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    let inner: unknown = 'not called'
    ns.registerMetricsCallback(async () => {
      await gate
      inner = await rejection(ns.prometheusMetricsFmt())
    })
    const waiting = ns.prometheusMetricsFmt()
    await other.prometheusMetricsFmt() // starts and ends while ns's callback waits at the gate
    open()
    await waiting
    expect(inner).toBeInstanceOf(ScrapeError)
  })

  it('a callback that returned at once before and now awaits its scrape: the deadline, then at once', async () => {
    rt = await DistributedRuntime.create({ systemEnabled: false, scrapeTimeoutMs: 300 })
    const r = rt
    let awaitsNow = false
    let inner: unknown
    rt.registerMetricsCallback(() => {
      if (!awaitsNow) return undefined
      return (async () => {
        inner = await r.prometheusMetricsFmt().catch((e: unknown) => e)
      })()
    })
    await rt.prometheusMetricsFmt() // returned at once: later runs go without the context
    awaitsNow = true
    // Its own scrape waits for the deadline, answers and counts the callback as late.
    const late = await rt.prometheusMetricsFmt()
    expect(late).toContain('dynamo_component_metrics_callback_errors_total 1\n')
    // The callback's render joined that scrape and answers with it; then the callback settles.
    await vi.waitFor(() => expect(inner).toBeTypeOf('string'))
    expect(inner).toContain('dynamo_component_metrics_callback_errors_total')
    await new Promise((resolve) => setImmediate(resolve))
    // It returned a Promise once: from now on it runs in the context and is told at once.
    inner = undefined
    await rt.prometheusMetricsFmt()
    expect(inner).toBeInstanceOf(ScrapeError)
  })

  it('is off between scrapes, so the awaits of the application pay no hook of ours', async () => {
    rt = await DistributedRuntime.create(slow)
    const r = rt
    let inner: unknown = 'not called'
    const off = rt.registerMetricsCallback(async () => {
      await Promise.resolve()
      inner = await rejection(r.prometheusMetricsFmt())
    })
    await rt.prometheusMetricsFmt()
    expect(inner).toBeInstanceOf(ScrapeError)
    // Node 20 and 22 expose whether an AsyncLocalStorage is on (and so hooks every Promise). The
    // package's own instance: its modules are loaded by require, not through vitest.
    const { scrapeContext } = createRequire(__filename)('../dist/cjs/binding/scrape-context.js') as {
      scrapeContext: { enabled?: unknown }
    }
    const state = scrapeContext
    if (typeof state.enabled === 'boolean') expect(state.enabled).toBe(false)
    // And it comes back on for the next scrape.
    inner = 'not called'
    await rt.prometheusMetricsFmt()
    expect(inner).toBeInstanceOf(ScrapeError)
    // Once no callback may await (the one above is gone, the new one returned at once on its
    // first run), scrapes go without it.
    off()
    const ns = rt.namespace('ns')
    const seen: unknown[] = []
    ns.registerMetricsCallback(() => {
      seen.push(state.enabled)
    })
    await ns.prometheusMetricsFmt()
    await ns.prometheusMetricsFmt()
    if (typeof state.enabled === 'boolean') expect(seen).toEqual([true, false])
    else expect(seen).toHaveLength(2)
  })

  it('rendering another level from a callback still works', async () => {
    rt = await DistributedRuntime.create(slow)
    const ep = rt.namespace('ns').component('comp').endpoint('gen')
    ep.metrics.createIntCounter('hits_total', 'Hits').inc()
    let inner = ''
    ep.registerMetricsCallback(async () => {
      await Promise.resolve()
    })
    rt.registerMetricsCallback(async () => {
      inner = await ep.prometheusMetricsFmt()
    })
    await rt.prometheusMetricsFmt()
    expect(inner).toContain('dynamo_component_hits_total{')
  })
})

describe('a text longer than a JS string can be', () => {
  it('is a ScrapeError that points to /metrics', { timeout: 120_000 }, async () => {
    rt = await DistributedRuntime.create({ systemEnabled: false })
    // One histogram series with 8000 buckets writes its 70 kB of const labels (35 values of
    // 2000 bytes; a value may have 2048) on every bucket line: about 560 MB of text, past V8's
    // limit, from little JS memory.
    const buckets = Array.from({ length: 8000 }, (_, i) => i + 1)
    const constLabels = Object.fromEntries(Array.from({ length: 35 }, (_, i) => [`k${i}`, 'x'.repeat(2000)]))
    const lineBytes = 35 * 2008 + 50
    expect(lineBytes * buckets.length).toBeGreaterThan(constants.MAX_STRING_LENGTH)
    rt.metrics.createHistogram('big', 'Big', { buckets, constLabels }).observe(1)
    const e = await rejection(rt.prometheusMetricsFmt())
    expect(e).toBeInstanceOf(ScrapeError)
    expect((e as ScrapeError).code).toBe('ERR_DYNAMO_SCRAPE')
    expect((e as ScrapeError).message).toContain('/metrics')
    // A small render of the same runtime still answers.
    const small = rt.namespace('ns')
    small.metrics.createGauge('g', 'G').set(1)
    expect(await small.prometheusMetricsFmt()).toContain('dynamo_component_g{dynamo_namespace="ns"} 1\n')
  })
})
