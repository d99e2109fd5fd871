import { callAsync, EndpointError, InvalidValueError } from '../binding/errors'
import { optionsArg, stringOption } from '../binding/args'
import { type ConstLabels, pairs } from '../metrics/constructors'
import type { Counter, Gauge } from '../metrics'
import { native } from '../binding/native'
import type { Component, Namespace } from '../runtime/levels'
import { componentParts, namespaceParts, type NativeKvPublisher } from './internals'
import { FIELD_COUNT, INDEX, metricsJson, readMetrics } from './schema'
import type { ForwardPassMetrics, KvHitRateEvent } from './types'
import { randomBytes } from 'node:crypto'

/** Dynamo's trailing debounce of `LoadEvent`s. */
const DEBOUNCE_MS = 1

/** The component-level gauges (Dynamo's names and help texts). */
const GAUGES = [
  ['kvstats_active_blocks', 'Number of active KV cache blocks currently in use', INDEX.kvActiveBlocks],
  ['kvstats_total_blocks', 'Total number of KV cache blocks available', INDEX.kvTotalBlocks],
  ['kvstats_gpu_cache_usage_percent', 'GPU cache usage as a percentage (0.0-1.0)', INDEX.gpuCacheUsagePerc],
  ['kvstats_gpu_prefix_cache_hit_rate', 'GPU prefix cache hit rate as a percentage (0.0-1.0)', INDEX.gpuPrefixCacheHitRate],
] as const

/**
 * LoadEvents that never went: replaced unsent by a newer one (only the newest is kept while NATS
 * is unreachable), or still unsent when the publisher stopped.
 */
const DROPPED = [
  'kvstats_load_events_dropped_total',
  'LoadEvents not sent: replaced by a newer one while NATS was unreachable, or unsent at stop',
] as const

interface Families {
  gauges: Gauge[]
  dropped: Counter
}

/**
 * The families of a component (and const labels): created once, shared by the publishers of this
 * process on it (a component-level gauge holds the last value written, as in Dynamo).
 */
const shared = new WeakMap<Component, Map<string, Families>>()
function familiesOf(component: Component, labels: ConstLabels | undefined): Families {
  let byLabels = shared.get(component)
  if (byLabels === undefined) shared.set(component, (byLabels = new Map()))
  const given = pairs(labels, 'createEndpoint', 'metricsLabels') as [string, string][]
  const key = JSON.stringify(given)
  let f = byLabels.get(key)
  if (f === undefined) {
    f = {
      gauges: GAUGES.map(([n, help]) => component.metrics.createGauge(n, help, given)),
      dropped: component.metrics.createCounter(DROPPED[0], DROPPED[1], given),
    }
    byLabels.set(key, f)
  }
  return f
}

export interface CreateEndpointOptions {
  /** The endpoint whose stats carry the metrics (default `load_metrics`, what the aggregator polls). */
  endpoint?: string
}

/** A worker id: hex of a random positive i64 (Dynamo's aggregator reads it from the subject). */
function newInstance(): string {
  const b = randomBytes(8)
  b[0] &= 0x7f
  return b.toString('hex')
}

/**
 * Publishes a worker's `ForwardPassMetrics` (Dynamo's Method 1): the stats of its `load_metrics`
 * endpoint report the latest, four component gauges mirror the KV stats, and a `LoadEvent` goes
 * to `namespace.<ns>.kv_metrics` 1 ms after the last change of `kvActiveBlocks` or
 * `numRequestsWaiting` (a trailing debounce; changes of other fields send no event). While NATS
 * is unreachable only the newest event is kept; those it replaced are counted in
 * `dynamo_component_kvstats_load_events_dropped_total`.
 */
export class WorkerMetricsPublisher {
  private native: NativeKvPublisher | null = null
  private gauges: Gauge[] = []
  private dropped: Counter | undefined
  private readonly values = new Float64Array(FIELD_COUNT)
  private list: readonly number[] | undefined
  private has = false
  private lastActive = NaN
  private lastWaiting = NaN
  private eventDue = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private pending = false
  /** Publishes so far, and the count when the timer was (re)armed: see `fire`. */
  private seq = 0
  /** Values changed since the last send. */
  private dirty = false
  private armedSeq = 0
  private stopped = false
  /**
   * The trailing debounce at the timers' 1 ms granularity: when the timer fires and publishes
   * came since it was armed, it re-arms; the send goes 1 ms (up to 2 ms) after the last one.
   * So a publish costs a counter bump, not a timer operation (refresh() is ~180 ns).
   */
  private readonly fire = (): void => {
    if (this.seq !== this.armedSeq && !this.stopped) {
      this.armedSeq = this.seq
      this.timer!.refresh()
      return
    }
    this.pending = false
    this.flush()
  }

