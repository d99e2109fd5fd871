import { type ConstLabels, pairs } from '../metrics/constructors'
import { call } from '../errors'
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
import type { NativeRuntime } from '../native'
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
    const infos = call(() => rt.createEndpointMetrics(node, pairs(labels)))
    const h = (i: number): FamilyHandle => ({ rt, store, info: infos[i] })
    this.requests = scalarIntCounter(h(0))
    this.duration = scalarHistogram(h(1))
    this.inflight = scalar(h(2), (s, o, d) => new IntGauge(s, o, d))
    this.requestBytes = scalarIntCounter(h(3))
    this.responseBytes = scalarIntCounter(h(4))
    this.errors = new IntCounterVec(h(5), ['error_type'] as const)
    this.cancellations = scalarIntCounter(h(6))
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
