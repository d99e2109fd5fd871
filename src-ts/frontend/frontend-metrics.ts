import { argError, functionArg, optionsArg, show, stringOption, wellFormed } from '../binding/args'
import { call, ConfigError } from '../binding/errors'
import { INTEGER, invalidValue } from '../metrics/values'
import { native } from '../binding/native'
import { acquireClock, CLOCK_TICK_US, releaseClock } from './clock'
import type { Shared } from '../plane/state'
import { createFamilies, type FrontendFamilies, type FrontendHistogramKey, MODEL_GAUGES, type ModelConfigKey } from './families'
import {
  type FrontendEndpoint,
  type FrontendRequestType,
  labelError,
  type ModelSeries,
  REQUEST_TYPES,
  RequestTracker,
  type TrackerSink,
} from './tracker'

/** Log-spaced buckets as Dynamo's `generate_log_buckets(min, max, count)` makes them. */
export interface LogBucketsOptions {
  min: number
  max: number
  count: number
}

export interface FrontendMetricsOptions {
  /**
   * Name prefix; wins over `DYN_METRICS_PREFIX` (default `dynamo_frontend`). Sanitized by
   * Dynamo's rule; one that sanitizes to nothing falls back to `dynamo_frontend`.
   */
  prefix?: string
  /** Bucket settings per histogram; win over `DYN_METRICS_<X>_{MIN,MAX,COUNT}`. */
  buckets?: Partial<Record<FrontendHistogramKey, LogBucketsOptions>>
  /**
   * How trackers read the time. `coarse` (default): a clock a native thread advances every
   * `clockTickUs`, read as a typed-array load (token() ~15 ns); `precise`: `performance.now()` per call
   * (~100 ns of CPU on a VM), exact to the microsecond even when the machine is overloaded.
   */
  clock?: 'coarse' | 'precise'
  /**
   * Tick of the coarse clock in microseconds (integer 50..100000, default 500): the resolution
   * of the times it measures, against its thread's wake-ups (~2% of a core at 500 here).
   */
  clockTickUs?: number
}

export interface StartRequestOptions {
  model: string
  /** Default `chat_completions`. */
  endpoint?: FrontendEndpoint
  /** Default `stream`. */
  requestType?: FrontendRequestType
}

/** Dynamo's model configuration gauges (`<prefix>_model_*{model}`). */
export type ModelConfig = Partial<Record<ModelConfigKey, number>>

/**
 * Dynamo's frontend metrics (`<prefix>_requests_total`, TTFT, ITL, ...): families at the
 * runtime root, with no hierarchy labels, rendered by the runtime's `/metrics` and
 * `prometheusMetricsFmt()`. Requests are recorded through {@link RequestTracker}s.
 */
export class FrontendMetrics implements TrackerSink {
  /** The resolved prefix, e.g. `dynamo_frontend`. */
  readonly prefix: string
  /** The families themselves, for reading values or recording outside a tracker. */
  readonly families: FrontendFamilies
  private readonly models = new Map<string, ModelSeries>()

  /** @internal */
  constructor(
    shared: Shared,
    prefix: string,
    buckets: Record<FrontendHistogramKey, readonly number[]>,
    private readonly clk: Float64Array | null,
  ) {
    this.prefix = prefix
    this.families = createFamilies(shared.rt, shared.store, prefix, buckets)
  }

  /** Starts tracking one request: inflight and queued go up now. */
  startRequest(options: StartRequestOptions): RequestTracker {
    if (options === null || typeof options !== 'object') throw labelError('startRequest options', options, 'must be an object')
    const endpoint = options.endpoint ?? 'chat_completions'
    const requestType = options.requestType ?? 'stream'
    if (typeof endpoint !== 'string' || endpoint === '' || !wellFormed(endpoint)) {
      throw labelError('endpoint', endpoint, 'must be a non-empty string of well-formed Unicode')
    }
    if (!REQUEST_TYPES.includes(requestType)) throw labelError('requestType', requestType, "must be 'stream' or 'unary'")
    return new RequestTracker(this, this.series(options.model), this.clk, options.model, endpoint, requestType)
  }

  /**
   * Runs `fn` with a tracker and ends it on every path: a return that left it open finishes it
   * as success, a throw or rejection as `error`/`internal` (then rethrows).
   */
  async track<T>(options: StartRequestOptions, fn: (tracker: RequestTracker) => T | Promise<T>): Promise<T> {
    functionArg(fn, 'track', 'fn')
    const t = this.startRequest(options)
    try {
      const r = await fn(t)
      t.finish()
      return r
    } catch (e) {
      t.finish({ status: 'error', errorType: 'internal' })
      throw e
    }
  }

  /** Sets the model configuration gauges given (integers). */
  setModelConfig(model: string, config: ModelConfig): void {
    checkModel(model)
    const entries = Object.entries(optionsArg<ModelConfig>(config, 'setModelConfig', 'config'))
    // Every key and value is checked before the first gauge is set: a refused call sets none.
    for (const [k, v] of entries) {
      // Own keys only: `in` would take `valueOf` or `constructor` for a model config key.
      if (!Object.prototype.hasOwnProperty.call(MODEL_GAUGES, k)) throw new ConfigError('ERR_DYNAMO_CONFIG', `unknown model config '${k}' (one of ${Object.keys(MODEL_GAUGES).join(', ')})`)
      if (v !== undefined && !Number.isInteger(v)) throw invalidValue(this.families.modelConfig[k as ModelConfigKey].name, 'setModelConfig', v, INTEGER)
    }
    for (const [k, v] of entries) if (v !== undefined) this.families.modelConfig[k as ModelConfigKey].set(v, { model })
  }