  /**
   * Serves the `load_metrics` endpoint of `component` over NATS and registers the
   * `dynamo_component_kvstats_*` gauges on it (with `metricsLabels` as const labels).
   */
  async createEndpoint(component: Component, metricsLabels?: ConstLabels, options?: CreateEndpointOptions): Promise<void> {
    if (this.native !== null) throw new EndpointError('ERR_DYNAMO_ENDPOINT', 'this WorkerMetricsPublisher already serves an endpoint')
    const { rt, namespace, component: name } = componentParts(component, 'createEndpoint')
    const o = optionsArg<CreateEndpointOptions>(options, 'createEndpoint')
    const endpoint = stringOption(o.endpoint, 'createEndpoint', 'options.endpoint') ?? native.kvLoadMetricsEndpoint()
    const { gauges, dropped } = familiesOf(component, metricsLabels)
    this.native = await callAsync(() => rt.kvPublisherStart(namespace, name, endpoint, newInstance()))
    this.gauges = gauges
    this.dropped = dropped
    if (this.has) {
      for (let i = 0; i < GAUGES.length; i++) gauges[i].set(this.values[GAUGES[i][2]])
      this.dirty = true
      this.schedule()
    }
  }

  /** This worker's id (an i64 in decimal), or null before `createEndpoint`. */
  get workerId(): string | null {
    return this.native?.workerId ?? null
  }

  /**
   * Records `metrics`: synchronous and cheap (validation, four gauge writes, a compare and a
   * timer refresh); the send happens 1 ms after the last call. Throws InvalidValueError naming
   * the first bad field.
   */
  publish(metrics: ForwardPassMetrics): void {
    const v = this.values
    this.list = readMetrics(metrics, v)
    this.has = true
    const g = this.gauges
    if (g.length === 4) {
      g[0].set(v[INDEX.kvActiveBlocks])
      g[1].set(v[INDEX.kvTotalBlocks])
      g[2].set(v[INDEX.gpuCacheUsagePerc])
      g[3].set(v[INDEX.gpuPrefixCacheHitRate])
    }
    const active = v[INDEX.kvActiveBlocks]
    const waiting = v[INDEX.numRequestsWaiting]
    if (active !== this.lastActive || waiting !== this.lastWaiting) {
      this.lastActive = active
      this.lastWaiting = waiting
      this.eventDue = true
    }
    this.dirty = true
    if (this.native !== null) this.schedule()
  }

  private schedule(): void {
    this.seq++
    if (this.pending || this.stopped) return
    this.pending = true
    this.armedSeq = this.seq
    // One Timeout for the publisher's life: refresh() re-arms it (also after it fired).
    if (this.timer === undefined) this.timer = setTimeout(this.fire, DEBOUNCE_MS)
    else this.timer.refresh()
  }

  private flush(): void {
    if (this.native === null || this.stopped || !this.dirty) return
    this.dirty = false
    const send = this.eventDue
    this.eventDue = false
    try {
      // The one N-API crossing per debounced change; true when its event replaced one unsent.
      if (this.native.flush(metricsJson(this.values, this.list), send)) this.dropped!.inc()
    } catch (e) {
      // Validated already; only a stop racing the timer gets here.
      if (!this.stopped) process.emitWarning(`WorkerMetricsPublisher: ${(e as Error).message}`)
    }
  }

  /** Sends a pending change, then stops serving the endpoint. */
  async stop(): Promise<void> {
    if (this.stopped) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.pending = false
    this.flush()
    this.stopped = true
    const n = this.native
    if (n !== null && (await n.stop())) this.dropped!.inc()
  }
}

/** Sends a `KvHitRateEvent` to `namespace.<ns>.kv-hit-rate` (validated by the core: a typed error names the field). */
export async function publishKvHitRate(namespace: Namespace, event: KvHitRateEvent): Promise<void> {
  const { rt, namespace: ns } = namespaceParts(namespace, 'publishKvHitRate')
  let json: string
  try {
    json = JSON.stringify(event) ?? 'null'
  } catch (e) {
    // A bigint, a cycle: the core cannot be shown the value, so say why here.
    throw new InvalidValueError('ERR_DYNAMO_INVALID_VALUE', `KvHitRateEvent cannot be serialized: ${(e as Error).message}`)
  }
  await callAsync(() => rt.kvPublishHitRate(ns, json))
}
