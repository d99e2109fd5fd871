import { messageOf } from '../binding/errors'
import { Cancellation } from './cancellation'
import { SHUTDOWN_MESSAGE } from './channel'
import type { EndpointMetrics, ErrorType } from './endpoint-metrics'
import type { EndpointHandler, JsonValue, RequestContext } from './types'

/** How one request's responses leave the worker (in-process queue or NATS messages). */
export interface Responder {
  /** Sends one response; rejects when it cannot be delivered (nothing was sent). */
  send(text: string): void | Promise<void>
  /** Ends the stream; `last` is a last response carried by the end itself (one message for a unary reply). */
  end(last?: string): void | Promise<void>
  /** Ends the stream with an error: the handler's (`handler`) or a response that could not be delivered (`delivery`). */
  fail(message: string, kind: 'handler' | 'delivery'): void | Promise<void>
  /** The request was cancelled: the caller went away, or the endpoint shut down without grace. */
  cancelled(reason: 'caller' | 'shutdown'): void
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === 'object' && Symbol.asyncIterator in v
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Symbol.iterator in v
}

/** A request being handled: its completion, and a way to cancel it. */
export interface Handling {
  readonly done: Promise<void>
  cancel(): void
}

/**
 * Runs a handler for each request and measures it as Dynamo's ingress does: requests, inflight
 * and request bytes on entry; response bytes per message delivered; duration over the whole
 * stream on every exit path; errors by type; cancellations. The metrics are slab slots, so
 * recording them costs a few typed-array writes, not N-API calls.
 *
 * A response that cannot be delivered (over the NATS max payload, no credit from the caller)
 * ends the caller's stream with an error and fires the handler's signal: never a short stream
 * that looks complete.
 */
/** What the in-process plane reports as `$SRV.STATS` would (NATS keeps these in Rust). */
export interface IngressStats {
  requests: number
  errors: number
  seconds: number
  lastError: string
}

export class Ingress {
  readonly stats: IngressStats = { requests: 0, errors: 0, seconds: 0, lastError: '' }
  private readonly inFlight = new Map<Promise<void>, Cancellation>()
  private shuttingDown = false

  constructor(
    private readonly handler: EndpointHandler<JsonValue, JsonValue>,
    private readonly metrics: EndpointMetrics | null,
    readonly instanceId: string,
  ) {}

  /** Resolves when every request in flight has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.keys()])
  }

  /** Fires every in-flight request's signal (shutdown without grace). */
  abortAll(): void {
    this.shuttingDown = true
    for (const ac of this.inFlight.values()) ac.abort()
  }

  /** Handles one request; `bytes` is its size on the wire. `done` never rejects. */
  handle(text: string | null, bytes: number, id: string, out: Responder, invalid?: string): Handling {
    const ac = new Cancellation()
    const done = this.run(text, bytes, id, ac, out, invalid).catch(() => {})
    this.inFlight.set(done, ac)
    void done.finally(() => this.inFlight.delete(done))
    return { done, cancel: () => ac.abort() }
  }

  private async run(
    text: string | null,
    bytes: number,
    id: string,
    ac: Cancellation,
    out: Responder,
    invalid: string | undefined,
  ): Promise<void> {
    const m = this.metrics
    const t0 = performance.now()
    let failure: string | undefined
    if (m !== null) {
      m.requests.inc()
      m.inflight.inc()
      m.requestBytes.incBy(bytes)
    }
    const fail = async (type: ErrorType, why: string, kind: 'handler' | 'delivery' = 'handler'): Promise<void> => {
      m?.error(type)
      failure = `${kind === 'delivery' ? 502 : 500}:${why}`
      try {
        await out.fail(why, kind)
      } catch {
        m?.error('publish_final')
      }
    }
    const cancelled = (): void => {
      m?.cancellations.inc()
      // As NATS counts it: a cancelled request ends with an error message.
      failure = this.shuttingDown ? `500:${SHUTDOWN_MESSAGE}` : '500:cancelled by the caller'

      out.cancelled(this.shuttingDown ? 'shutdown' : 'caller')
    }
    // A send that failed: the caller hears why, the handler's signal fires so it stops producing.
    const undeliverable = async (e: unknown): Promise<void> => {
      if (ac.aborted) return cancelled()
      ac.abort(e)
      await fail('publish_response', `a response could not be delivered: ${messageOf(e)}`, 'delivery')
    }
    const encode = (item: unknown): string => JSON.stringify(item) ?? 'null'
    try {
      let request: JsonValue
      try {
        if (text === null) throw new Error('the payload is not UTF-8 text')
        request = JSON.parse(text) as JsonValue
      } catch (e) {
        return await fail('deserialization', `cannot deserialize the request: ${messageOf(e)}`)
      }
      if (invalid !== undefined) return await fail('invalid_message', invalid)
      const ctx: RequestContext = {
        get signal() {
          return ac.signal
        },
        id,
        instanceId: this.instanceId,
      }
      let result: unknown
      try {
        result = this.handler(request, ctx)
        if (!isAsyncIterable(result) && !isIterable(result)) result = { unary: await result }
      } catch (e) {
        return await fail('generate', messageOf(e))
      }
      if (!isAsyncIterable(result) && !isIterable(result)) {
        // One response: it travels in the final message itself.
        let encoded: string
        try {
          encoded = encode((result as { unary: unknown }).unary)
        } catch (e) {
          return await fail('response_stream', `cannot serialize a response: ${messageOf(e)}`)
        }
        if (ac.aborted) return cancelled()
        try {
          await out.end(encoded)
        } catch (e) {
          return await undeliverable(e)
        }
        if (m !== null) m.responseBytes.incBy(Buffer.byteLength(encoded))
        return
      }
      const items = result as AsyncIterable<unknown> | Iterable<unknown>
      try {
        for await (const item of items) {
          if (ac.aborted) break
          let encoded: string
          try {
            encoded = encode(item)
          } catch (e) {
            return await fail('response_stream', `cannot serialize a response: ${messageOf(e)}`)
          }
          try {
            await out.send(encoded)
          } catch (e) {
            return await undeliverable(e)
          }
          if (m !== null) m.responseBytes.incBy(Buffer.byteLength(encoded))
        }
      } catch (e) {
        if (!ac.aborted) return await fail('generate', messageOf(e))
      }
      if (ac.aborted) return cancelled()
      try {
        await out.end()
      } catch {
        m?.error('publish_final')
      }
    } finally {
      const seconds = (performance.now() - t0) / 1000
      const st = this.stats
      st.requests++
      st.seconds += seconds
      if (failure !== undefined) {
        st.errors++
        st.lastError = failure
      }
      if (m !== null) {
        m.inflight.dec()
        m.duration.observe(seconds)
      }
    }
  }
}
