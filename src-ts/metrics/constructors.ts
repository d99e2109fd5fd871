import { call, ConfigError, InvalidBucketsError, InvalidLabelError } from '../binding/errors'
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
}

export interface HistogramOptions extends VecOptions {
  /** Bucket upper bounds, strictly increasing and finite (a trailing `+Inf` is implicit). Default: Prometheus's `[0.005 ... 10]`. */
  buckets?: readonly number[]
  constLabels?: ConstLabels
}

/** `maxSeries` as the binding takes it; a non-number is refused here (Rust checks the range). */
function maxSeriesOf(method: string, name: string, options: VecOptions | undefined): number | undefined {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object') {
    throw new ConfigError('ERR_DYNAMO_CONFIG', `${method} '${name}': options must be an object { maxSeries? }; got ${typeof options}`)
  }
  const v: unknown = options.maxSeries
  if (v === undefined || typeof v === 'number') return v
  throw new ConfigError(
    'ERR_DYNAMO_CONFIG',
    `${method} '${name}': invalid option maxSeries value ${typeof v === 'string' ? JSON.stringify(v) : typeof v}: expected an integer from 1 to 4294967295`,
  )
}

type Kind = 'counter' | 'intcounter' | 'gauge' | 'intgauge' | 'histogram'

/** @internal Const labels as `[key, value]` string pairs, the form the binding takes. */
export function pairs(c: ConstLabels | undefined): string[][] {
  if (c === undefined || c === null) return []
  if (!Array.isArray(c)) return Object.entries(c).map(([k, v]) => [String(k), String(v)])
  return (c as readonly unknown[]).map((pair) => {
    // `['method']` would otherwise destructure its string into the pair ('m', 'e').
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidLabelError(
        'ERR_DYNAMO_INVALID_LABEL',
        `const labels as pairs must be [key, value] arrays; got ${JSON.stringify(pair) ?? typeof pair} (variable label names go to a create*Vec constructor)`,
      )
    }
    return [String(pair[0]), String(pair[1])]
  })
}

/**
 * The options argument of the histogram constructors: an array there is prom-client's and
 * Dynamo's buckets habit, which would otherwise be silently ignored.
 */
function histogramOptions(method: string, options: unknown): HistogramOptions | undefined {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidBucketsError(
      'ERR_DYNAMO_INVALID_BUCKETS',
      Array.isArray(options)
        ? `${method}: buckets go in the options object: ${method}(..., { buckets: [${options.join(', ')}] })`
        : `${method}: options must be an object { buckets?, constLabels?, maxSeries? }; got ${typeof options}`,
    )
  }
  return options as HistogramOptions
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

  private family(
    kind: Kind,
    vec: boolean,
    name: string,
    help: string,
    labelNames: readonly string[],
    constLabels: ConstLabels | undefined,
    buckets?: readonly number[],
    maxSeries?: number,
  ): FamilyHandle {
    const info = call(() =>
      this.rt.createFamily(this.node, {
        kind,
        vec,
        name,
        help,
        labelNames: [...labelNames],
        constLabels: pairs(constLabels),
        buckets: buckets === undefined ? undefined : [...buckets],
        maxSeries,
      }),
    )
    return { rt: this.rt, store: this.store, info, node: this.node }
  }

  /** The family of a non-histogram Vec, with its `maxSeries` option. */
  private vecFamily(
    kind: Kind,
    method: string,
    name: string,
    help: string,
    labelNames: readonly string[],
    constLabels: ConstLabels | undefined,
    options: VecOptions | undefined,
  ): FamilyHandle {
    return this.family(kind, true, name, help, labelNames, constLabels, undefined, maxSeriesOf(method, name, options))
  }

  createCounter(name: string, help: string, constLabels?: ConstLabels): Counter {
    return scalarCounter(this.family('counter', false, name, help, [], constLabels))
  }

  createIntCounter(name: string, help: string, constLabels?: ConstLabels): IntCounter {
    return scalarIntCounter(this.family('intcounter', false, name, help, [], constLabels))
  }

  createGauge(name: string, help: string, constLabels?: ConstLabels): Gauge {
    return scalar(this.family('gauge', false, name, help, [], constLabels), (s, o, d) => new Gauge(s, o, d))
  }

  createIntGauge(name: string, help: string, constLabels?: ConstLabels): IntGauge {
    return scalar(this.family('intgauge', false, name, help, [], constLabels), (s, o, d) => new IntGauge(s, o, d))
  }

  createHistogram(name: string, help: string, options?: HistogramOptions): Histogram {
    const o = histogramOptions('createHistogram', options)
    return scalarHistogram(this.family('histogram', false, name, help, [], o?.constLabels, o?.buckets))
  }

  createCounterVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): CounterVec<L> {
    return new CounterVec(this.vecFamily('counter', 'createCounterVec', name, help, labelNames, constLabels, options), labelNames)
  }

  createIntCounterVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): IntCounterVec<L> {
    return new IntCounterVec(this.vecFamily('intcounter', 'createIntCounterVec', name, help, labelNames, constLabels, options), labelNames)
  }

  createGaugeVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): GaugeVec<L> {
    return new GaugeVec(this.vecFamily('gauge', 'createGaugeVec', name, help, labelNames, constLabels, options), labelNames)
  }

  createIntGaugeVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): IntGaugeVec<L> {
    return new IntGaugeVec(this.vecFamily('intgauge', 'createIntGaugeVec', name, help, labelNames, constLabels, options), labelNames)
  }

  createHistogramVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    options?: HistogramOptions,
  ): HistogramVec<L> {
    const o = histogramOptions('createHistogramVec', options)
    const h = this.family('histogram', true, name, help, labelNames, o?.constLabels, o?.buckets, maxSeriesOf('createHistogramVec', name, o))
    return new HistogramVec(h, labelNames)
  }
}
