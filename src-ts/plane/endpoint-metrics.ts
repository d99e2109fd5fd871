import { type ConstLabels, pairs } from '../metrics/constructors'
import { call } from '../binding/errors'
import { ENDPOINT_METRICS, type EndpointMetric } from '../binding/contracts.generated'
import {
  type Histogram,
  type IntCounter,
  IntCounterVec,
  IntGauge,
  scalar,
  scalarHistogram,
  scalarIntCounter,
  type FamilyHandle,
} from '../metrics'
import type { FamilyInfo, NativeRuntime } from '../binding/native'
import type { SlabStore } from '../series/slab-store'

export type ErrorType =
  | 'deserialization'
  | 'invalid_message'
  | 'response_stream'
  | 'generate'
  | 'publish_response'
  | 'publish_final'

/** Dynamo's automatic work-handler metrics of one endpoint (names and help are Rust's). */
export class EndpointMetrics {
  readonly requests: IntCounter
  readonly duration: Histogram
  readonly inflight: IntGauge
  readonly requestBytes: IntCounter
  readonly responseBytes: IntCounter
  readonly errors: IntCounterVec<'error_type'>
  readonly cancellations: IntCounter
  private readonly errorChildren = new Map<ErrorType, IntCounter>()

  constructor(rt: NativeRuntime, store: SlabStore, node: number, labels: ConstLabels | undefined) {
    const infos = new Map<string, FamilyInfo>()
    for (const info of call(() => rt.createEndpointMetrics(node, pairs(labels, 'serveEndpoint', 'metricsLabels')))) infos.set(info.name, info)
    // By name, from the list Rust declares (see contracts.generated.ts), not by position.
    const h = (family: EndpointMetric): FamilyHandle => {
      const info = infos.get(ENDPOINT_METRICS[family])
      if (info === undefined) throw new TypeError(`the core created no endpoint metric '${family}'`)
      return { rt, store, info, node }
    }
    this.requests = scalarIntCounter(h('requests_total'))
    this.duration = scalarHistogram(h('request_duration_seconds'))
    this.inflight = scalar(h('inflight_requests'), (s, o, d) => new IntGauge(s, o, d))
    this.requestBytes = scalarIntCounter(h('request_bytes_total'))
    this.responseBytes = scalarIntCounter(h('response_bytes_total'))
    this.errors = new IntCounterVec(h('errors_total'), ['error_type'] as const)
    this.cancellations = scalarIntCounter(h('cancellation_total'))
  }

  /** Errors of every type so far. */
  errorCount(): number {
    let n = 0
    for (const c of this.errorChildren.values()) n += c.get()
    return n
  }

  error(type: ErrorType): void {
    let c = this.errorChildren.get(type)
    if (c === undefined) {
      c = this.errors.labels({ error_type: type })
      this.errorChildren.set(type, c)
    }
    c.inc()
  }
}
