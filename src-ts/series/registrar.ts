import { call } from '../binding/errors'
import { native, type NativeRuntime } from '../binding/native'

/** Ints of one batch: per series its family, its slot and one UTF-8 length per label value. */
export const BATCH_INTS = 4096
/** Label-value bytes of one batch. */
export const BATCH_BYTES = 65536
/** The most slots one reservation asks Rust for. */
export const RESERVE_MAX = 256

const utf8 = new TextEncoder()

/**
 * Registers new series with Rust, for every family of one runtime. Series created in one JS turn
 * are registered together: at the end of the turn (a microtask), when the batch is full, or
 * earlier when something reads the series table (a render, a scrape's snapshot, a remove or
 * reset). Creating a series then costs no N-API call of its own.
 *
 * A batch is written in place into two buffers allocated once per runtime: ints (family, slot,
 * value lengths) and the values' UTF-8 bytes, which ASCII values reach one `charCodeAt` per byte.
 * Rust reads both during the call: no string is joined on the JS side or converted by N-API, and
 * a value may hold any character, NUL too.
 */
export class SeriesRegistrar {
  /** Slot numbers of a reservation (Rust writes them here: no array is created per call). */
  private readonly reservation = new Uint32Array(RESERVE_MAX)
  private readonly ints = new Uint32Array(BATCH_INTS)
  private readonly bytes = new Uint8Array(BATCH_BYTES)
  /** Ints and bytes of the batch so far. */
  private intsUsed = 0
  private bytesUsed = 0
  private scheduled = false
  /** Set by shutdown(): a new series is then registered at once, so Rust's RuntimeClosedError reaches its caller. */
  closed = false

  constructor(private readonly handle: NativeRuntime['handle']) {}

  /** Reserves `count` (<= RESERVE_MAX) slots of `family`; valid until the next call. */
  reserve(family: number, count: number): Uint32Array {
    const out = this.reservation.subarray(0, count)
    call(() => native.reserveSlots(this.handle, family, out))
    return out
  }

  /** Whether a series with these values fits in a batch at all (else it is created on its own). */
  fits(values: readonly string[]): boolean {
    return 2 + values.length <= BATCH_INTS && maxBytes(values) <= BATCH_BYTES
  }

  /** Queues the series of `family` at `slot` (reserved by Rust); `values` must `fits`. */
  add(family: number, slot: number, values: readonly string[]): void {
    if (this.intsUsed + 2 + values.length > BATCH_INTS || this.bytesUsed + maxBytes(values) > BATCH_BYTES) this.flush()
    const ints = this.ints
    let intAt = this.intsUsed
    let byteAt = this.bytesUsed
    ints[intAt++] = family
    ints[intAt++] = slot
    for (let i = 0; i < values.length; i++) {
      const end = this.write(values[i], byteAt)
      ints[intAt++] = end - byteAt
      byteAt = end
    }
    this.intsUsed = intAt
    this.bytesUsed = byteAt
    if (this.closed) return this.flush()
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.atTurnEnd)
    }
  }

  /** Writes `v` as UTF-8 at `at`; returns where it ends. */
  private write(v: string, at: number): number {
    const bytes = this.bytes
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j)
      if (c >= 0x80) {
        // Not ASCII: the encoder writes the whole value again (lone surrogates become U+FFFD, as
        // N-API's conversion of the same string does).
        const start = at - j
        return start + utf8.encodeInto(v, bytes.subarray(start)).written
      }
      bytes[at++] = c
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
    const ints = this.intsUsed
    if (ints === 0) return
    const bytes = this.bytesUsed
    this.intsUsed = 0
    this.bytesUsed = 0
    call(() => native.addSeriesBatch(this.handle, this.ints, ints, this.bytes, bytes))
  }
}

/**
 * The slots Rust reserved ahead for one family's next series: a reservation doubles, up to
 * {@link RESERVE_MAX}, so a family that creates many series asks rarely and one that creates
 * few holds few.
 */
export class SlotReserve {
  private readonly pool: number[] = []
  private taken = 0
  private nextAsk = 1

  constructor(
    private readonly registrar: SeriesRegistrar,
    private readonly family: number,
  ) {}

  next(): number {
    if (this.taken === this.pool.length) {
      const count = this.nextAsk
      this.nextAsk = Math.min(count * 2, RESERVE_MAX)
      const got = this.registrar.reserve(this.family, count)
      this.pool.length = count
      for (let i = 0; i < count; i++) this.pool[i] = got[i]
      this.taken = 0
    }
    return this.pool[this.taken++]
  }
}

/** The most UTF-8 bytes `values` can take: three per UTF-16 unit. */
function maxBytes(values: readonly string[]): number {
  let n = 0
  for (let i = 0; i < values.length; i++) n += values[i].length
  return n * 3
}
