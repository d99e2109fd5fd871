// Every argument of every public function, given a value of the wrong type: a typed error
// (`MetricsError`, an `ERR_DYNAMO_*` code, the class the argument's kind calls for) whose message
// names the call and the argument, never a raw N-API conversion error or a plain TypeError. The
// random counterpart, with readback of what is accepted, is fuzz-api.spec.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Component,
  ConfigError,
  DistributedRuntime,
  type Endpoint,
  InvalidArgumentError,
  InvalidBucketsError,
  InvalidHelpError,
  InvalidLabelError,
  InvalidNameError,
  KvMetricsAggregator,
  MetricsError,
  type Namespace,
  WorkerMetricsPublisher,
  publishKvHitRate,
} from '../dist/cjs/index.js'

type ErrorClass = abstract new (...args: never[]) => MetricsError
/** Wrong types for a string, an array, an object or a function argument. */
const WRONG: unknown[] = [undefined, null, 5, Number.NaN, true, 5n, Symbol('s'), () => 1, Object.create(null)]
const NOT_STRING = WRONG
const NOT_OBJECT = [null, 5, 'x', true, 5n, Symbol('s'), [1]]
const NOT_FUNCTION = [undefined, null, 5, 'x', {}, 5n, Symbol('s')]
const LONE = 'a\uD800b'

let rt: DistributedRuntime
let ns: Namespace
let comp: Component
let ep: Endpoint

beforeAll(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
  ns = rt.namespace('ns')
  comp = ns.component('comp')
  ep = comp.endpoint('ep')
})
afterAll(async () => {
  await rt.shutdown()
})

/** What a call with a bad argument must throw. */
async function expectTyped(call: () => unknown, Cls: ErrorClass, ...needles: string[]): Promise<void> {
  let caught: unknown
  try {
    await call()
  } catch (e) {
    caught = e
  }
  expect(caught, 'the call must throw').toBeInstanceOf(Cls)
  const e = caught as MetricsError
  expect(e.code).toMatch(/^ERR_DYNAMO_/)
  for (const n of needles) expect(e.message).toContain(n)
}

let n = 0
const fresh = () => `arg_${n++}`

describe('metric constructors', () => {
  const ctors = ['createCounter', 'createIntCounter', 'createGauge', 'createIntGauge', 'createHistogram'] as const
  const vecs = ['createCounterVec', 'createIntCounterVec', 'createGaugeVec', 'createIntGaugeVec', 'createHistogramVec'] as const
  it.each([...ctors, ...vecs])('%s: name, help, label names, const labels', async (ctor) => {
    const m = ep.metrics as unknown as Record<string, (...a: unknown[]) => unknown>
    const vec = ctor.endsWith('Vec')
    const make = (name: unknown, help: unknown, labels: unknown, extra?: unknown) => (vec ? m[ctor](name, help, labels, extra) : m[ctor](name, help, extra))
    for (const v of NOT_STRING) {
      await expectTyped(() => make(v, 'h', ['a']), InvalidNameError, ctor, 'name')
      await expectTyped(() => make(fresh(), v, ['a']), InvalidHelpError, ctor, 'help')
    }
    await expectTyped(() => make(fresh(), `help ${LONE}`, ['a']), InvalidHelpError, 'help', 'well-formed')
    if (vec) {
      for (const v of [undefined, null, 5, 'a', {}, 5n, Symbol('s')]) await expectTyped(() => make(fresh(), 'h', v), InvalidLabelError, ctor, 'labelNames')
      for (const v of WRONG) await expectTyped(() => make(fresh(), 'h', ['a', v]), InvalidLabelError, ctor, 'labelNames[1]')
    }
    const constLabels = (c: unknown) => (ctor.includes('Histogram') ? { constLabels: c } : c)
    for (const v of [5, 'x', true, 5n, Symbol('s')]) await expectTyped(() => make(fresh(), 'h', ['a'], constLabels(v)), InvalidLabelError, ctor, 'constLabels')
    for (const v of [null, true, 5n, {}, [], () => 1]) {
      await expectTyped(() => make(fresh(), 'h', ['a'], constLabels({ k: v })), InvalidLabelError, ctor, 'constLabels.k')
      await expectTyped(() => make(fresh(), 'h', ['a'], constLabels([['k', v]])), InvalidLabelError, ctor, 'constLabels[0][1]')
      await expectTyped(() => make(fresh(), 'h', ['a'], constLabels([[v, 'x']])), InvalidLabelError, ctor, 'constLabels[0][0]')
    }
    await expectTyped(() => make(fresh(), 'h', ['a'], constLabels({ k: LONE })), InvalidLabelError, 'constLabels.k', 'well-formed')
  })

  it('histogram buckets: an array of numbers', async () => {
    for (const v of [null, 5, 'x', {}, 5n, Symbol('s')]) {
      await expectTyped(() => ep.metrics.createHistogram(fresh(), 'h', { buckets: v as never }), InvalidBucketsError, 'createHistogram', 'buckets')
    }
    for (const v of [undefined, null, '1', 1n, {}, Symbol('s')]) {
      await expectTyped(() => ep.metrics.createHistogramVec(fresh(), 'h', ['a'], { buckets: [1, v] as never }), InvalidBucketsError, 'createHistogramVec', 'buckets[1]')
    }
  })

  it('a label value with a lone surrogate is refused when the series would be created', async () => {
    const g = ep.metrics.createGaugeVec(fresh(), 'h', ['a'])
    await expectTyped(() => g.set(1, { a: LONE }), InvalidLabelError, 'label a', 'well-formed')
    expect(g.get({ a: 'ok' })).toBe(0)
    const text = await ep.prometheusMetricsFmt()
    expect(text).not.toContain('\uFFFD')
  })
})

