// Every error case: the class, `instanceof MetricsError`, the code, a message that names the
// input, and that values recorded before the error are still there afterwards.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  Counter,
  CounterVec,
  DistributedRuntime,
  DuplicateMetricError,
  Endpoint,
  Histogram,
  HistogramVec,
  IntCounter,
  IntCounterVec,
  IntGauge,
  IntGaugeVec,
  InvalidBucketsError,
  InvalidHelpError,
  InvalidLabelError,
  InvalidNameError,
  InvalidValueError,
  MetricsError,
  Namespace,
  RuntimeClosedError,
} from '../dist/cjs/index.js'

type ErrorClass = new (code: string, message: string) => MetricsError

/** Runs `fn`, which must throw `Cls` with `code` and a message containing every needle. */
function expectError(fn: () => unknown, Cls: ErrorClass, code: string, ...needles: string[]): MetricsError {
  let caught: unknown
  let threw = false
  try {
    fn()
  } catch (e) {
    caught = e
    threw = true
  }
  expect(threw, 'expected the call to throw').toBe(true)
  expect(caught).toBeInstanceOf(Cls)
  expect(caught).toBeInstanceOf(MetricsError)
  expect(caught).toBeInstanceOf(Error)
  const err = caught as MetricsError
  expect(err.code).toBe(code)
  expect(err.name).toBe(Cls.name)
  for (const n of needles) expect(err.message).toContain(n)
  return err
}

const NAME = 'ERR_DYNAMO_INVALID_NAME'
const LABEL = 'ERR_DYNAMO_INVALID_LABEL'
const HELP = 'ERR_DYNAMO_INVALID_HELP'
const BUCKETS = 'ERR_DYNAMO_INVALID_BUCKETS'
const VALUE = 'ERR_DYNAMO_INVALID_VALUE'
const DUP = 'ERR_DYNAMO_DUPLICATE_METRIC'
const CLOSED = 'ERR_DYNAMO_CLOSED'

let rt: DistributedRuntime
let ns: Namespace
let ep: Endpoint
let gauge: IntGauge
let counter: IntCounter
let fcounter: Counter
let hist: Histogram
let vec: IntGaugeVec<'worker_id' | 'model'>
let cvec: CounterVec<'worker_id'>
let icvec: IntCounterVec<'worker_id'>
let hvec: HistogramVec<'model'>
let baseline: string
const W1 = { worker_id: 'w1', model: 'llama-3' } as const

beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
  ns = rt.namespace('ns')
  ep = ns.component('comp').endpoint('ep')
  gauge = ep.metrics.createIntGauge('slots', 'Total slots')
  gauge.set(7)
  counter = ep.metrics.createIntCounter('requests_total', 'Requests')
  counter.incBy(3)
  fcounter = ep.metrics.createCounter('bytes_total', 'Bytes')
  fcounter.incBy(2.5)
  hist = ep.metrics.createHistogram('latency_seconds', 'Latency', { buckets: [0.1, 1] })
  hist.observe(0.05)
  hist.observe(0.5)
  vec = ep.metrics.createIntGaugeVec('load', 'Load', ['worker_id', 'model'] as const)
  vec.set(5, W1)
  cvec = ep.metrics.createCounterVec('errors_total', 'Errors', ['worker_id'] as const)
  cvec.incBy(1.5, { worker_id: 'w1' })
  icvec = ep.metrics.createIntCounterVec('hits_total', 'Hits', ['worker_id'] as const)
  icvec.incBy(4, { worker_id: 'w1' })
  hvec = ep.metrics.createHistogramVec('ttft_seconds', 'TTFT', ['model'] as const, { buckets: [1] })
  hvec.observe(0.2, { model: 'm' })
  baseline = await ns.prometheusMetricsFmt()
  // The fixture itself is what later comparisons rely on.
  expect(baseline).toContain('dynamo_component_slots{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns"} 7\n')
  expect(baseline).toContain(
    'dynamo_component_load{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns",model="llama-3",worker_id="w1"} 5\n',
  )
  expect(baseline).toContain('dynamo_component_latency_seconds_count{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns"} 2\n')
})

afterEach(async () => {
  await rt.shutdown()
})

