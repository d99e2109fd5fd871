// What a metric method does with the arguments a plain-JS caller (or a prom-client habit) gives
// it: the value prom-client would record where its meaning is unambiguous, else a typed error
// naming the argument and the call, and never a silently wrong value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DistributedRuntime,
  InvalidBucketsError,
  InvalidLabelError,
  InvalidValueError,
  MetricsError,
} from '../dist/cjs/index.js'

const L = { k: 'a' }
const L7 = { k: 7 }
const BAD = { q: 'a' }
/** Every argument the walk tries, in every position. */
const POOL: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1,
  2.5,
  -1,
  NaN,
  Infinity,
  -Infinity,
  2 ** 40,
  '5',
  '',
  'x',
  true,
  5n,
  Symbol('s'),
  {},
  [],
  [1],
  () => 1,
  L,
  L7,
  BAD,
]

/** Series state: per label set ('' for a scalar) the value, or `[count, sum]` of a histogram. */
type State = Record<string, number[]>
/** What a call must do: throw a typed error, change the state so, or return the state's value. */
type Outcome = 'error' | { change: (s: State) => void } | { returns: (s: State) => number } | { child: true }

const num = (v: unknown): v is number => typeof v === 'number'
const increment = (v: unknown): v is number => num(v) && v >= 0
const intIncrement = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0
const amount = (v: unknown): v is number => num(v) && !Number.isNaN(v)
const integer = (v: unknown): v is number => Number.isInteger(v)
/** The series a labels argument addresses, or null when it must be refused. */
const seriesOf = (l: unknown): string | null => (l === L ? 'a' : l === L7 ? '7' : null)

const add = (key: string, d: number): Outcome => ({ change: (s) => void (s[key][0] += d) })
const put = (key: string, v: number): Outcome => ({ change: (s) => void (s[key][0] = v) })
const observe = (key: string, v: number): Outcome => ({
  change: (s) => {
    s[key][0] += 1
    s[key][1] += v
  },
})
const value = (key: string, i = 0): Outcome => ({ returns: (s) => s[key][i] })

type Oracle = (args: unknown[]) => Outcome
type Rules = { inc: (v: unknown) => boolean; amount: (v: unknown) => boolean; set: (v: unknown) => boolean }
const FLOAT: Rules = { inc: increment, amount, set: num }
const INT: Rules = { inc: intIncrement, amount: integer, set: integer }

function counterOracles(r: Rules, key = ''): Record<string, Oracle> {
  return {
    inc: ([v]) => (v === undefined ? add(key, 1) : r.inc(v) ? add(key, v as number) : 'error'),
    incBy: ([v]) => (r.inc(v) ? add(key, v as number) : 'error'),
    get: () => value(key),
  }
}

function gaugeOracles(r: Rules, key = ''): Record<string, Oracle> {
  const step = (sign: number): Oracle => ([v]) =>
    v === undefined ? add(key, sign) : r.amount(v) ? add(key, sign * (v as number)) : 'error'
  return {
    set: ([v]) => (r.set(v) ? put(key, v as number) : 'error'),
    inc: step(1),
    dec: step(-1),
    add: ([v]) => (r.amount(v) ? add(key, v as number) : 'error'),
    sub: ([v]) => (r.amount(v) ? add(key, -(v as number)) : 'error'),
    get: () => value(key),
  }
}

function histogramOracles(key = ''): Record<string, Oracle> {
  return {
    observe: ([v]) => (amount(v) ? observe(key, v) : 'error'),
    getCount: () => value(key, 0),
    getSum: () => value(key, 1),
  }
}

/** A Vec method taking `(value, labels)`: valid only when both are. */
const valueFirst = (ok: (v: unknown) => boolean, then: (key: string, v: number) => Outcome): Oracle => ([v, l]) => {
  const key = seriesOf(l)
  return key !== null && ok(v) ? then(key, v as number) : 'error'
}
/** A Vec method taking `(labels, value?)` (prom-client's order for inc and dec). */
const labelsFirst = (ok: (v: unknown) => boolean, sign: number): Oracle => ([l, v]) => {
  const key = seriesOf(l)
  if (key === null) return 'error'
  return v === undefined ? add(key, sign) : ok(v) ? add(key, sign * (v as number)) : 'error'
}
/** `labels(l)`: the bound child of a valid label set, else a typed error. */
const bind: Oracle = ([l]) => (seriesOf(l) === null ? 'error' : { child: true })
const reader = (i = 0): Oracle => ([l]) => {
  const key = seriesOf(l)
  return key === null ? 'error' : value(key, i)
}

