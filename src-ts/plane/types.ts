import type { ConstLabels } from '../factory'
import type { AbortSignalLike } from '../env-types'

/** A JSON value: what requests and responses are. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** What a handler gets besides the request. */
export interface RequestContext {
  /** Fires when the caller goes away (breaks out of its iteration, or cancels over NATS). */
  readonly signal: AbortSignalLike
  /** The request's id (also sent over NATS as the `Dynamo-Request-Id` header). */
  readonly id: string
  /** The serving instance's id (lowercase hex). */
  readonly instanceId: string
}

/**
 * A request handler: an async generator (streaming, as Dynamo's Python handlers are) or an async
 * function that returns one response.
 */
export type EndpointHandler<Req = JsonValue, Res = JsonValue> = (
  request: Req,
  context: RequestContext,
) => AsyncIterable<Res> | Iterable<Res> | Promise<Res> | Res

export interface ServeOptions {
  /** Const labels added to the automatic metrics of this endpoint (Dynamo's `metrics_labels`). */
  metricsLabels?: ConstLabels
  /** Returns this endpoint's stats, reported in `$SRV.STATS` and `component.scrapeStats()`. */
  statsHandler?: () => JsonValue
  /** On shutdown, let in-flight requests finish (true, default) or abort them (false). */
  gracefulShutdown?: boolean
  /** Record Dynamo's automatic endpoint metrics (default true). */
  autoMetrics?: boolean
}

export interface ClientOptions {
  /** Give up on a request when no response arrives for this long (default 60000 ms). */
  idleTimeoutMs?: number
}

/** One instance's stats as `component.scrapeStats()` reports them (NATS micro-service format). */
export interface EndpointStats {
  name: string
  subject: string
  num_requests: number
  num_errors: number
  processing_time: number
  average_processing_time: number
  last_error?: string
  data?: JsonValue
  [key: string]: unknown
}

export interface ServiceStats {
  name: string
  id: string
  endpoints: EndpointStats[]
  [key: string]: unknown
}