/** The values recorded in the fixture are all still there, and nothing was added. */
async function expectUnchanged(): Promise<void> {
  expect(await ns.prometheusMetricsFmt()).toBe(baseline)
  expect(gauge.get()).toBe(7)
  expect(counter.get()).toBe(3)
  expect(fcounter.get()).toBe(2.5)
  expect(hist.getCount()).toBe(2)
  expect(vec.get(W1)).toBe(5)
}

describe('InvalidNameError', () => {
  it.each(['', '@#$%', '!!!!', '___'])('metric name %j', async (name) => {
    expectError(() => ep.metrics.createGauge(name, 'help'), InvalidNameError, NAME, `'${name}'`)
    expectError(() => ep.metrics.createCounterVec(name, 'help', ['a']), InvalidNameError, NAME, `'${name}'`)
    expectError(() => ep.metrics.createHistogram(name, 'help'), InvalidNameError, NAME, `'${name}'`)
    expectError(() => rt.metrics.createIntGauge(name, 'help'), InvalidNameError, NAME, `'${name}'`)
    await expectUnchanged()
  })

  it.each(['', '@#$%', '____'])('hierarchy name %j at every level', async (name) => {
    expectError(() => rt.namespace(name), InvalidNameError, NAME, 'namespace', `'${name}'`)
    expectError(() => ns.namespace(name), InvalidNameError, NAME, 'namespace', `'${name}'`)
    expectError(() => ns.component(name), InvalidNameError, NAME, 'component', `'${name}'`)
    expectError(() => ns.component('comp').endpoint(name), InvalidNameError, NAME, 'endpoint', `'${name}'`)
    await expectUnchanged()
  })
})

describe('InvalidLabelError at creation', () => {
  describe.each(['dynamo_namespace', 'dynamo_component', 'dynamo_endpoint'])('reserved label %s', (reserved) => {
    it('as a const label (object and pairs)', async () => {
      expectError(() => ep.metrics.createGauge('r1', 'h', { [reserved]: 'x' }), InvalidLabelError, LABEL, reserved)
      expectError(() => ep.metrics.createCounter('r2', 'h', [[reserved, 'x']]), InvalidLabelError, LABEL, reserved)
      expectError(() => rt.metrics.createIntGauge('r3', 'h', { [reserved]: 'x' }), InvalidLabelError, LABEL, reserved)
      expectError(() => ep.metrics.createHistogram('r4', 'h', { constLabels: { [reserved]: 'x' } }), InvalidLabelError, LABEL, reserved)
      await expectUnchanged()
    })

    it('as a variable label', async () => {
      expectError(() => ep.metrics.createGaugeVec('r5', 'h', [reserved]), InvalidLabelError, LABEL, reserved)
      expectError(() => ns.metrics.createIntCounterVec('r6', 'h', ['ok', reserved]), InvalidLabelError, LABEL, reserved)
      expectError(() => rt.metrics.createHistogramVec('r7', 'h', [reserved]), InvalidLabelError, LABEL, reserved)
      await expectUnchanged()
    })
  })

  it('le as a const label of a histogram', async () => {
    expectError(() => ep.metrics.createHistogram('h_le', 'h', { constLabels: { le: '1' } }), InvalidLabelError, LABEL, "'le'")
    expectError(() => ep.metrics.createHistogramVec('h_le2', 'h', ['m'], { constLabels: [['le', '1']] }), InvalidLabelError, LABEL, "'le'")
    await expectUnchanged()
  })

  it('le as a variable label of a histogram', async () => {
    expectError(() => ep.metrics.createHistogramVec('h_le3', 'h', ['le']), InvalidLabelError, LABEL, "'le'")
    expectError(() => ep.metrics.createHistogramVec('h_le4', 'h', ['model', 'le']), InvalidLabelError, LABEL, "'le'")
    await expectUnchanged()
  })

  it('duplicate keys within the const labels', async () => {
    expectError(
      () =>
        ep.metrics.createGauge('d1', 'h', [
          ['k', '1'],
          ['k', '2'],
        ]),
      InvalidLabelError,
      LABEL,
      "'k'",
    )
    await expectUnchanged()
  })

  it('duplicate keys within the variable labels', async () => {
    expectError(() => ep.metrics.createGaugeVec('d2', 'h', ['k', 'k']), InvalidLabelError, LABEL, "'k'")
    await expectUnchanged()
  })

  it('duplicate keys between const and variable labels', async () => {
    expectError(() => ep.metrics.createCounterVec('d3', 'h', ['k'], { k: 'v' }), InvalidLabelError, LABEL, "'k'")
    expectError(() => ep.metrics.createHistogramVec('d4', 'h', ['k'], { constLabels: [['k', 'v']] }), InvalidLabelError, LABEL, "'k'")
    await expectUnchanged()
  })

  it.each(['1a', '__x', 'a-b', 'a b', ''])('invalid label name %j as const and as variable label', async (bad) => {
    expectError(() => ep.metrics.createGauge('bad1', 'h', { [bad]: 'v' }), InvalidLabelError, LABEL, `'${bad}'`)
    expectError(() => ep.metrics.createGaugeVec('bad2', 'h', [bad]), InvalidLabelError, LABEL, `'${bad}'`)
    await expectUnchanged()
  })
})

