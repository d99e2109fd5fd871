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

export interface HistogramOptions {
  /** Bucket upper bounds, strictly increasing and finite (a trailing `+Inf` is implicit). Default: Prometheus's `[0.005 ... 10]`. */
  buckets?: readonly number[]
  constLabels?: ConstLabels
}

/** Options of the `create*Vec` constructors. */
export interface VecOptions {
  /**
   * Idle-series expiry (default: off): a series not written for this many seconds leaves the
   * output and its slots are reused; written again, it starts from 0 (a counter reset to
   * Prometheus). From 0.01 to 2592000 (30 days). See the README's "Idle series expiry".
   */
  ttlSeconds?: number
}

/** Options of `createHistogramVec`. */
export interface HistogramVecOptions extends HistogramOptions, VecOptions {}

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
        : `${method}: options must be an object { buckets?, constLabels? }; got ${typeof options}`,
    )
  }
  return options as HistogramOptions
}

/**
 * `ttlSeconds` of a Vec constructor's options, checked for its type here (Rust checks the range,
 * in `series::expiry`); undefined when expiry is off.
 */
function ttlOf(method: string, options: unknown): number | undefined {
  if (options === undefined || options === null) return undefined
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('ERR_DYNAMO_CONFIG', `${method}: options must be an object { ttlSeconds? }; got ${Array.isArray(options) ? 'an array' : typeof options}`)
  }
  const ttl: unknown = (options as VecOptions).ttlSeconds
  if (ttl === undefined) return undefined
  if (typeof ttl !== 'number') {
    throw new ConfigError('ERR_DYNAMO_CONFIG', `${method}: ttlSeconds must be a number of seconds; got ${ttl === null ? 'null' : typeof ttl}`)
  }
  return ttl
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
    ttlSeconds?: number,
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
        ttlSeconds,
      }),
    )
    return { rt: this.rt, store: this.store, info, ttlSeconds }
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
    const ttl = ttlOf('createCounterVec', options)
    const h = this.family('counter', true, name, help, labelNames, constLabels, undefined, ttl)
    return ttl === undefined ? new CounterVec(h, labelNames) : new ExpiringCounterVec(h, labelNames)
  }

  createIntCounterVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): IntCounterVec<L> {
    const ttl = ttlOf('createIntCounterVec', options)
    const h = this.family('intcounter', true, name, help, labelNames, constLabels, undefined, ttl)
    return ttl === undefined ? new IntCounterVec(h, labelNames) : new ExpiringIntCounterVec(h, labelNames)
  }

  createGaugeVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): GaugeVec<L> {
    const ttl = ttlOf('createGaugeVec', options)
    const h = this.family('gauge', true, name, help, labelNames, constLabels, undefined, ttl)
    return ttl === undefined ? new GaugeVec(h, labelNames) : new ExpiringGaugeVec(h, labelNames)
  }

  createIntGaugeVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    constLabels?: ConstLabels,
    options?: VecOptions,
  ): IntGaugeVec<L> {
    const ttl = ttlOf('createIntGaugeVec', options)
    const h = this.family('intgauge', true, name, help, labelNames, constLabels, undefined, ttl)
    return ttl === undefined ? new IntGaugeVec(h, labelNames) : new ExpiringIntGaugeVec(h, labelNames)
  }

  createHistogramVec<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    options?: HistogramVecOptions,
  ): HistogramVec<L> {
    const o = histogramOptions('createHistogramVec', options)
    const ttl = ttlOf('createHistogramVec', o)
    const h = this.family('histogram', true, name, help, labelNames, o?.constLabels, o?.buckets, ttl)
    return ttl === undefined ? new HistogramVec(h, labelNames) : new ExpiringHistogramVec(h, labelNames)
  }
}
