import type { ConstLabels } from '../factory'
import { call } from '../errors'
import { Histogram, IntCounter, IntCounterVec, IntGauge, scalar, type FamilyHandle } from '../metrics'
import type { NativeRuntime } from '../native'
import type { SlabStore } from '../store'

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
    const list = Array.isArray(labels) ? labels : Object.entries(labels ?? {})
    const infos = call(() =>
      rt.createEndpointMetrics(
        node,
        list.map(([k, v]) => [String(k), String(v)]),
      ),
    )
    const h = (i: number): FamilyHandle => ({ rt, store, info: infos[i] })
    this.requests = scalar(h(0), (s, o, d) => new IntCounter(s, o, d))
    const bounds = Float64Array.from(infos[1].buckets)
    this.duration = scalar(h(1), (s, o, d) => new Histogram(s, o, d, bounds))
    this.inflight = scalar(h(2), (s, o, d) => new IntGauge(s, o, d))
    this.requestBytes = scalar(h(3), (s, o, d) => new IntCounter(s, o, d))
    this.responseBytes = scalar(h(4), (s, o, d) => new IntCounter(s, o, d))
    this.errors = new IntCounterVec(h(5), ['error_type'] as const)
    this.cancellations = scalar(h(6), (s, o, d) => new IntCounter(s, o, d))
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