describe('InvalidHelpError', () => {
  it('empty help on every constructor', async () => {
    expectError(() => ep.metrics.createCounter('nohelp', ''), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createIntCounter('nohelp', ''), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createGauge('nohelp', ''), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createIntGauge('nohelp', ''), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createHistogram('nohelp', ''), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createCounterVec('nohelp', '', ['a']), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createIntCounterVec('nohelp', '', ['a']), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createGaugeVec('nohelp', '', ['a']), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createIntGaugeVec('nohelp', '', ['a']), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    expectError(() => ep.metrics.createHistogramVec('nohelp', '', ['a']), InvalidHelpError, HELP, 'dynamo_component_nohelp')
    await expectUnchanged()
    // The name is still free afterwards.
    expect(ep.metrics.createGauge('nohelp', 'now with help').name).toBe('dynamo_component_nohelp')
  })
})

describe('InvalidBucketsError', () => {
  const bad: Array<[string, number[], string[]]> = [
    ['not strictly increasing (descending)', [2, 1], ['2 >= 1']],
    ['not strictly increasing (equal)', [0.5, 1, 1], ['1 >= 1']],
    ['empty', [], ['empty']],
    ['only +Inf', [Infinity], ['empty']],
    ['NaN', [1, NaN], ['NaN']],
    ['-Inf', [-Infinity, 1], ['-Inf']],
    ['+Inf before the end', [1, Infinity, 2], ['+Inf']],
  ]

  it.each(bad)('%s', async (_label, buckets, needles) => {
    expectError(
      () => ep.metrics.createHistogram('bk', 'h', { buckets }),
      InvalidBucketsError,
      BUCKETS,
      'dynamo_component_bk',
      ...needles,
    )
    expectError(
      () => ep.metrics.createHistogramVec('bkv', 'h', ['m'], { buckets }),
      InvalidBucketsError,
      BUCKETS,
      'dynamo_component_bkv',
      ...needles,
    )
    await expectUnchanged()
  })

  it('a trailing +Inf is accepted and dropped', async () => {
    const h = ep.metrics.createHistogram('bk_inf', 'h', { buckets: [1, 2, Infinity] })
    expect(h.buckets).toEqual([1, 2])
    h.observe(5)
    const text = await ep.prometheusMetricsFmt()
    expect(text.match(/dynamo_component_bk_inf_bucket\{[^}]*le="\+Inf"\} 1\n/g)).toHaveLength(1)
    expect(text).toContain('dynamo_component_bk_inf_bucket{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns",le="2"} 0\n')
  })
})

