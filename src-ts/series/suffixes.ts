import { holey } from './table'

/**
 * The suffixes that start at one level of the label index. High-cardinality label sets mostly
 * have one continuation below some level, so such a continuation (the remaining values and the
 * slot) is not a chain of one-entry levels but a number in the parent level:
 *
 * - `>= 0`: a tail, an index into this flat array (`stride` = remaining values + 1 per tail),
 *   far smaller than an object per level;
 * - `< 0`: `~slot`, when the remaining values equal the level's *default suffix* (the first
 *   suffix the level ever stored): `{worker_id: unique, model: 'llama-3'}` then costs nothing
 *   beyond the root entry.
 *
 * A suffix becomes a `Table` when a second continuation appears (see `LabelIndex.insert`).
 */
export class Suffixes {
  /** Tails, `stride` entries each: the remaining values, then the slot. */
  readonly tails = holey(0)
  /** The default suffix's values (empty until the first suffix is stored). */
  readonly defaults = holey(0)
  private readonly free: number[] = []
  constructor(readonly stride: number) {}

  /** Stores `values[from..]` ending in `slot`; returns the number the parent level holds. */
  put(values: string[], from: number, slot: number): number {
    if (this.defaults.length === 0) for (let j = from; j < values.length; j++) this.defaults.push(values[j])
    if (this.matches(-1, values, from)) return ~slot
    const id = this.free.length > 0 ? (this.free.pop() as number) : this.tails.length / this.stride
    let at = id * this.stride
    for (let j = from; j < values.length; j++) this.tails[at++] = values[j]
    this.tails[at] = slot
    return id
  }

  /** Whether suffix `suffix` holds `values[from..]`. */
  matches(suffix: number, values: readonly string[], from: number): boolean {
    const held = suffix < 0 ? this.defaults : this.tails
    const at = (suffix < 0 ? 0 : suffix * this.stride) - from
    for (let j = from; j < values.length; j++) if (held[at + j] !== values[j]) return false
    return true
  }

  slot(suffix: number): number {
    return suffix < 0 ? ~suffix : (this.tails[suffix * this.stride + this.stride - 1] as number)
  }

  /** The values of suffix `suffix` (without the slot). */
  values(suffix: number): string[] {
    const at = suffix * this.stride
    return (suffix < 0 ? this.defaults.slice() : this.tails.slice(at, at + this.stride - 1)) as string[]
  }

  release(suffix: number): void {
    if (suffix < 0) return
    this.tails.fill(undefined, suffix * this.stride, (suffix + 1) * this.stride)
    this.free.push(suffix)
  }

  clear(): void {
    this.tails.length = 0
    this.defaults.length = 0
    this.free.length = 0
  }
}