describe('levels, callbacks, health, scrapes', () => {
  it('namespace, component and endpoint names', async () => {
    for (const v of NOT_STRING) {
      await expectTyped(() => rt.namespace(v as string), InvalidNameError, 'namespace name')
      await expectTyped(() => ns.namespace(v as string), InvalidNameError, 'namespace name')
      await expectTyped(() => ns.component(v as string), InvalidNameError, 'component name')
      await expectTyped(() => comp.endpoint(v as string), InvalidNameError, 'endpoint name')
    }
  })

  it('registerMetricsCallback: the callback and its options', async () => {
    for (const v of NOT_FUNCTION) await expectTyped(() => ep.registerMetricsCallback(v as never), InvalidArgumentError, 'registerMetricsCallback', 'callback')
    for (const v of NOT_OBJECT) await expectTyped(() => ep.registerMetricsCallback(() => {}, v as never), ConfigError, 'registerMetricsCallback', 'options')
    for (const v of [5, null, {}, 5n]) await expectTyped(() => ep.registerMetricsCallback(() => {}, { name: v as never }), ConfigError, 'options.name')
  })

  it('setHealthStatus', async () => {
    for (const v of NOT_STRING) await expectTyped(() => rt.setHealthStatus(v as never), ConfigError, 'setHealthStatus', 'status')
    await expectTyped(() => rt.setHealthStatus('maybe' as never), ConfigError, 'setHealthStatus')
  })

  it('DistributedRuntime.create: the options object and every option type', async () => {
    for (const v of NOT_OBJECT) await expectTyped(() => DistributedRuntime.create(v as never), ConfigError, 'DistributedRuntime.create', 'options')
    const options: Record<string, unknown[]> = {
      systemEnabled: ['yes', 1, null],
      systemPort: ['80', true, null, {}],
      systemHost: [5, true, null, ['127.0.0.1']],
      startingHealthStatus: [1, null],
      healthPath: [1, null],
      livePath: [{}, null],
      useEndpointHealthStatus: ['ep', 5, [1], null],
      scrapeTimeoutMs: ['1000', null, 5n],
      headerReadTimeoutMs: ['1', Symbol('s')],
      idleTimeoutMs: [true],
      writeTimeoutMs: [[]],
      maxConnections: ['10'],
      maxConcurrentRenders: [null],
      renderWaitMs: [() => 1],
      natsServer: [5, null],
    }
    for (const [key, values] of Object.entries(options)) {
      for (const v of values) {
        await expectTyped(() => DistributedRuntime.create({ systemEnabled: false, [key]: v } as never), ConfigError, `option ${key}`, 'must be')
      }
    }
  })
})