describe('InvalidLabelError on Vec calls', () => {
  it('compile time: a missing or unknown key is a TypeScript error', () => {
    const v = ep.metrics.createIntGaugeVec('x', 'h', ['worker_id', 'model'] as const)
    v.set(1, { worker_id: 'w', model: 'm' })
    expectError(
      // @ts-expect-error: 'model' is missing
      () => v.set(5, { worker_id: 'w1' }),
      InvalidLabelError,
      LABEL,
      "'model'",
    )
    expectError(
      // @ts-expect-error: 'extra' is not a declared label
      () => v.set(5, { worker_id: 'w1', model: 'm', extra: 'x' }),
      InvalidLabelError,
      LABEL,
      "'extra'",
    )
    expectError(
      // @ts-expect-error: 'modl' is not a declared label and 'model' is missing
      () => v.inc({ worker_id: 'w1', modl: 'm' }),
      InvalidLabelError,
      LABEL,
      "'modl'",
    )
    expect(v.get({ worker_id: 'w', model: 'm' })).toBe(1)
  })

  it('a missing key names the key, on every Vec method', async () => {
    const miss = { worker_id: 'w1' } as unknown as typeof W1
    expectError(() => vec.set(1, miss), InvalidLabelError, LABEL, "'model'", 'dynamo_component_load')
    expectError(() => vec.inc(miss), InvalidLabelError, LABEL, "'model'")
    expectError(() => vec.dec(miss), InvalidLabelError, LABEL, "'model'")
    expectError(() => vec.add(1, miss), InvalidLabelError, LABEL, "'model'")
    expectError(() => vec.sub(1, miss), InvalidLabelError, LABEL, "'model'")
    expectError(() => vec.get(miss), InvalidLabelError, LABEL, "'model'")
    expectError(() => vec.labels(miss), InvalidLabelError, LABEL, "'model'")
    expectError(() => cvec.inc({} as { worker_id: string }), InvalidLabelError, LABEL, "'worker_id'")
    expectError(() => icvec.incBy(1, {} as { worker_id: string }), InvalidLabelError, LABEL, "'worker_id'")
    expectError(() => hvec.observe(0.1, { mdl: 'm' } as unknown as { model: string }), InvalidLabelError, LABEL)
    await expectUnchanged()
  })

  it('a declared key that is not own and enumerable is missing, even when the key count matches', async () => {
    // for...in sees 'worker_id' and the inherited 'extra': as many keys as names, but 'model' is
    // an own non-enumerable property, so the object does not carry the label set.
    const l = Object.create({ extra: 'x' }) as Record<string, string>
    l.worker_id = 'w-hidden'
    Object.defineProperty(l, 'model', { value: 'm', enumerable: false })
    expectError(() => vec.set(1, l as unknown as typeof W1), InvalidLabelError, LABEL, "'model'")
    await expectUnchanged()
  })

  it('an own non-enumerable declared key does not hide an extra own key', async () => {
    // Own enumerable keys: 'worker_id' and 'extra', as many as names; 'model' is own but hidden.
    const l = { worker_id: 'w-extra', extra: 'x' } as Record<string, string>
    Object.defineProperty(l, 'model', { value: 'm', enumerable: false })
    expectError(() => vec.set(1, l as unknown as typeof W1), InvalidLabelError, LABEL, "'extra'")
    expectError(() => vec.get(l as unknown as typeof W1), InvalidLabelError, LABEL, "'extra'")
    await expectUnchanged()
  })

  it('an unknown key names the key, also when all declared keys are present', async () => {
    const extra = { ...W1, extra: 'x' } as unknown as typeof W1
    expectError(() => vec.set(1, extra), InvalidLabelError, LABEL, "'extra'")
    expectError(() => vec.labels(extra), InvalidLabelError, LABEL, "'extra'")
    expectError(() => cvec.incBy(1, { worker_id: 'w1', zone: 'z' } as unknown as { worker_id: string }), InvalidLabelError, LABEL, "'zone'")
    expectError(() => hvec.observe(1, { model: 'm', le: '1' } as unknown as { model: string }), InvalidLabelError, LABEL, "'le'")
    await expectUnchanged()
  })

  it('labels that are not an object', async () => {
    expectError(() => vec.set(1, null as unknown as typeof W1), InvalidLabelError, LABEL, 'dynamo_component_load')
    expectError(() => vec.set(1, 'w1' as unknown as typeof W1), InvalidLabelError, LABEL, 'dynamo_component_load')
    await expectUnchanged()
  })

  it.each([
    ['an object', {}],
    ['an array', ['w1']],
    ['null', null],
    ['undefined', undefined],
    ['a symbol', Symbol('w')],
    ['a function', () => 'w1'],
  ])('a label value that is %s', async (_label, value) => {
    const labels = { worker_id: value, model: 'm' } as unknown as typeof W1
    expectError(() => vec.set(1, labels), InvalidLabelError, LABEL, "'worker_id'")
    expectError(() => vec.labels(labels), InvalidLabelError, LABEL, "'worker_id'")
    expectError(() => cvec.inc({ worker_id: value } as unknown as { worker_id: string }), InvalidLabelError, LABEL, "'worker_id'")
    await expectUnchanged()
  })

  it.each([
    ['a boolean', true],
    ['a bigint', 10n],
  ])('a label value that is %s (neither string nor number)', async (_label, value) => {
    const labels = { worker_id: value, model: 'm' } as unknown as typeof W1
    expectError(() => vec.set(1, labels), InvalidLabelError, LABEL, "'worker_id'")
    await expectUnchanged()
  })
})

