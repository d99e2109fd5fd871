import { messageOf } from '../errors'
import type { EndpointMetrics, ErrorType } from './endpoint-metrics'
import type { EndpointHandler, JsonValue, RequestContext } from './types'

/** How one request's responses leave the worker (in-process queue or NATS messages). */
export interface Responder {
  send(text: string): void | Promise<void>
  end(): void | Promise<void>
  fail(message: string): void | Promise<void>
  /** The request was cancelled: the caller went away, or the endpoint shut down without grace. */
  cancelled(reason: 'caller' | 'shutdown'): void
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === 'object' && Symbol.asyncIterator in v
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Symbol.iterator in v
}

/**
 * Runs a handler for each request and measures it as Dynamo's ingress does: requests, inflight
 * and request bytes on entry; response bytes per message; duration over the whole stream on
 * every exit path; errors by type; cancellations. The metrics are slab slots, so recording them
 * costs a few typed-array writes, not N-API calls.
 */
/** A request being handled: its completion, and a way to cancel it. */
export interface Handling {
  readonly done: Promise<void>
  cancel(): void
}

export class Ingress {
  private readonly inFlight = new Map<Promise<void>, AbortController>()
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
    const ac = new AbortController()
    const done = this.run(text, bytes, id, ac.signal, out, invalid).catch(() => {})
    this.inFlight.set(done, ac)
    void done.finally(() => this.inFlight.delete(done))
    return { done, cancel: () => ac.abort() }
  }

  private async run(
    text: string | null,
    bytes: number,
    id: string,
    signal: AbortSignal,
    out: Responder,
    invalid: string | undefined,
  ): Promise<void> {
    const m = this.metrics
    const t0 = m === null ? 0 : performance.now()
    if (m !== null) {
      m.requests.inc()
      m.inflight.inc()
      m.requestBytes.incBy(bytes)
    }
    const fail = async (type: ErrorType, why: string): Promise<void> => {
      m?.error(type)
      try {
        await out.fail(why)
      } catch {
        m?.error('publish_final')
      }
    }
    try {
      let request: JsonValue
      try {
        if (text === null) throw new Error('the payload is not UTF-8 text')
        request = JSON.parse(text) as JsonValue
      } catch (e) {
        return await fail('deserialization', `cannot deserialize the request: ${messageOf(e)}`)
      }
      if (invalid !== undefined) return await fail('invalid_message', invalid)
      const ctx: RequestContext = { signal, id, instanceId: this.instanceId }
      let result: unknown
      try {
        result = this.handler(request, ctx)
        if (!isAsyncIterable(result) && !isIterable(result)) result = [await result]
      } catch (e) {
        return await fail('generate', messageOf(e))
      }
      const items = result as AsyncIterable<unknown> | Iterable<unknown>
      try {
        for await (const item of items) {
          if (signal.aborted) break
          let encoded: string
          try {
            encoded = JSON.stringify(item) ?? 'null'
          } catch (e) {
            return await fail('response_stream', `cannot serialize a response: ${messageOf(e)}`)
          }
          if (m !== null) m.responseBytes.incBy(Buffer.byteLength(encoded))
          try {
            await out.send(encoded)
          } catch {
            m?.error('publish_response')
            break
          }
        }
      } catch (e) {
        if (!signal.aborted) return await fail('generate', messageOf(e))
      }
      if (signal.aborted) {
        m?.cancellations.inc()
        out.cancelled(this.shuttingDown ? 'shutdown' : 'caller')
        return
      }
      try {
        await out.end()
      } catch {
        m?.error('publish_final')
      }
    } finally {
      if (m !== null) {
        m.inflight.dec()
        m.duration.observe((performance.now() - t0) / 1000)
      }
    }
  }
}