describe('the request plane', () => {
  it('serveEndpoint: the handler and every option', async () => {
    const e = comp.endpoint('serve_args')
    for (const v of NOT_FUNCTION) await expectTyped(() => e.serveEndpoint(v as never), InvalidArgumentError, 'serveEndpoint', 'handler')
    for (const v of NOT_OBJECT) await expectTyped(() => e.serveEndpoint(() => 1, v as never), ConfigError, 'serveEndpoint', 'options')
    const bad: Record<string, unknown[]> = {
      statsHandler: [5, 'x', {}],
      gracefulShutdown: ['no', 0, null],
      autoMetrics: ['yes', 1],
      creditTimeoutMs: ['5', 1.5, 0, Number.NaN],
      metricsLabels: [5, 'x', { k: {} }, [['k']]],
    }
    for (const [key, values] of Object.entries(bad)) {
      for (const v of values) {
        await expectTyped(() => e.serveEndpoint(() => 1, { [key]: v } as never), key === 'metricsLabels' ? InvalidLabelError : ConfigError, key)
      }
    }
    // Nothing was left half-served: a valid call still serves the endpoint.
    const s = await e.serveEndpoint(() => 1)
    await s.stop()
  })

  it('client options, requests and call arguments', async () => {
    for (const v of NOT_OBJECT) await expectTyped(() => ep.client(v as never), ConfigError, 'client', 'options')
    for (const v of ['5', 0, -1, 1.5, Number.NaN, 2 ** 31, null]) {
      await expectTyped(() => ep.client({ idleTimeoutMs: v as never }), ConfigError, 'options.idleTimeoutMs')
      await expectTyped(() => ep.client({ creditWindow: v as never }), ConfigError, 'options.creditWindow')
    }
    const s = await ep.serveEndpoint(async function* (r) {
      yield r
    })
    try {
      const c = ep.client()
      const cycle: Record<string, unknown> = {}
      cycle.self = cycle
      for (const v of [5n, cycle, undefined, () => 1, Symbol('s')]) {
        await expectTyped(() => c.generate(v as never), InvalidArgumentError, 'request', 'JSON')
        await expectTyped(() => c.random(v as never), InvalidArgumentError, 'request')
        await expectTyped(() => c.roundRobin(v as never), InvalidArgumentError, 'request')
      }
      for (const v of [5, null, {}, 5n, Symbol('s')]) await expectTyped(() => c.direct(1, v as never), InvalidArgumentError, 'direct', 'instanceId')
      for (const v of ['5', -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, 5n]) {
        await expectTyped(() => c.waitForInstances(v as never), ConfigError, 'waitForInstances', 'timeoutMs')
        await expectTyped(() => comp.scrapeStats(v as never), ConfigError, 'scrapeStats', 'timeoutMs')
      }
      const got: unknown[] = []
      for await (const x of c.generate({ ok: [1, 'two'] })) got.push(x)
      expect(got).toEqual([{ ok: [1, 'two'] }])
    } finally {
      await s.stop()
    }
  })
})

