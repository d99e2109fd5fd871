import { ERROR_CODES, type ErrorCode } from './contracts.generated'

/** Base class of every error this package throws for bad input or bad state. */
export class MetricsError extends Error {
  /** Stable machine-readable code, e.g. `ERR_DYNAMO_INVALID_NAME`. */
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
    this.name = new.target.name
  }
}

/** An empty or unsanitizable metric or hierarchy name. */
export class InvalidNameError extends MetricsError {}
/** A bad label name or label set: reserved, `le` on a histogram, duplicate, missing or unknown. */
export class InvalidLabelError extends MetricsError {}
/** Empty help text. */
export class InvalidHelpError extends MetricsError {}
/** Histogram buckets that are empty, not finite or not strictly increasing. */
export class InvalidBucketsError extends MetricsError {}
/** A value a metric cannot take: a non-integer to an Int metric, a negative or NaN counter increment. */
export class InvalidValueError extends MetricsError {}
/** The same series registered twice at the same level. */
export class DuplicateMetricError extends MetricsError {}
/**
 * The same metric name created with a different type, help, label names or buckets, or a name
 * that collides with the sample names of another family (a gauge `lat_count` beside a histogram `lat`).
 */
export class MetricConflictError extends MetricsError {}
/** Bad configuration: environment variables or `DistributedRuntime.create()` options. */
export class ConfigError extends MetricsError {}
/** The status server could not start (for example, the port is taken). */
export class ServerError extends MetricsError {}
/** The runtime was shut down. */
export class RuntimeClosedError extends MetricsError {}
/** NATS is unreachable, or the connection dropped while a request was waiting. */
export class NatsError extends MetricsError {}
/** A request handler threw or rejected; the message is the handler's. */
export class HandlerError extends MetricsError {}
/** Serving or calling an endpoint went wrong: served twice, no instance to call. */
export class EndpointError extends MetricsError {}
/**
 * An argument of the wrong type or shape where no narrower class applies: a callback that is not
 * a function, a request that is not a JSON value, a Component where a Namespace belongs.
 */
export class InvalidArgumentError extends MetricsError {}
/**
 * `prometheusMetricsFmt()` cannot answer: the text is longer than a JS string can be (scrape
 * `/metrics` instead), or a metrics callback awaits the scrape that is waiting for it.
 */
export class ScrapeError extends MetricsError {}

type ErrorClass = new (code: string, message: string) => MetricsError

/** One class per code the core declares: a code without a class here fails `tsc`. */
const classes: Record<ErrorCode, ErrorClass> = {
  ERR_DYNAMO_INVALID_NAME: InvalidNameError,
  ERR_DYNAMO_INVALID_LABEL: InvalidLabelError,
  ERR_DYNAMO_INVALID_HELP: InvalidHelpError,
  ERR_DYNAMO_INVALID_BUCKETS: InvalidBucketsError,
  ERR_DYNAMO_INVALID_VALUE: InvalidValueError,
  ERR_DYNAMO_DUPLICATE_METRIC: DuplicateMetricError,
  ERR_DYNAMO_METRIC_CONFLICT: MetricConflictError,
  ERR_DYNAMO_CONFIG: ConfigError,
  ERR_DYNAMO_SERVER: ServerError,
  ERR_DYNAMO_CLOSED: RuntimeClosedError,
  ERR_DYNAMO_NATS: NatsError,
  ERR_DYNAMO_HANDLER: HandlerError,
  ERR_DYNAMO_ENDPOINT: EndpointError,
  ERR_DYNAMO_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_DYNAMO_SCRAPE: ScrapeError,
}

const codes: ReadonlySet<string> = new Set(ERROR_CODES)

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && codes.has(code)
}

/** The typed error of a code and message that came across as data (a field, not a throw). */
export function fromCode(code: string, message: string): Error {
  return isErrorCode(code) ? new classes[code](code, message) : new Error(message)
}

/** A new error of `code`'s class. */
export function typedError(code: ErrorCode, message: string): MetricsError {
  return new classes[code](code, message)
}

/** Turns a native error (the binding throws it with the core's code as `error.code`) into its typed class. */
export function translate(e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof MetricsError) return e
  const code = (e as Error & { code?: unknown }).code
  if (!isErrorCode(code)) return e
  return new classes[code](code, e.message)
}

/** Calls into the binding, rethrowing its errors as typed classes. */
export function call<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw translate(e)
  }
}

/**
 * `call` for a binding call that may return a Promise: always a Promise, rejected with the typed
 * class. Not an async function: a result that is there at once (a small render) then resolves
 * without a turn through an async function's await.
 */
export function callAsync<T>(fn: () => T | Promise<T>): Promise<T> {
  let out: T | Promise<T>
  try {
    out = fn()
  } catch (e) {
    return Promise.reject(translate(e))
  }
  if (!isThenable(out)) return Promise.resolve(out)
  return Promise.resolve(out).catch(rethrowTranslated)
}

/** Whether `v` is a Promise or another thenable (what `await` would wait for). */
export function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return ((typeof v === 'object' && v !== null) || typeof v === 'function') && typeof (v as PromiseLike<T>).then === 'function'
}

function rethrowTranslated(e: unknown): never {
  throw translate(e)
}

/** The message of a thrown value, whatever was thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
