import { argError, numberOption, optionsArg, show, stringArg, stringsArg } from '../binding/args'
import { call, InvalidBucketsError, InvalidLabelError } from '../binding/errors'
import {
  type Counter,
  CounterVec,
  type FamilyHandle,
  Gauge,
  GaugeVec,
  type Histogram,
  HistogramVec,
  type IntCounter,
  IntCounterVec,
  IntGauge,
  IntGaugeVec,
  scalar,
  scalarCounter,
  scalarHistogram,
  scalarIntCounter,
} from '.'
import {
  ExpiringCounterVec,
  ExpiringGaugeVec,
  ExpiringHistogramVec,
  ExpiringIntCounterVec,
  ExpiringIntGaugeVec,
} from './expiring'
import type { NativeRuntime } from '../binding/native'
import type { SlabStore } from '../series/slab-store'

/** Const labels as an object, or as `[key, value]` pairs like Dynamo's Python API. */
export type ConstLabels = Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>

/** Options of the `create*Vec` constructors. */
export interface VecOptions {
  /**
   * Series this metric may hold before new label sets fold into its one overflow series (label
   * values `__overflow__`); an integer from 1 to 4294967295. Default: the runtime's
   * `maxSeriesPerFamily` (10000). See README "Limits".
   */
  maxSeries?: number
  /**
   * Idle-series expiry (default: off): a series not written for this many seconds leaves the
   * output and its slots are reused; written again, it starts from 0 (a counter reset to
   * Prometheus). From 0.01 to 2592000 (30 days). See the README's "Idle series expiry".
   */
  ttlSeconds?: number
}

export interface HistogramOptions {
  /** Bucket upper bounds, strictly increasing and finite (a trailing `+Inf` is implicit). Default: Prometheus's `[0.005 ... 10]`. */
  buckets?: readonly number[]
  constLabels?: ConstLabels
}

/** Options of `createHistogramVec`. */
export interface HistogramVecOptions extends HistogramOptions, VecOptions {}

/**
 * `maxSeries` and `ttlSeconds` of a Vec's options, checked as JS values (Rust checks their
 * ranges); no options (undefined or null) is none of them.
 */
function vecLimits(method: string, name: unknown, given: unknown): VecOptions {
  if (given === null) return {}
  const where = `${method} ${typeof name === 'string' ? `'${name}'` : show(name)}`
  const options = optionsArg<VecOptions>(given, where)
  return {
    maxSeries: numberOption(options.maxSeries, where, 'options.maxSeries'),
    ttlSeconds: numberOption(options.ttlSeconds, where, 'options.ttlSeconds'),
  }
}

type Kind = 'counter' | 'intcounter' | 'gauge' | 'intgauge' | 'histogram'

/** A const label value: a string (well-formed) or a number, as a variable label value may be. */
function constValue(v: unknown, where: string, arg: string): string {
  if (typeof v === 'number') return String(v)
  return stringArg(v, 'ERR_DYNAMO_INVALID_LABEL', where, arg)
}

/**
 * @internal Const labels as `[key, value]` string pairs, the form the binding takes; `where` and
 * `arg` name the call and argument in the error of a bad one.
 */
export function pairs(c: unknown, where = 'constLabels', arg = 'constLabels'): string[][] {
  if (c === undefined || c === null) return []
  if (typeof c !== 'object') throw argError('ERR_DYNAMO_INVALID_LABEL', where, arg, c, 'an object of label values or an array of [key, value] pairs')
  if (!Array.isArray(c)) {
    return Object.entries(c).map(([k, v]) => [stringArg(k, 'ERR_DYNAMO_INVALID_LABEL', where, `${arg} key`), constValue(v, where, `${arg}.${k}`)])
  }
  return (c as readonly unknown[]).map((pair, i) => {
    // `['method']` would otherwise destructure its string into the pair ('m', 'e').
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidLabelError(
        'ERR_DYNAMO_INVALID_LABEL',
        `${where}: const labels as pairs must be [key, value] arrays; got ${show(pair)} at ${arg}[${i}] (variable label names go to a create*Vec constructor)`,
      )
    }
    return [stringArg(pair[0], 'ERR_DYNAMO_INVALID_LABEL', where, `${arg}[${i}][0]`), constValue(pair[1], where, `${arg}[${i}][1]`)]
  })
}

/** Histogram buckets: an array of numbers (the core checks they are finite and increasing). */
function bucketsArg(v: unknown, where: string): number[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v)) throw argError('ERR_DYNAMO_INVALID_BUCKETS', where, 'buckets', v, 'an array of numbers')
  return v.map((b: unknown, i) => {
    if (typeof b !== 'number') throw argError('ERR_DYNAMO_INVALID_BUCKETS', where, `buckets[${i}]`, b, 'a number')
    return b
  })
}

/**
 * The options argument of the histogram constructors: an array there is prom-client's and
 * Dynamo's buckets habit, which would otherwise be silently ignored.
 */
