import { optionsArg, show } from '../binding/args'
import { InvalidLabelError } from '../binding/errors'
import { invalidValue } from '../metrics/values'
import type { Histogram, IntCounter, IntGauge } from '../metrics'

/** `request_type`: a streamed (SSE) response or one unary response. */
export type FrontendRequestType = 'stream' | 'unary'
/** `status` of `requests_total`. */
export type FrontendStatus = 'success' | 'error'
/** Dynamo's `error_type` values (`''` on success). */
export type FrontendErrorType =
  | ''
  | 'validation'
  | 'not_found'
  | 'overload'
  | 'cancelled'
  | 'response_timeout'
  | 'internal'
  | 'not_implemented'
/** Dynamo's `endpoint` values; any other non-empty string is accepted too. */
export type FrontendEndpoint =
  | 'completions'
  | 'chat_completions'
  | 'embeddings'
  | 'images'
  | 'videos'
  | 'audios'
  | 'responses'
  | 'anthropic_messages'
  | 'tensor'
  | (string & {})

export const REQUEST_TYPES: readonly string[] = ['stream', 'unary']
export const STATUSES: readonly string[] = ['success', 'error']
export const ERROR_TYPES: readonly string[] = [
  '',
  'validation',
  'not_found',
  'overload',
  'cancelled',
  'response_timeout',
  'internal',
  'not_implemented',
]

export interface FinishOptions {
  /** Default `success`. */
  status?: FrontendStatus
  /** Default `''` on success, `internal` on error; must be `''` (or omitted) on success. */
  errorType?: FrontendErrorType
  /** Prompt tokens: observed in `input_sequence_tokens` (not observed when omitted). */
  inputTokens?: number
  /** Output tokens: observed in `output_sequence_tokens`; default the sum of `token(n)` calls. */
  outputTokens?: number
  /** Prefix-cache hits: observed in `cached_tokens` (not observed when omitted). */
  cachedTokens?: number
}

/** @internal The bound series of one model. */
export interface ModelSeries {
  readonly inflight: IntGauge
  readonly queued: IntGauge
  readonly duration: Histogram
  readonly ttft: Histogram
  readonly itl: Histogram
  readonly isl: Histogram
  readonly osl: Histogram
  readonly cached: Histogram
  readonly outputTokens: IntCounter
}

/** @internal What a tracker reports back to its metrics set. */
export interface TrackerSink {
  countRequest(model: string, endpoint: string, requestType: string, status: string, errorType: string): void
  countDisconnect(): void
}

const QUEUED = 0
const STREAMING = 1
const DONE = 2

export function labelError(what: string, value: unknown, rule: string): InvalidLabelError {
  return new InvalidLabelError('ERR_DYNAMO_INVALID_LABEL', `frontend ${what} ${show(value)}: ${rule}`)
}

function checkTokens(metric: string, method: string, v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw invalidValue(metric, method, v, 'token counts must be integers >= 0')
  }
  return v
}

/** `n` observations of `v` in one histogram series (bucket count += n, sum += v * n). */
function observeN(h: Histogram, v: number, n: number): void {
  const b = h.bounds
  const len = b.length
  let k = 0
  while (k < len && v > b[k]) k++
  h.slab[h.offset + k] += n
  h.slab[h.offset + h.sumAt] += v * n
}

/**
 * The bookkeeping of one frontend request, from `startRequest` to its one end: `finish()` or
 * `disconnected()`. Inflight and queued are incremented at the start and decremented exactly
 * once; a second end, or `token()` after the end, does nothing and is counted nowhere.
 */
export class RequestTracker {
  private state = QUEUED
  private readonly t0: number
  private last: number
  private tokens = 0

  /** @internal `clk`: the coarse clock's buffer, or null for `performance.now()`. */
  constructor(
    private readonly sink: TrackerSink,
    private readonly m: ModelSeries,
    private readonly clk: Float64Array | null,
    readonly model: string,
    readonly endpoint: string,
    readonly requestType: FrontendRequestType,
  ) {
    m.inflight.inc()
    m.queued.inc()
    this.t0 = clk === null ? performance.now() : clk[0]
    this.last = this.t0
  }

