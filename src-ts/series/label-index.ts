import { argError, wellFormed } from '../binding/args'
import { call, InvalidLabelError } from '../binding/errors'
import type { NativeRuntime } from '../binding/native'
import type { CardinalityGuard } from './cardinality'
import { type SeriesRegistrar, SlotReserve } from './registrar'
import { makeResolver } from './resolver'
import { Suffixes } from './suffixes'
import { Table } from './table'

/** A label value; numbers are rendered with `String(n)`. Strings take the fastest path. */
export type LabelValue = string | number
/** A labels object with exactly the declared label names as keys. */
export type Labels<L extends string> = { readonly [K in L]: LabelValue }

function text(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v
    case 'number':
      return String(v)
    default:
      return null
  }
}

/**
 * Whether the own enumerable keys of `l` are exactly `names` (inherited keys do not count). One
 * for...in with `hasOwnProperty`, both inlined by V8, where `propertyIsEnumerable` per name
 * would be a C++ builtin call each.
 */
function ownKeysAre(l: object, names: readonly string[]): boolean {
  let own = 0
  for (const k in l) {
    if (!Object.prototype.hasOwnProperty.call(l, k)) continue
    let j = 0
    while (j < names.length && names[j] !== k) j++
    if (j === names.length) return false
    own++
  }
  return own === names.length
}

function sameValues(values: string[], looked: unknown[] | null): boolean {
  if (looked === null) return false
  for (let i = 0; i < values.length; i++) if (values[i] !== looked[i]) return false
  return true
}

/**
 * Resolves a labels object to its series' slot on the JS side: nested levels (`Table`) keyed by
 * the label values in declaration order, with single continuations kept as `Suffixes`. The hit
 * path is the resolver (`resolver.ts`); misses come back here to create the series. Label names
 * were validated by Rust before we get here.
 */
export class LabelIndex<L extends string> {
  readonly resolve: (labels: Labels<L>) => number
  /** The root level: a Table from the start, so it never changes type (see `Table`). */
  private readonly root = new Table()
  /** `tails[i]`: suffixes holding the values of levels i.. (index 0 unused: the root has none). */
  private readonly tails: Suffixes[]
  private readonly slots: SlotReserve

  constructor(
    private readonly rt: NativeRuntime,
    private readonly family: number,
    private readonly metric: string,
    private readonly names: readonly L[],
    private readonly width: number,
    private readonly registrar: SeriesRegistrar,
    private readonly prepare: (slot: number, width: number, values: readonly string[]) => void,
    /** The series limit: asked only on the slow path, when a series would be created. */
    readonly guard: CardinalityGuard,
  ) {
    this.slots = new SlotReserve(registrar, family)
    this.tails = names.map((_, i) => new Suffixes(names.length - i + 1))
    this.resolve = makeResolver(names, this.root, this.tails, (l, looked) => this.create(l as Labels<L>, looked))
  }

  /** The label values in declaration order as strings, or null when the object is not exact. */
  private ordered(l: Labels<L>): string[] | null {
    if (l === null || typeof l !== 'object') {
      throw new InvalidLabelError(
        'ERR_DYNAMO_INVALID_LABEL',
        `labels of metric '${this.metric}' must be an object with keys ${this.names.join(', ')}; got ${l === null ? 'null' : typeof l}`,
      )
    }
    if (!ownKeysAre(l, this.names)) return null
    const out: string[] = []
    for (const n of this.names) {
      const t = text(l[n])
      if (t === null) return null
      out.push(t)
    }
    return out
  }

  /**
   * The values the resolver read (`looked`, numbers already as strings) when they are the exact
   * ones {@link ordered} would return, else null. Saves a second read of every value when a
   * series is created.
   */
  private seen(l: Labels<L>, looked: unknown[]): string[] | null {
    for (let i = 0; i < looked.length; i++) if (typeof looked[i] !== 'string') return null
    return ownKeysAre(l, this.names) ? (looked as string[]) : null
  }

  /** A value with a lone surrogate has no UTF-8 form: it could not render as given (checked once, at creation). */
  private checkText(values: string[]): void {
    for (let i = 0; i < values.length; i++) {
      if (!wellFormed(values[i])) {
        throw argError('ERR_DYNAMO_INVALID_LABEL', `metric '${this.metric}'`, `label ${this.names[i]}`, values[i], 'well-formed Unicode (no lone surrogate)')
      }
    }
  }

  private lookup(values: string[]): number | undefined {
    let level = this.root
    for (let i = 0; ; i++) {
      const child = level.get(values[i])
      if (child === undefined || i === values.length - 1) return child as number | undefined
      if (typeof child === 'number') {
        const below = this.tails[i + 1]
        return below.matches(child, values, i + 1) ? below.slot(child) : undefined
      }
      level = child
    }
  }

