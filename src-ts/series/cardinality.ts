import { SERIES_LIMITS } from '../binding/contracts.generated'
import { InvalidLabelError } from '../binding/errors'

const { maxLabelValueBytes, overflowMarker } = SERIES_LIMITS

/** A value of at most this many UTF-16 units is short enough whatever its characters (3 bytes each at most). */
const SURELY_SHORT = Math.floor(maxLabelValueBytes / 3)

const utf8 = new TextEncoder()

/**
 * The cardinality guard of one Vec family (the rule and its names are declared in Rust:
 * `series::limit`). The label index asks it only when it is about to create a series, so hits
 * cost nothing: past `limit` live series, a new label set folds into the family's one overflow
 * series (every label value `__overflow__`), is not cached, and each write with it counts.
 */
export class CardinalityGuard {
  /** Series created and not removed (the overflow series not included). */
  live = 0
  /** The overflow series' slot, or -1 before the first fold (and after it is removed). */
  overflowSlot = -1
  /** Set while a read resolves (`get`, `labels`): a read is not a folded write. */
  quiet = false
  /** The overflow series' label values. */
  readonly marker: readonly string[]

  constructor(
    private readonly metric: string,
    private readonly names: readonly string[],
    /** Series the family may hold (Rust's `FamilyInfo.maxSeries`). */
    readonly limit: number,
    /** Adds 1 to the family's folded-writes counter. */
    private readonly count: () => void,
  ) {
    this.marker = names.map(() => overflowMarker)
  }

  /** Throws when a label value is longer than Rust's maximum (checked here because a batched series reaches Rust after the call). */
  checkLengths(values: readonly string[]): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v.length > SURELY_SHORT && utf8.encode(v).length > maxLabelValueBytes) {
        const bytes = utf8.encode(v).length
        throw new InvalidLabelError(
          'ERR_DYNAMO_INVALID_LABEL',
          `value of label '${this.names[i]}' of metric '${this.metric}' is ${bytes} bytes long: label values may be at most ${maxLabelValueBytes} bytes of UTF-8 (got '${v.slice(0, 40)}...')`,
        )
      }
    }
  }

  /** Whether a new label set must fold. */
  full(): boolean {
    return this.live >= this.limit
  }

  /** A write landed on the overflow series through a folded label set. */
  folded(): void {
    if (!this.quiet) this.count()
  }

  /** The series at `slot` was removed. */
  removed(slot: number): void {
    if (slot === this.overflowSlot) this.overflowSlot = -1
    else this.live--
  }

  cleared(): void {
    this.live = 0
    this.overflowSlot = -1
  }
}

/** The write methods of bound children (`startTimer` writes through `observe`). */
const WRITES = ['inc', 'incBy', 'dec', 'set', 'add', 'sub', 'observe'] as const

/**
 * Makes every write through `child` (a child bound to the overflow series by `labels()`) count as
 * a folded write, after it succeeded. Only such children carry these own methods.
 */
export function countWrites(child: object, count: () => void): void {
  const methods = child as Record<string, unknown>
  for (const m of WRITES) {
    const write = methods[m]
    if (typeof write !== 'function') continue
    Object.defineProperty(child, m, {
      value: function (this: unknown, ...args: unknown[]): unknown {
        const r: unknown = write.apply(this, args)
        count()
        return r
      },
      writable: true,
      configurable: true,
    })
  }
}