describe('InvalidValueError', () => {
  it('non-integers to Int metrics', async () => {
    expectError(() => gauge.set(1.5), InvalidValueError, VALUE, '1.5', 'dynamo_component_slots')
    expectError(() => gauge.add(0.5), InvalidValueError, VALUE, '0.5')
    expectError(() => gauge.sub(0.25), InvalidValueError, VALUE, '0.25')
    expectError(() => gauge.set(NaN), InvalidValueError, VALUE, 'NaN')
    expectError(() => gauge.set(Infinity), InvalidValueError, VALUE, 'Infinity')
    expectError(() => counter.incBy(0.5), InvalidValueError, VALUE, '0.5', 'dynamo_component_requests_total')
    expectError(() => vec.set(1.5, W1), InvalidValueError, VALUE, '1.5', 'dynamo_component_load')
    expectError(() => vec.add(0.5, W1), InvalidValueError, VALUE, '0.5')
    expectError(() => vec.sub(0.5, W1), InvalidValueError, VALUE, '0.5')
    expectError(() => icvec.incBy(0.5, { worker_id: 'w1' }), InvalidValueError, VALUE, '0.5', 'dynamo_component_hits_total')
    const child = vec.labels(W1)
    expectError(() => child.set(2.5), InvalidValueError, VALUE, '2.5')
    expectError(() => child.add(0.1), InvalidValueError, VALUE, '0.1')
    expectError(() => icvec.labels({ worker_id: 'w1' }).incBy(1.5), InvalidValueError, VALUE, '1.5')
    await expectUnchanged()
    expect(icvec.get({ worker_id: 'w1' })).toBe(4)
  })

  it('a negative or NaN increment to a counter', async () => {
    expectError(() => fcounter.incBy(-1), InvalidValueError, VALUE, '-1', 'dynamo_component_bytes_total')
    expectError(() => fcounter.incBy(NaN), InvalidValueError, VALUE, 'NaN')
    expectError(() => fcounter.incBy(-Infinity), InvalidValueError, VALUE, '-Infinity')
    expectError(() => counter.incBy(-2), InvalidValueError, VALUE, '-2')
    expectError(() => counter.incBy(NaN), InvalidValueError, VALUE, 'NaN')
    expectError(() => cvec.incBy(-1, { worker_id: 'w1' }), InvalidValueError, VALUE, '-1', 'dynamo_component_errors_total')
    expectError(() => cvec.incBy(NaN, { worker_id: 'w1' }), InvalidValueError, VALUE, 'NaN')
    expectError(() => icvec.incBy(-3, { worker_id: 'w1' }), InvalidValueError, VALUE, '-3')
    expectError(() => cvec.labels({ worker_id: 'w1' }).incBy(-0.5), InvalidValueError, VALUE, '-0.5')
    await expectUnchanged()
    expect(cvec.get({ worker_id: 'w1' })).toBe(1.5)
  })

  it('a NaN observation', async () => {
    expectError(() => hist.observe(NaN), InvalidValueError, VALUE, 'NaN', 'dynamo_component_latency_seconds')
    expectError(() => hvec.observe(NaN, { model: 'm' }), InvalidValueError, VALUE, 'NaN', 'dynamo_component_ttft_seconds')
    expectError(() => hvec.labels({ model: 'm' }).observe(NaN), InvalidValueError, VALUE, 'NaN')
    await expectUnchanged()
    expect(hvec.getCount({ model: 'm' })).toBe(1)
    expect(hvec.getSum({ model: 'm' })).toBe(0.2)
  })
})

