/**
 * A request's cancellation: its `AbortController` is made only when the handler reads
 * `ctx.signal`. Most handlers never do, and making one per request was a visible share of the
 * NATS plane's per-request work (a CPU profile of the 64-caller echo, docs/benchmarks.md).
 */
export class Cancellation {
  private controller: AbortController | undefined
  private reason: unknown
  /** Whether the request was cancelled (the signal, once made, says the same). */
  aborted = false

  /** The handler's signal; it fires with the reason of an abort before or after it was made. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  abort(reason?: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.controller?.abort(reason)
  }
}