  private insert(values: string[], slot: number): void {
    let level = this.root
    for (let i = 0; ; i++) {
      const key = values[i]
      if (i === values.length - 1) return level.set(key, slot)
      let child = level.get(key)
      if (child === undefined) return level.set(key, this.tails[i + 1].put(values, i + 1, slot))
      if (typeof child === 'number') {
        // A second continuation below `key`: the suffix becomes a level holding its first value.
        const below = this.tails[i + 1]
        const rest = below.values(child)
        const next = new Table()
        const itsSlot = below.slot(child)
        next.set(rest[0], i + 1 === values.length - 1 ? itsSlot : this.tails[i + 2].put(rest, 1, itsSlot))
        below.release(child)
        level.set(key, next)
        child = next
      }
      level = child
    }
  }

  /** Resolves without counting a folded write: for reads and `labels()`. */
  resolveQuiet(l: Labels<L>): number {
    this.guard.quiet = true
    try {
      return this.resolve(l)
    } finally {
      this.guard.quiet = false
    }
  }

  /** Creates the series of exact `values` (see {@link create}). */
  private add(values: string[]): number {
    const slot = this.slots.next()
    this.registrar.add(this.family, slot, values)
    this.insert(values, slot)
    this.prepare(slot, this.width, values)
    return slot
  }

  /**
   * A new label set past the limit: its writes go to the overflow series (created at the first
   * fold), and the set is not cached, so the index stays bounded and every write with it counts.
   */
  private fold(): number {
    const guard = this.guard
    if (guard.overflowSlot < 0) {
      const marker = guard.marker as string[]
      const written = this.lookup(marker)
      // A set of markers written before the limit was reached becomes the overflow series, which
      // is not counted among the live series.
      if (written !== undefined) guard.live--
      guard.overflowSlot = written ?? this.add(marker)
    }
    guard.folded()
    return guard.overflowSlot
  }

  /**
   * Slow path: normalise, look up again unless the resolver already missed with these values
   * (`looked`), fold past the series limit, else let Rust validate and create the series.
   */
  private create(l: Labels<L>, looked: unknown[] | null): number {
    const values = (looked !== null && this.seen(l, looked)) || this.ordered(l)
    // The resolver skips its lookup for an object it does not count the same way (an inherited
    // enumerable key), and a getter may answer differently the second time: unless the values
    // are the ones the resolver missed with, look before asking Rust for a new series.
    if (values !== null && values !== looked && !sameValues(values, looked)) {
      const hit = this.lookup(values)
      if (hit !== undefined) return hit
    }
    if (values !== null) {
      this.checkText(values)
      this.guard.checkLengths(values)
      if (this.guard.full()) return this.fold()
    }
    if (values !== null && this.registrar.fits(values)) {
      // Exact object: Rust has nothing to validate, so the series takes a reserved slot now and
      // is registered with the others of this turn in one call.
      const added = this.add(values)
      this.guard.live++
      return added
    }
    // Anything else: Rust sees every key and value and throws the precise error.
    const keys = Object.keys(l)
    const raw = keys.map((k) => text((l as Record<string, unknown>)[k]))
    const slot = call(() => this.rt.createSeries(this.family, keys, raw))
    this.guard.live++
    // Rust accepted the set, so `values` is exact now.
    const exact = values ?? this.names.map((n) => text(l[n]) as string)
    this.insert(exact, slot)
    this.prepare(slot, this.width, exact)
    return slot
  }

  /** Forgets one series; returns its slot. Levels left empty are dropped from their parents. */
  delete(l: Labels<L>): number | undefined {
    const values = this.ordered(l)
    return values === null ? undefined : this.deleteValues(values)
  }

  /** Forgets the series of exact `values` (declaration order); returns its slot. */
  deleteValues(values: readonly string[]): number | undefined {
    this.registrar.flush()
    const path: Table[] = []
    let level = this.root
    let slot: number | undefined
    for (let i = 0; ; i++) {
      path.push(level)
      const child = level.get(values[i])
      if (child === undefined) return undefined
      if (i === values.length - 1) {
        slot = child as number
        break
      }
      if (typeof child === 'number') {
        const below = this.tails[i + 1]
        if (!below.matches(child, values, i + 1)) return undefined
        slot = below.slot(child)
        below.release(child)
        break
      }
      level = child
    }
    this.guard.removed(slot)
    for (let i = path.length - 1; i >= 0; i--) {
      path[i].delete(values[i])
      if (path[i].size > 0 || i === 0) break
    }
    return slot
  }

  clear(): void {
    this.registrar.flush()
    this.root.clear()
    for (const t of this.tails) t.clear()
    this.guard.cleared()
  }
}