function histogramOptions(method: string, options: unknown): { buckets?: number[]; constLabels?: unknown; limits: VecOptions } {
  if (options === undefined || options === null) return { limits: {} }
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidBucketsError(
      'ERR_DYNAMO_INVALID_BUCKETS',
      Array.isArray(options)
        ? `${method}: buckets go in the options object: ${method}(..., { buckets: [${options.map(show).join(', ')}] })`
        : `${method}: options must be an object { buckets?, constLabels?, maxSeries?, ttlSeconds? }; got ${show(options)}`,
    )
  }
  const o = options as HistogramVecOptions
  return { buckets: bucketsArg(o.buckets, method), constLabels: o.constLabels, limits: o }
}

/**
 * The metric constructors of one hierarchy level (`runtime.metrics`, `endpoint.metrics`, ...).
 * Names get Dynamo's `dynamo_component_` prefix and the level's `dynamo_*` labels.
 */
export class Metrics {
  /** @internal */
  constructor(
    private readonly rt: NativeRuntime,
    private readonly store: SlabStore,
    private readonly node: number,
  ) {}

  /** Checks the arguments of constructor `method` as JS values, then lets the core create the family. */
  private family(
    method: string,
    kind: Kind,
    vec: boolean,
    name: unknown,
    help: unknown,
    labelNames: unknown,
    constLabels: unknown,
    buckets?: number[],
    limits: VecOptions = {},
  ): FamilyHandle {
    const options = {
      kind,
      vec,
      name: stringArg(name, 'ERR_DYNAMO_INVALID_NAME', method, 'name', true),
      help: stringArg(help, 'ERR_DYNAMO_INVALID_HELP', method, 'help'),
      labelNames: vec ? stringsArg(labelNames, 'ERR_DYNAMO_INVALID_LABEL', method, 'labelNames') : [],
      constLabels: pairs(constLabels, method),
      buckets,
      maxSeries: limits.maxSeries,
      ttlSeconds: limits.ttlSeconds,
    }
    const info = call(() => this.rt.createFamily(this.node, options))
    return { rt: this.rt, store: this.store, info, node: this.node, ttlSeconds: limits.ttlSeconds }
  }

  createCounter(name: string, help: string, constLabels?: ConstLabels): Counter {
    return scalarCounter(this.family('createCounter', 'counter', false, name, help, [], constLabels))
  }

  createIntCounter(name: string, help: string, constLabels?: ConstLabels): IntCounter {
    return scalarIntCounter(this.family('createIntCounter', 'intcounter', false, name, help, [], constLabels))
  }

  createGauge(name: string, help: string, constLabels?: ConstLabels): Gauge {
    return scalar(this.family('createGauge', 'gauge', false, name, help, [], constLabels), (s, o, d) => new Gauge(s, o, d))
  }

  createIntGauge(name: string, help: string, constLabels?: ConstLabels): IntGauge {
    return scalar(this.family('createIntGauge', 'intgauge', false, name, help, [], constLabels), (s, o, d) => new IntGauge(s, o, d))
  }

  createHistogram(name: string, help: string, options?: HistogramOptions): Histogram {
    const o = histogramOptions('createHistogram', options)
    return scalarHistogram(this.family('createHistogram', 'histogram', false, name, help, [], o.constLabels, o.buckets))
  }

  createCounterVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): CounterVec<L> {
    return this.vec('createCounterVec', 'counter', CounterVec, ExpiringCounterVec, name, help, labelNames, constLabels, options)
  }

  createIntCounterVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): IntCounterVec<L> {
    return this.vec('createIntCounterVec', 'intcounter', IntCounterVec, ExpiringIntCounterVec, name, help, labelNames, constLabels, options)
  }

  createGaugeVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): GaugeVec<L> {
    return this.vec('createGaugeVec', 'gauge', GaugeVec, ExpiringGaugeVec, name, help, labelNames, constLabels, options)
  }

  createIntGaugeVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): IntGaugeVec<L> {
    return this.vec('createIntGaugeVec', 'intgauge', IntGaugeVec, ExpiringIntGaugeVec, name, help, labelNames, constLabels, options)
  }

  createHistogramVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    options?: HistogramVecOptions,
  ): HistogramVec<L> {
    const o = histogramOptions('createHistogramVec', options)
    return this.vec('createHistogramVec', 'histogram', HistogramVec, ExpiringHistogramVec, name, help, labelNames, o.constLabels, o.limits, o.buckets)
  }

  /** A Vec of `kind`: the expiring class when the options ask for `ttlSeconds`, else the plain one. */
  private vec<V, L extends string>(
    method: string,
    kind: Kind,
    Plain: new (h: FamilyHandle, labelNames: readonly L[]) => V,
    Expiring: new (h: FamilyHandle, labelNames: readonly L[]) => V,
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels: unknown,
    options: unknown,
    buckets?: number[],
  ): V {
    const limits = vecLimits(method, name, options)
    const h = this.family(method, kind, true, name, help, labelNames, constLabels, buckets, limits)
    return limits.ttlSeconds === undefined ? new Plain(h, labelNames) : new Expiring(h, labelNames)
  }
}