function counterVecOracles(r: Rules): Record<string, Oracle> {
  return { inc: labelsFirst(r.inc, 1), incBy: valueFirst(r.inc, (k, v) => add(k, v)), get: reader(), labels: bind }
}

function gaugeVecOracles(r: Rules): Record<string, Oracle> {
  return {
    set: valueFirst(r.set, (k, v) => put(k, v)),
    inc: labelsFirst(r.amount, 1),
    dec: labelsFirst(r.amount, -1),
    add: valueFirst(r.amount, (k, v) => add(k, v)),
    sub: valueFirst(r.amount, (k, v) => add(k, -v)),
    get: reader(),
    labels: bind,
  }
}

const histogramVecOracles: Record<string, Oracle> = {
  observe: valueFirst(amount, (k, v) => observe(k, v)),
  getCount: reader(0),
  getSum: reader(1),
  labels: bind,
}

interface Subject {
  title: string
  make(rt: DistributedRuntime, name: string): { target: object; read(): State }
  oracles: Record<string, Oracle>
}

type Callable = Record<string, (...args: unknown[]) => unknown>

const scalarState = (get: () => number[]): (() => State) => () => ({ '': get() })
const vecState = (get: (l: typeof L | typeof L7) => number[]): (() => State) => () => ({ a: get(L), '7': get(L7) })

const SUBJECTS: Subject[] = [
  {
    title: 'Counter',
    make: (rt, n) => {
      const c = rt.metrics.createCounter(n, 'h')
      return { target: c, read: scalarState(() => [c.get()]) }
    },
    oracles: counterOracles(FLOAT),
  },
  {
    title: 'IntCounter',
    make: (rt, n) => {
      const c = rt.metrics.createIntCounter(n, 'h')
      return { target: c, read: scalarState(() => [c.get()]) }
    },
    oracles: counterOracles(INT),
  },
  {
    title: 'Gauge',
    make: (rt, n) => {
      const g = rt.metrics.createGauge(n, 'h')
      return { target: g, read: scalarState(() => [g.get()]) }
    },
    oracles: gaugeOracles(FLOAT),
  },
  {
    title: 'IntGauge',
    make: (rt, n) => {
      const g = rt.metrics.createIntGauge(n, 'h')
      return { target: g, read: scalarState(() => [g.get()]) }
    },
    oracles: gaugeOracles(INT),
  },
  {
    title: 'Histogram',
    make: (rt, n) => {
      const h = rt.metrics.createHistogram(n, 'h', { buckets: [1, 2] })
      return { target: h, read: scalarState(() => [h.getCount(), h.getSum()]) }
    },
    oracles: histogramOracles(),
  },
  {
    title: 'CounterVec bound child',
    make: (rt, n) => {
      const c = rt.metrics.createCounterVec(n, 'h', ['k']).labels(L)
      return { target: c, read: scalarState(() => [c.get()]) }
    },
    oracles: counterOracles(FLOAT),
  },
  {
    title: 'IntCounterVec bound child',
    make: (rt, n) => {
      const c = rt.metrics.createIntCounterVec(n, 'h', ['k']).labels(L)
      return { target: c, read: scalarState(() => [c.get()]) }
    },
    oracles: counterOracles(INT),
  },
  {
    title: 'GaugeVec bound child',
    make: (rt, n) => {
      const g = rt.metrics.createGaugeVec(n, 'h', ['k']).labels(L)
      return { target: g, read: scalarState(() => [g.get()]) }
    },
    oracles: gaugeOracles(FLOAT),
  },
  {
    title: 'IntGaugeVec bound child',
    make: (rt, n) => {
      const g = rt.metrics.createIntGaugeVec(n, 'h', ['k']).labels(L)
      return { target: g, read: scalarState(() => [g.get()]) }
    },
    oracles: gaugeOracles(INT),
  },
  {
    title: 'HistogramVec bound child',
    make: (rt, n) => {
      const h = rt.metrics.createHistogramVec(n, 'h', ['k'], { buckets: [1, 2] }).labels(L)
      return { target: h, read: scalarState(() => [h.getCount(), h.getSum()]) }
    },
    oracles: histogramOracles(),
  },
  {
    title: 'CounterVec',
    make: (rt, n) => {
      const v = rt.metrics.createCounterVec(n, 'h', ['k'])
      return { target: v, read: vecState((l) => [v.get(l)]) }
    },
    oracles: counterVecOracles(FLOAT),
  },
  {
    title: 'IntCounterVec',
    make: (rt, n) => {
      const v = rt.metrics.createIntCounterVec(n, 'h', ['k'])
      return { target: v, read: vecState((l) => [v.get(l)]) }
    },
    oracles: counterVecOracles(INT),
  },
  {
    title: 'GaugeVec',
    make: (rt, n) => {
      const v = rt.metrics.createGaugeVec(n, 'h', ['k'])
      return { target: v, read: vecState((l) => [v.get(l)]) }
    },
    oracles: gaugeVecOracles(FLOAT),
  },
  {
    title: 'IntGaugeVec',
    make: (rt, n) => {
      const v = rt.metrics.createIntGaugeVec(n, 'h', ['k'])
      return { target: v, read: vecState((l) => [v.get(l)]) }
    },
    oracles: gaugeVecOracles(INT),
  },
  {
    title: 'HistogramVec',
    make: (rt, n) => {
      const v = rt.metrics.createHistogramVec(n, 'h', ['k'], { buckets: [1, 2] })
      return { target: v, read: vecState((l) => [v.getCount(l), v.getSum(l)]) }
    },
    oracles: histogramVecOracles,
  },
]