  /** @internal */
  countRequest(model: string, endpoint: string, requestType: string, status: string, errorType: string): void {
    this.families.requestsTotal.inc({ model, endpoint, request_type: requestType, status, error_type: errorType })
  }

  /** @internal */
  countDisconnect(): void {
    this.families.disconnectedClients.inc()
  }

  private series(model: string): ModelSeries {
    let m = this.models.get(model)
    if (m === undefined) {
      checkModel(model)
      const f = this.families
      const l = { model }
      m = {
        inflight: f.inflightRequests.labels(l),
        queued: f.queuedRequests.labels(l),
        duration: f.requestDuration.labels(l),
        ttft: f.timeToFirstToken.labels(l),
        itl: f.interTokenLatency.labels(l),
        isl: f.inputSequenceTokens.labels(l),
        osl: f.outputSequenceTokens.labels(l),
        cached: f.cachedTokens.labels(l),
        outputTokens: f.outputTokensTotal.labels(l),
      }
      this.models.set(model, m)
    }
    return m
  }
}

function checkModel(model: unknown): asserts model is string {
  if (typeof model !== 'string' || model === '' || !wellFormed(model)) throw labelError('model', model, 'must be a non-empty string of well-formed Unicode')
}

interface RuntimeSets {
  byPrefix: Map<string, { key: string; fm: FrontendMetrics }>
  /** The coarse clocks this runtime holds, by tick (usually one). */
  clocks: Map<number, Float64Array>
}

const sets = new WeakMap<Shared, RuntimeSets>()

/** @internal The runtime shuts down: its hold on the clock thread goes. */
export function releaseFrontendMetrics(shared: Shared): void {
  const r = sets.get(shared)
  if (r === undefined) return
  for (const tick of r.clocks.keys()) releaseClock(tick)
  r.clocks.clear()
}

/** @internal One set per runtime and prefix: asking again returns it; other bucket options conflict. */
export function frontendMetricsOf(shared: Shared, given?: FrontendMetricsOptions): FrontendMetrics {
  const options = optionsArg<FrontendMetricsOptions>(given, 'frontendMetrics')
  stringOption(options.prefix, 'frontendMetrics', 'options.prefix')
  const overrides = Object.entries(optionsArg(options.buckets, 'frontendMetrics', 'options.buckets')).map(([key, b]) => {
    const o = optionsArg<LogBucketsOptions>(b, 'frontendMetrics', `options.buckets.${key}`)
    const num = (v: unknown, what: string): number => {
      if (typeof v !== 'number') throw argError('ERR_DYNAMO_CONFIG', 'frontendMetrics', `options.buckets.${key}.${what}`, v, 'a number')
      return v
    }
    const count = num(o?.count, 'count')
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) {
      throw new ConfigError('ERR_DYNAMO_CONFIG', `frontend histogram '${key}': count=${count} must be a whole number`)
    }
    return { key, min: num(o?.min, 'min'), max: num(o?.max, 'max'), count }
  })
  const config = call(() => native.frontendConfig(options.prefix, overrides))
  const buckets = Object.fromEntries(config.histograms.map((h) => [h.key, h.buckets])) as Record<FrontendHistogramKey, number[]>
  const clock = options.clock ?? 'coarse'
  if (clock !== 'coarse' && clock !== 'precise') {
    throw new ConfigError('ERR_DYNAMO_CONFIG', `frontendMetrics clock must be 'coarse' or 'precise', got ${show(clock)}`)
  }
  const tick = options.clockTickUs ?? CLOCK_TICK_US
  if (typeof tick !== 'number' || !Number.isInteger(tick) || tick < 50 || tick > 100_000) {
    throw new ConfigError('ERR_DYNAMO_CONFIG', `frontendMetrics clockTickUs must be an integer from 50 to 100000, got ${show(tick)}`)
  }
  const key = JSON.stringify([config.histograms, clock, clock === 'coarse' ? tick : 0])
  let r = sets.get(shared)
  if (r === undefined) {
    r = { byPrefix: new Map(), clocks: new Map() }
    sets.set(shared, r)
  }
  const byPrefix = r.byPrefix
  const existing = byPrefix.get(config.prefix)
  if (existing !== undefined) {
    if (existing.key !== key) {
      throw new ConfigError(
        'ERR_DYNAMO_CONFIG',
        `frontend metrics with prefix '${config.prefix}' already exist with other buckets or clock settings; ask with the same options or another prefix`,
      )
    }
    return existing.fm
  }
  let clk: Float64Array | null = null
  let acquired = false
  if (clock === 'coarse') {
    clk = r.clocks.get(tick) ?? null
    if (clk === null) {
      clk = acquireClock(tick)
      acquired = true
    }
  }
  let fm: FrontendMetrics
  try {
    fm = new FrontendMetrics(shared, config.prefix, buckets, clk)
  } catch (e) {
    // For example a runtime already shut down: it would never release this hold.
    if (acquired) releaseClock(tick)
    throw e
  }
  if (acquired && clk !== null) r.clocks.set(tick, clk)
  byPrefix.set(config.prefix, { key, fm })
  return fm
}