describe('DuplicateMetricError', () => {
  it('the same scalar name twice at the same level', async () => {
    expectError(() => ep.metrics.createIntGauge('slots', 'Total slots'), DuplicateMetricError, DUP, 'dynamo_component_slots')
    expectError(() => ep.metrics.createIntGauge('dynamo_component_slots', 'Total slots'), DuplicateMetricError, DUP, 'dynamo_component_slots')
    await expectUnchanged()
    gauge.inc()
    expect(gauge.get()).toBe(8)
  })

  it('the same Vec name twice at the same level', async () => {
    expectError(() => ep.metrics.createIntGaugeVec('load', 'Load', ['worker_id', 'model']), DuplicateMetricError, DUP, 'dynamo_component_load')
    expectError(() => ep.metrics.createHistogramVec('ttft_seconds', 'TTFT', ['model'], { buckets: [1] }), DuplicateMetricError, DUP, 'dynamo_component_ttft_seconds')
    await expectUnchanged()
  })

  it('the same const labels (in another order or form) twice at the same level', async () => {
    ns.metrics.createGauge('cl', 'h', { a: '1', b: '2' }).set(1)
    const before = await ns.prometheusMetricsFmt()
    expectError(
      () =>
        ns.metrics.createGauge('cl', 'h', [
          ['b', '2'],
          ['a', '1'],
        ]),
      DuplicateMetricError,
      DUP,
      'dynamo_component_cl',
    )
    expect(await ns.prometheusMetricsFmt()).toBe(before)
  })

  it('the same runtime-level metric twice', () => {
    rt.metrics.createCounter('rt_dup_total', 'h')
    expectError(() => rt.metrics.createCounter('rt_dup_total', 'h'), DuplicateMetricError, DUP, 'dynamo_component_rt_dup_total')
  })

  it('different const labels at the same level are allowed, and both render', async () => {
    const a = ep.metrics.createIntGauge('slots', 'Total slots', { pool: 'a' })
    const b = ep.metrics.createIntGauge('slots', 'Total slots', { pool: 'b' })
    a.set(1)
    b.set(2)
    const text = await ep.prometheusMetricsFmt()
    expect(text).toContain(
      '# HELP dynamo_component_slots Total slots\n' +
        '# TYPE dynamo_component_slots gauge\n' +
        'dynamo_component_slots{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns"} 7\n' +
        'dynamo_component_slots{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns",pool="a"} 1\n' +
        'dynamo_component_slots{dynamo_component="comp",dynamo_endpoint="ep",dynamo_namespace="ns",pool="b"} 2\n',
    )
    expect(text.split('# HELP dynamo_component_slots ').length - 1).toBe(1)
  })
})

describe('RuntimeClosedError', () => {
  it('creating a metric after shutdown(), at every level', async () => {
    const comp = ns.component('comp')
    await rt.shutdown()
    expectError(() => rt.metrics.createGauge('late', 'h'), RuntimeClosedError, CLOSED)
    expectError(() => ns.metrics.createCounter('late', 'h'), RuntimeClosedError, CLOSED)
    expectError(() => comp.metrics.createHistogram('late', 'h'), RuntimeClosedError, CLOSED)
    expectError(() => ep.metrics.createIntGaugeVec('late', 'h', ['a']), RuntimeClosedError, CLOSED)
    expectError(() => ep.metrics.createIntCounter('late', 'h'), RuntimeClosedError, CLOSED)
    // Values recorded before the shutdown are still readable.
    expect(gauge.get()).toBe(7)
    expect(counter.get()).toBe(3)
    expect(fcounter.get()).toBe(2.5)
    expect(hist.getCount()).toBe(2)
    expect(hist.getSum()).toBe(0.55)
    expect(vec.get(W1)).toBe(5)
  })

  it('the error message says the runtime was shut down', async () => {
    await rt.shutdown()
    const e = expectError(() => ep.metrics.createGauge('late', 'h'), RuntimeClosedError, CLOSED)
    expect(e.message.toLowerCase()).toContain('shut down')
  })
})
