import { call } from './errors'
import { native, type NativeRuntime } from './native'

/** Ints of one batch: per series its family, its slot and one UTF-8 length per label value. */
export const BATCH_INTS = 4096
/** Label-value bytes of one batch. */
export const BATCH_BYTES = 65536
/** The most slots one reservation asks Rust for. */
export const RESERVE_MAX = 256

const utf8 = new TextEncoder()

/**
 * Series created in one JS turn are registered with Rust together: at the end of the turn (a
 * microtask), when the batch is full, or earlier when something reads the series table (a render,
 * a scrape's snapshot, a remove or reset). Creating a series then costs no N-API call of its own
 * (~0.5 µs each).
 *
 * A batch is written in place into two buffers allocated once per runtime: ints (family, slot,
 * value lengths) and the values' UTF-8 bytes, which ASCII values reach one `charCodeAt` per byte.
 * Rust reads both during the call: no string is joined on the JS side or converted by N-API
 * (measured per series: ~100 ns as a joined string, ~50 written in place), and a value may hold
 * any character, NUL too.
 */
export class PendingSeries {
  /** Slot numbers of a reservation (Rust writes them here: no array is created per call). */
  readonly slots = new Uint32Array(RESERVE_MAX)
  private readonly ints = new Uint32Array(BATCH_INTS)
  private readonly bytes = new Uint8Array(BATCH_BYTES)
  private ni = 0
  private nb = 0
  private scheduled = false
  /** Set by shutdown(): a new series is then registered at once, so Rust's RuntimeClosedError reaches its caller. */
  closed = false

  constructor(private readonly handle: NativeRuntime['handle']) {}

  /** Whether a series with these values fits in a batch at all (else it is created on its own). */
  fits(values: readonly string[]): boolean {
    return 2 + values.length <= BATCH_INTS && maxBytes(values) <= BATCH_BYTES
  }

  /** Queues the series of `family` at `slot` (reserved by Rust); `values` must {@link fits}. */
  add(family: number, slot: number, values: readonly string[]): void {
    if (this.ni + 2 + values.length > BATCH_INTS || this.nb + maxBytes(values) > BATCH_BYTES) this.flush()
    const ints = this.ints
    let ni = this.ni
    let nb = this.nb
    ints[ni++] = family
    ints[ni++] = slot
    for (let i = 0; i < values.length; i++) {
      const end = this.write(values[i], nb)
      ints[ni++] = end - nb
      nb = end
    }
    this.ni = ni
    this.nb = nb
    if (this.closed) return this.flush()
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.atTurnEnd)
    }
  }

  /** Writes `v` as UTF-8 at `at`; returns where it ends. */
  private write(v: string, at: number): number {
    const b = this.bytes
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j)
      if (c >= 0x80) {
        // Not ASCII: the encoder writes the whole value again (lone surrogates become U+FFFD, as
        // N-API's conversion of the same string does).
        const start = at - j
        return start + utf8.encodeInto(v, b.subarray(start)).written
      }
      b[at++] = c
    }
    return at
  }

  private readonly atTurnEnd = (): void => {
    this.scheduled = false
    try {
      this.flush()
    } catch {
      // Only a runtime shut down during this turn refuses a registration: nothing renders now.
    }
  }

  /** Registers every queued series with Rust. */
  flush(): void {
    const ni = this.ni
    if (ni === 0) return
    const nb = this.nb
    this.ni = 0
    this.nb = 0
    call(() => native.addSeriesBatch(this.handle, this.ints, ni, this.bytes, nb))
  }
}

/** The most UTF-8 bytes `values` can take: three per UTF-16 unit. */
function maxBytes(values: readonly string[]): number {
  let n = 0
  for (let i = 0; i < values.length; i++) n += values[i].length
  return n * 3
}
