/**
 * A batch is registered once it holds this many series (or {@link BATCH_CHARS} characters): the
 * N-API call is then spread over a thousand series, and its buffers stay below glibc's mmap
 * threshold (128 KiB). One freed block above that threshold raises it for good, and the allocator
 * then keeps memory the process freed (measured: +12 B per series at 100k with one 1.2 MB batch).
 */
export const BATCH_SERIES = 1024
export const BATCH_CHARS = 16384

/** Something holding series that exist on the JS side and wait to be registered with Rust. */
export interface Registrar {
  flush(): void
}

/**
 * Series created in one JS turn are registered with Rust together: at the end of the turn (a
 * microtask), or earlier when something reads the series table (a render, a scrape's snapshot,
 * a remove or reset). Creating a series then costs no N-API call of its own (~0.5 µs each).
 */
export class PendingSeries {
  /**
   * Slot numbers to and from Rust, for every family of the runtime: one buffer, allocated once
   * (a typed array per call would be a small malloc each, and they fragment the allocator).
   */
  readonly slots = new Uint32Array(BATCH_SERIES)
  private readonly waiting = new Set<Registrar>()
  private scheduled = false

  /** `r` has series to register; called once per turn per registrar. */
  mark(r: Registrar): void {
    this.waiting.add(r)
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.atTurnEnd)
    }
  }

  private readonly atTurnEnd = (): void => {
    this.scheduled = false
    try {
      this.flush()
    } catch {
      // Only a runtime shut down during this turn refuses a registration: nothing renders now.
    }
  }

  flush(): void {
    for (const r of this.waiting) {
      this.waiting.delete(r)
      r.flush()
    }
  }
}