/** Every argument list of arity 0 to 2 over the pool, and a third argument on some. */
function argumentLists(): unknown[][] {
  const out: unknown[][] = [[]]
  for (const a of POOL) out.push([a])
  for (const a of POOL) for (const b of POOL) out.push([a, b])
  for (const a of POOL) for (const c of [undefined, 1, L]) out.push([a, L, c], [L, a, c])
  return out
}

let rt: DistributedRuntime
beforeAll(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
})
afterAll(async () => {
  await rt.shutdown()
})

describe('every public metric method, every arity and argument type: prom-client value or typed error', () => {
  const lists = argumentLists()
  it.each(SUBJECTS.map((s) => [s.title, s] as const))('%s', (title, subject) => {
    const { target, read } = subject.make(rt, `walk_${title.replace(/\W/g, '_').toLowerCase()}`)
    expect(Object.keys(subject.oracles).length).toBeGreaterThan(0)
    for (const [method, oracle] of Object.entries(subject.oracles)) {
      // Every public method that takes a value or labels is walked (startTimer, remove and reset
      // have their own tests).
      expect(typeof (target as Callable)[method]).toBe('function')
      for (const args of lists) {
        const want = oracle(args)
        const before = read()
        const call = `${title}.${method}(${args.map((a) => (typeof a === 'symbol' ? 'Symbol' : typeof a === 'bigint' ? `${a}n` : JSON.stringify(a) ?? String(a))).join(', ')})`
        let thrown: unknown = null
        let got: unknown
        try {
          got = (target as Callable)[method](...args)
        } catch (e) {
          thrown = e
        }
        if (want === 'error') {
          if (!(thrown instanceof MetricsError)) throw new Error(`${call}: expected a typed error, got ${thrown === null ? `no error (${String(got)})` : String(thrown)}`)
          expect(thrown.code, call).toMatch(/^ERR_DYNAMO_/)
          if (thrown instanceof InvalidValueError) expect(thrown.message, call).toContain(`${method}(`)
          expect(read(), `${call} changed a value`).toEqual(before)
          continue
        }
        if (thrown !== null) throw new Error(`${call}: expected no error, got ${String(thrown)}`)
        if ('child' in want) {
          expect(typeof got, call).toBe('object')
          expect(read(), call).toEqual(before)
        } else if ('returns' in want) {
          expect(got, call).toBe(want.returns(before))
          expect(read(), call).toEqual(before)
        } else {
          want.change(before)
          expect(read(), call).toEqual(before)
        }
      }
    }
  })
})

