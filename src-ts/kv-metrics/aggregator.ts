import { functionOption, numberOption, optionsArg, stringArg, stringOption } from '../binding/args'
import { call, callAsync } from '../binding/errors'
import { native } from '../binding/native'
import type { Component } from '../runtime/levels'
import { componentParts, type NativeKvAggregator } from './internals'
import type { AggregatedMetrics } from './types'

export interface KvMetricsAggregatorOptions {
  /** The endpoint whose stats carry the workers' `ForwardPassMetrics` (default `load_metrics`). */
  endpoint?: string
  /** How often the endpoint's stats are polled (default 100 ms). */
  pollIntervalMs?: number
  /** How long a poll's answers are taken (default 300 ms). */
  pollTimeoutMs?: number
  /**
   * A worker not heard from (poll answer or event) for this long leaves the aggregate (default
   * `max(3 × pollTimeoutMs, 2 × pollIntervalMs + pollTimeoutMs)`: 900 ms with the defaults).
   */
  staleAfterMs?: number
  /** Gets the malformed-input warnings, at most one a second (default: `process.emitWarning`). */
  onWarning?: (message: string) => void
}

/**
 * Aggregates the `ForwardPassMetrics` of an endpoint's workers (Dynamo's `KvMetricsAggregator`):
 * polls the stats of `component`'s endpoint and listens to the namespace's `kv_metrics` events
 * (and `kv-hit-rate` events for the hit-rate counters). Malformed input is ignored and counted.
 */
export class KvMetricsAggregator {
  /** Resolves once the aggregator listens (events sent later are not missed). */
  readonly ready: Promise<void>
  /** The endpoint it watches. */
  readonly endpoint: string
  private readonly native: NativeKvAggregator
  private readonly warnTimer: ReturnType<typeof setInterval>
  private closed = false

  constructor(
    private readonly component: Component,
    given?: KvMetricsAggregatorOptions,
  ) {
    const where = 'KvMetricsAggregator'
    const { rt, namespace, component: name } = componentParts(component, where)
    const options = optionsArg<KvMetricsAggregatorOptions>(given, where)
    for (const k of ['pollIntervalMs', 'pollTimeoutMs', 'staleAfterMs'] as const) numberOption(options[k], where, `options.${k}`)
    functionOption(options.onWarning, where, 'options.onWarning')
    this.endpoint = stringOption(options.endpoint, where, 'options.endpoint') ?? native.kvLoadMetricsEndpoint()
    const n = call(() =>
      rt.kvAggregatorStart(namespace, name, this.endpoint, options.pollIntervalMs, options.pollTimeoutMs, options.staleAfterMs),
    )
    this.native = n
    this.ready = callAsync(() => n.ready())
    this.ready.catch(() => {})
    const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, 'KvMetricsAggregator'))
    this.warnTimer = setInterval(() => {
      const w = n.takeWarning()
      if (w !== null && w !== undefined) warn(w)
    }, 1000)
    this.warnTimer.unref()
  }

  /** The live workers and the mean and population standard deviation of their `kvActiveBlocks`. */
  getMetrics(): AggregatedMetrics {
    return this.native.getMetrics()
  }

  /** Malformed events and stats ignored so far (also `llm_kv_metrics_malformed_total`). */
  get malformedEvents(): number {
    return this.native.malformed
  }

  /** The bound on how long a worker that stopped answering stays in the aggregate. */
  get staleAfterMs(): number {
    return this.native.staleAfterMs
  }

  /** The NATS service polled, and the subject prefix of the watched endpoint (for log lines). */
  get service(): string {
    return this.native.service
  }
  get subjectPrefix(): string {
    return this.native.subjectPrefix
  }

  /**
   * The `llm_*` metrics of Dynamo's `metrics` component in Prometheus text, labelled `component`
   * and `endpoint` (default: this component's and endpoint's names). With `model`, every series
   * also carries `model="<model>"` (an empty string adds no label).
   */
  prometheusMetricsFmt(given?: { component?: string; endpoint?: string; model?: string }): string {
    const where = 'KvMetricsAggregator.prometheusMetricsFmt'
    const labels = optionsArg<{ component?: string; endpoint?: string; model?: string }>(given, where, 'labels', 'ERR_DYNAMO_INVALID_LABEL')
    const component = labels.component === undefined ? this.component.name : stringArg(labels.component, 'ERR_DYNAMO_INVALID_LABEL', where, 'labels.component')
    const endpoint = labels.endpoint === undefined ? this.endpoint : stringArg(labels.endpoint, 'ERR_DYNAMO_INVALID_LABEL', where, 'labels.endpoint')
    const model = labels.model === undefined ? undefined : stringArg(labels.model, 'ERR_DYNAMO_INVALID_LABEL', where, 'labels.model')
    return this.native.render(component, endpoint, model)
  }

  /** Stops polling and listening. */
  close(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.warnTimer)
    this.native.stop()
  }
}