  /** Whether the request has ended (finished or disconnected). */
  get finished(): boolean {
    return this.state === DONE
  }

  /** Output tokens counted so far by `token(n)`. */
  get outputTokens(): number {
    return this.tokens
  }

  /**
   * `n` (default 1) tokens were sent: the first call observes the time to first token and leaves
   * the queue, later calls observe the inter-token latency (the gap since the previous call over
   * `n`, `n` times); `output_tokens_total` moves at once. No-op after the end or for `n = 0`.
   */
  token(n?: number): void {
    if (this.state === DONE) return
    const now = this.clk === null ? performance.now() : this.clk[0]
    let k = 1
    if (n !== undefined) {
      if (typeof n !== 'number' || !(n >= 0) || n % 1 !== 0) throw invalidValue(this.m.outputTokens.name, 'token', n, 'token counts must be integers >= 0')
      if (n === 0) return
      k = n
    }
    this.tokens += k
    const m = this.m
    m.outputTokens.slab[m.outputTokens.offset] += k
    if (this.state === QUEUED) {
      // As Dynamo: a first chunk of several tokens counts as TTFT only, no ITL.
      this.state = STREAMING
      m.queued.slab[m.queued.offset] -= 1
      m.ttft.observe((now - this.t0) / 1000)
    } else {
      observeN(m.itl, (now - this.last) / 1000 / k, k)
    }
    this.last = now
  }

  /**
   * Ends the request: `requests_total{status,error_type}`, duration, sequence lengths; inflight
   * (and queued, when no token came) go down. Returns false, recording nothing, when it had
   * already ended. Bad options throw a typed error and leave the request open.
   */
  finish(given?: FinishOptions): boolean {
    const options = optionsArg<FinishOptions>(given, 'finish', 'options', 'ERR_DYNAMO_INVALID_ARGUMENT')
    if (this.state === DONE) return false
    const status = options.status ?? 'success'
    if (!STATUSES.includes(status)) throw labelError('status', status, `must be one of ${STATUSES.join(', ')}`)
    const errorType = options.errorType ?? (status === 'error' ? 'internal' : '')
    if (!ERROR_TYPES.includes(errorType)) {
      throw labelError('errorType', errorType, `must be one of ${ERROR_TYPES.map((e) => `'${e}'`).join(', ')}`)
    }
    if (status === 'success' && errorType !== '') throw labelError('errorType', errorType, "must be '' when status is success")
    const m = this.m
    const isl = checkTokens(m.isl.name, 'finish(inputTokens)', options.inputTokens)
    const osl = checkTokens(m.osl.name, 'finish(outputTokens)', options.outputTokens) ?? this.tokens
    const cached = checkTokens(m.cached.name, 'finish(cachedTokens)', options.cachedTokens)
    this.end()
    this.sink.countRequest(this.model, this.endpoint, this.requestType, status, errorType)
    if (isl !== undefined) m.isl.observe(isl)
    m.osl.observe(osl)
    if (cached !== undefined) m.cached.observe(cached)
    // Tokens reported at the end but never streamed still count in output_tokens_total.
    if (osl > this.tokens) m.outputTokens.slab[m.outputTokens.offset] += osl - this.tokens
    return true
  }

  /**
   * The client went away: `disconnected_clients` goes up and the request ends as
   * `status="error", error_type="cancelled"`. Returns false when it had already ended.
   */
  disconnected(given?: Pick<FinishOptions, 'inputTokens' | 'cachedTokens'>): boolean {
    const options = optionsArg<FinishOptions>(given, 'disconnected', 'options', 'ERR_DYNAMO_INVALID_ARGUMENT')
    if (this.state === DONE) return false
    const done = this.finish({
      inputTokens: options.inputTokens,
      cachedTokens: options.cachedTokens,
      status: 'error',
      errorType: 'cancelled',
    })
    this.sink.countDisconnect()
    return done
  }

  private end(): void {
    const m = this.m
    if (this.state === QUEUED) m.queued.dec()
    this.state = DONE
    m.inflight.dec()
    m.duration.observe(((this.clk === null ? performance.now() : this.clk[0]) - this.t0) / 1000)
  }
}