describe('the prom-client habits, one by one', () => {
  it('inc(v) adds v on a Counter and a Gauge; dec(v) subtracts v', () => {
    const c = rt.metrics.createCounter('habit_counter_total', 'h')
    c.inc()
    c.inc(5)
    expect(c.get()).toBe(6)
    const g = rt.metrics.createGauge('habit_gauge', 'h')
    g.inc(5)
    g.dec(2)
    expect(g.get()).toBe(3)
  })

  it("a Vec's inc(labels, v) adds v; dec(labels, v) subtracts v", () => {
    const v = rt.metrics.createCounterVec('habit_vec_total', 'h', ['k'] as const)
    v.inc({ k: 'a' }, 2)
    v.inc({ k: 'a' })
    expect(v.get({ k: 'a' })).toBe(3)
    const g = rt.metrics.createIntGaugeVec('habit_gvec', 'h', ['k'] as const)
    g.inc({ k: 'a' }, 4)
    g.dec({ k: 'a' }, 1)
    expect(g.get({ k: 'a' })).toBe(3)
  })

  it('string, object and undefined values are refused, never concatenated or stored as NaN', () => {
    const c = rt.metrics.createCounter('habit_strings_total', 'h')
    c.incBy(3)
    expect(() => c.incBy('5' as unknown as number)).toThrow(InvalidValueError)
    expect(c.get()).toBe(3)
    const g = rt.metrics.createGauge('habit_strings_gauge', 'h')
    g.set(1.5)
    for (const bad of ['abc', {}, undefined, '2']) {
      expect(() => g.set(bad as unknown as number)).toThrow(/set\(.*\) on metric 'dynamo_component_habit_strings_gauge': the value must be a number/)
      expect(() => g.add(bad as unknown as number)).toThrow(InvalidValueError)
    }
    expect(g.get()).toBe(1.5)
    const h = rt.metrics.createHistogram('habit_strings_hist', 'h')
    expect(() => h.observe('0.5' as unknown as number)).toThrow(InvalidValueError)
    expect(h.getCount()).toBe(0)
  })

  it('set(NaN) on a Gauge is stored (documented); add(NaN) is refused', async () => {
    const g = rt.metrics.createGauge('habit_nan', 'h')
    g.set(NaN)
    expect(g.get()).toBeNaN()
    expect(await rt.prometheusMetricsFmt()).toContain('dynamo_component_habit_nan NaN\n')
    g.set(1)
    expect(() => g.add(NaN)).toThrow(InvalidValueError)
    expect(g.get()).toBe(1)
  })

  it('labels first where the value belongs says that labels go last', () => {
    const g = rt.metrics.createIntGaugeVec('habit_order', 'h', ['k'] as const)
    const call = (): void => (g.set as unknown as (l: object, v: number) => void)({ k: 'a' }, 1)
    expect(call).toThrow(InvalidValueError)
    expect(call).toThrow("labels go last: call set(value, labels)")
    const h = rt.metrics.createHistogramVec('habit_order_h', 'h', ['k'] as const)
    expect(() => (h.observe as unknown as (l: object, v: number) => void)({ k: 'a' }, 1)).toThrow('labels go last: call observe(value, labels)')
    const c = rt.metrics.createCounterVec('habit_order_total', 'h', ['k'] as const)
    expect(() => (c.incBy as unknown as (l: object, v: number) => void)({ k: 'a' }, 1)).toThrow('labels go last: call incBy(value, labels)')
    expect(() => g.get({ k: 'a' })).not.toThrow()
    expect(g.get({ k: 'a' })).toBe(0)
  })

  it('buckets given where the options object belongs throw InvalidBucketsError naming the call', () => {
    const asOptions = [0.1, 1] as unknown as { buckets: number[] }
    expect(() => rt.metrics.createHistogram('habit_buckets', 'h', asOptions)).toThrow(InvalidBucketsError)
    expect(() => rt.metrics.createHistogram('habit_buckets', 'h', asOptions)).toThrow('createHistogram(..., { buckets: [0.1, 1] })')
    expect(() => rt.metrics.createHistogramVec('habit_buckets_v', 'h', ['k'], asOptions)).toThrow(InvalidBucketsError)
    expect(() => rt.metrics.createHistogram('habit_buckets', 'h', 'x' as unknown as { buckets: number[] })).toThrow(InvalidBucketsError)
    // Nothing was created: the name is still free.
    expect(rt.metrics.createHistogram('habit_buckets', 'h', { buckets: [0.1, 1] }).buckets).toEqual([0.1, 1])
  })

  it('label names given where const-label pairs belong throw InvalidLabelError', () => {
    const names = ['method'] as unknown as [string, string][]
    expect(() => rt.metrics.createCounter('habit_pairs_total', 'h', names)).toThrow(InvalidLabelError)
    expect(() => rt.metrics.createCounter('habit_pairs_total', 'h', names)).toThrow('[key, value]')
  })
})
