import type { ConstLabels } from '../metrics/constructors'
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
  /**
   * Over NATS: how long a response waits for the caller's credit (the caller reads nothing and
   * did not cancel) before the request fails with `NatsError` and the handler's signal fires
   * (default 60000 ms, 1 to 2147483647).
   */
  creditTimeoutMs?: number
}

export interface ClientOptions {
  /** Give up on a request when no response arrives for this long (default 60000 ms). */
  idleTimeoutMs?: number
  /**
   * How many responses a worker may send beyond what this caller has read (default 256, at most
   * 16384; in-process too). The worker pauses when it runs out of credit instead of overrunning a
   * slow caller; a worker that gets no credit for 60 s fails the request with `NatsError`.
   */
  creditWindow?: number
}

/**
 * One endpoint's stats in `component.scrapeStats()`: the NATS micro-service `$SRV.STATS` endpoint
 * entry, the same fields on both planes (in-process they are this process's own).
 */
export interface EndpointStats {
  /** The endpoint's name (sanitized for NATS: `[A-Za-z0-9_-]`). */
  name: string
  /** The NATS subject this instance serves (in-process: the one it would serve). */
  subject: string
  /** The NATS queue group ('' in-process). */
  queue_group: string
  /** Requests that have ended (completed, failed or cancelled). */
  num_requests: number
  /** Of those, the ones that ended with an error or a cancellation. */
  num_errors: number
  /** Total handling time, nanoseconds. */
  processing_time: number
  /** Mean handling time per request, nanoseconds (0 before the first). */
  average_processing_time: number
  /** The last error as `<code>:<message>` (500 handler, 502 delivery), '' if none. */
  last_error: string
  /** The `statsHandler`'s value; absent when the endpoint has none. */
  data?: JsonValue
}

/** One served instance's stats in `component.scrapeStats()` (the NATS `$SRV.STATS` answer). */
export interface ServiceStats {
  /** The NATS service name, `<namespace>_<component>` sanitized. */
  name: string
  /** The service instance's id: over NATS the one NATS assigned, in-process the endpoint's instance id. */
  id: string
  /** The service version it announces. */
  version: string
  /** When it started serving (RFC 3339). */
  started: string
  endpoints: EndpointStats[]
}