describe('frontend metrics', () => {
  it('frontendMetrics options', async () => {
    for (const v of NOT_OBJECT) await expectTyped(() => rt.frontendMetrics(v as never), ConfigError, 'frontendMetrics', 'options')
    for (const v of [5, null, {}]) await expectTyped(() => rt.frontendMetrics({ prefix: v as never }), ConfigError, 'options.prefix')
    for (const v of [5, 'x', null]) await expectTyped(() => rt.frontendMetrics({ prefix: 'fa', buckets: v as never }), ConfigError, 'options.buckets')
    await expectTyped(() => rt.frontendMetrics({ prefix: 'fb', buckets: { ttft: 5 as never } }), ConfigError, 'options.buckets.ttft')
  })

  it('the tracker: start, token, finish, track and model config', async () => {
    const fm = rt.frontendMetrics({ prefix: 'fc' })
    for (const v of [null, 5, 'x', 5n, Symbol('s')]) await expectTyped(() => fm.startRequest(v as never), InvalidLabelError, 'startRequest options')
    for (const v of [undefined, 5, '', LONE, 5n]) await expectTyped(() => fm.startRequest({ model: v as never }), InvalidLabelError, 'model')
    for (const v of [5, '', LONE, {}]) await expectTyped(() => fm.startRequest({ model: 'm', endpoint: v as never }), InvalidLabelError, 'endpoint')
    const t = fm.startRequest({ model: 'm' })
    for (const v of [5n, Symbol('s'), '2', -1, 1.5, null]) await expectTyped(() => t.token(v as never), MetricsError, 'token(')
    for (const v of [null, 5, 'x', 5n]) {
      await expectTyped(() => t.finish(v as never), InvalidArgumentError, 'finish', 'options')
      await expectTyped(() => t.disconnected(v as never), InvalidArgumentError, 'disconnected', 'options')
    }
    expect(t.finished).toBe(false)
    expect(t.finish()).toBe(true)
    for (const v of NOT_FUNCTION) await expectTyped(() => fm.track({ model: 'm' }, v as never), InvalidArgumentError, 'track', 'fn')
    for (const v of [null, 5, 'x', 5n]) await expectTyped(() => fm.setModelConfig('m', v as never), ConfigError, 'setModelConfig', 'config')
    // A key of Object.prototype is no model config key (it once reached `.set is not a function`).
    for (const k of ['valueOf', 'constructor', 'toString']) await expectTyped(() => fm.setModelConfig('m', { [k]: 1 } as never), ConfigError, `unknown model config '${k}'`)
    // A refused call sets none of its gauges.
    fm.setModelConfig('m', { totalKvBlocks: 7 })
    await expectTyped(() => fm.setModelConfig('m', { totalKvBlocks: 9, contextLength: 1.5 }), MetricsError, 'setModelConfig(1.5)')
    expect(fm.families.modelConfig.totalKvBlocks.get({ model: 'm' })).toBe(7)
  })
})

describe('Method 1 helpers', () => {
  it('WorkerMetricsPublisher, KvMetricsAggregator, publishKvHitRate', async () => {
    for (const v of [undefined, null, 5, {}, ns]) {
      await expectTyped(() => new WorkerMetricsPublisher().createEndpoint(v as never), InvalidArgumentError, 'createEndpoint', 'component')
      await expectTyped(() => new KvMetricsAggregator(v as never), InvalidArgumentError, 'KvMetricsAggregator', 'component')
    }
    for (const v of [5, 'x', { k: {} }]) await expectTyped(() => new WorkerMetricsPublisher().createEndpoint(comp, v as never), InvalidLabelError, 'metricsLabels')
    for (const v of [null, 5, 'x']) await expectTyped(() => new WorkerMetricsPublisher().createEndpoint(comp, undefined, v as never), ConfigError, 'createEndpoint', 'options')
    await expectTyped(() => new WorkerMetricsPublisher().createEndpoint(comp, undefined, { endpoint: 5 as never }), ConfigError, 'options.endpoint')
    for (const v of [null, 5, 'x']) await expectTyped(() => new KvMetricsAggregator(comp, v as never), ConfigError, 'KvMetricsAggregator', 'options')
    for (const key of ['endpoint', 'pollIntervalMs', 'pollTimeoutMs', 'staleAfterMs', 'onWarning']) {
      await expectTyped(() => new KvMetricsAggregator(comp, { [key]: key === 'endpoint' ? 5 : 'x' } as never), ConfigError, `options.${key}`)
    }
    for (const v of [undefined, null, 5, {}, comp]) await expectTyped(() => publishKvHitRate(v as never, { workerId: 1, islBlocks: 1, overlapBlocks: 0 }), InvalidArgumentError, 'publishKvHitRate', 'namespace')
  })
})

it('a wrong value is described in the message, never by calling its toString', () => {
  // Object.create(null) has no toString: a message built with String(v) would throw instead.
  expect(() => ep.metrics.createGauge(Object.create(null) as never, 'h')).toThrow(/got an object/)
  expect(() => ep.metrics.createGauge(Symbol('s') as never, 'h')).toThrow(/got Symbol\(s\)/)
})
