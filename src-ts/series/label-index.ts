import { call, InvalidLabelError } from '../errors'
import { native, type NativeRuntime } from '../native'
import { type PendingSeries, RESERVE_MAX } from './registrar'

/** A label value; numbers are rendered with `String(n)`. Strings take the fastest path. */
export type LabelValue = string | number
/** A labels object with exactly the declared label names as keys. */
export type Labels<L extends string> = { readonly [K in L]: LabelValue }

/**
 * A level of the label index: a {@link Table} from the value at its level to the next level, or
 * at the last level to the slot. High-cardinality label sets mostly have one continuation below
 * some level, so such a continuation (a *suffix*: the remaining values and the slot) is not a
 * chain of one-entry levels but a number in the parent:
 *
 * - `>= 0`: a tail, an index into the level's flat array of suffixes (16 B per series for two
 *   labels, where an object per level cost ~40 B);
 * - `< 0`: `~slot`, when the remaining values equal the level's *default suffix* (the first
 *   suffix the level ever stored): `{worker_id: unique, model: 'llama-3'}` then costs nothing
 *   beyond the root entry.
 *
 * A suffix becomes a Table when a second continuation appears.
 */
type Child = Table | number

/**
 * Up to this many values a level is a list scanned with `===`: for the few values most labels
 * take (methods, status codes, models) that beats a `Map` lookup (measured 2-3x faster at 4
 * values), whose hashing and bucket walk is a builtin call.
 */
const LIST_AT = 8

/**
 * A level holding more than this many values moves from a `Map` to its own hash table: a `Map`
 * finds a key through the hash V8 caches in the string, so it is the faster lookup, but each
 * entry costs ~37 B on a 64-bit heap; the table costs ~26 B.
 */
const TABLE_AT = 4096

/**
 * A hash-form level below this many slots grows 4x, then 2x: each growth re-places every key
 * (~35 ns each, measured), and while the table is small so is the memory a larger step leaves
 * unused (at most 1.3 MB).
 */
const GROW_4X_BELOW = 65536

/** A slot's hash word: never used, deleted (lookups probe past it), else the key's hash (>= 2). */
const EMPTY = 0
const GONE = 1
const NO_HASHES = new Int32Array(0)

/**
 * One level of the index, in one of three forms as it grows: a list (keys and children
 * interleaved in `a`, scanned), a `Map`, then an open-addressing hash table (keys and children
 * interleaved in `a`, the keys' hashes in an `Int32Array`: 20 B per slot, at most 80% full). A
 * probe compares hashes before touching a key, so it does not load the other keys' strings (a
 * cache miss each), and growing never rehashes a string. The hash is computed in JS (V8 does not
 * expose its own); its seed is random per table, so label values chosen to collide in one process
 * do not collide in another.
 *
 * Every level is this one class whatever its form, so each lookup in the resolver sees one
 * receiver type: a level that changed type under it would deoptimise the resolver of every
 * family that grows (~150 ns per new series, measured when the root moved from a Map).
 */
class Table {
  size = 0
  /** The `Map` form; null in the list and hash forms. */
  private m: Map<unknown, Child> | null = null
  /** Live keys plus tombstones (hash form). */
  private used = 0
  /** Hash form: capacity - 1; 0 in the list and `Map` forms. */
  private mask = 0
  private h = NO_HASHES
  private a = holey(0)
  private seed = 0
  /**
   * The last key hashed and its hash: creating a series looks its key up four times. Always a
   * string (a field that is sometimes undefined deoptimised the compare for every new table).
   */
  private lk = ''
  private lh = 0

  /** Empties the level back to its list form. */
  clear(): void {
    this.m = null
    this.size = 0
    this.used = 0
    this.mask = 0
    this.h = NO_HASHES
    this.a = holey(0)
  }

  /** List form: the index in `a` of `k`'s key, or -1. */
  private at(k: unknown): number {
    const a = this.a
    for (let i = 0; i < a.length; i += 2) if (a[i] === k) return i
    return -1
  }

  /** List form to `Map` form. */
  private toMap(): void {
    const a = this.a
    const m = new Map<unknown, Child>()
    for (let i = 0; i < a.length; i += 2) m.set(a[i], a[i + 1] as Child)
    this.a = holey(0)
    this.m = m
  }

  /** `Map` form to hash form. */
  private spill(): void {
    const from = this.m as Map<unknown, Child>
    this.m = null
    this.size = 0
    // `| 0`: an int32 stays a small integer in the field; `>>> 0` made half the seeds doubles.
    this.seed = (Math.random() * 0x1_0000_0000) | 0
    this.lk = ''
    this.lh = this.fresh('')
    let cap = 16
    while (from.size * 5 >= cap * 4) cap *= 2
    this.resize(cap)
    for (const [k, v] of from) this.set(k as string, v)
  }

  private hash(k: string): number {
    if (k === this.lk) return this.lh
    this.lk = k
    this.lh = this.fresh(k)
    return this.lh
  }

  private fresh(k: string): number {
    let h = this.seed ^ 0x811c9dc5
    for (let j = 0; j < k.length; j++) h = Math.imul(h ^ k.charCodeAt(j), 0x01000193)
    // FNV's low bits (the ones the mask keeps) mix poorly on their own.
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    return ((h ^ (h >>> 13)) & 0x3fffffff) + 2
  }

  /** Hash form: the slot holding `k` (whose hash is `hk`), or -1. */
  private find(k: string, hk: number): number {
    const h = this.h
    const mask = this.mask
    for (let i = hk & mask; ; i = (i + 1) & mask) {
      const x = h[i]
      if (x === hk && this.a[i * 2] === k) return i
      if (x === EMPTY) return -1
    }
  }

  get(k: unknown): Child | undefined {
    if (this.mask === 0) {
      const m = this.m
      if (m !== null) return m.get(k)
      const i = this.at(k)
      return i < 0 ? undefined : (this.a[i + 1] as Child)
    }
    if (typeof k !== 'string') return undefined
    const i = this.find(k, this.hash(k))
    return i < 0 ? undefined : (this.a[i * 2 + 1] as Child)
  }

  set(k: string, v: Child): void {
    if (this.mask === 0) {
      if (this.m === null) {
        const i = this.at(k)
        if (i >= 0) {
          this.a[i + 1] = v
          return
        }
        if (this.size < LIST_AT) {
          this.a.push(k, v)
          this.size++
          return
        }
        this.toMap()
      }
      const m = this.m as Map<unknown, Child>
      m.set(k, v)
      this.size = m.size
      if (m.size > TABLE_AT) this.spill()
      return
    }
    const hk = this.hash(k)
    const at = this.find(k, hk)
    if (at >= 0) {
      this.a[at * 2 + 1] = v
      return
    }
    if ((this.used + 1) * 5 > (this.mask + 1) * 4) {
      // Grows when live keys fill over 40%, else only drops the tombstones.
      const cap = this.mask + 1
      this.resize(this.size * 5 >= cap * 2 ? cap * (cap < GROW_4X_BELOW ? 4 : 2) : cap)
    }
    this.place(k, v, hk)
  }

  private place(k: unknown, v: unknown, hk: number): void {
    const h = this.h
    const mask = this.mask
    let i = hk & mask
    while (h[i] > GONE) i = (i + 1) & mask
    if (h[i] === EMPTY) this.used++
    h[i] = hk
    this.a[i * 2] = k
    this.a[i * 2 + 1] = v
    this.size++
  }

  delete(k: string): boolean {
    if (this.mask === 0) {
      const m = this.m
      if (m !== null) {
        const had = m.delete(k)
        this.size = m.size
        return had
      }
      const i = this.at(k)
      if (i < 0) return false
      // The last pair fills the hole: order does not matter to a lookup.
      const a = this.a
      const last = a.length - 2
      a[i] = a[last]
      a[i + 1] = a[last + 1]
      a.length = last
      this.size--
      return true
    }
    const i = this.find(k, this.hash(k))
    if (i < 0) return false
    this.h[i] = GONE
    this.a[i * 2] = undefined
    this.a[i * 2 + 1] = undefined
    this.size--
    return true
  }

  private resize(cap: number): void {
    const oh = this.h
    const oa = this.a
    this.mask = cap - 1
    this.h = new Int32Array(cap)
    this.a = holey(cap * 2)
    this.size = 0
    this.used = 0
    for (let i = 0; i < oh.length; i++) if (oh[i] > GONE) this.place(oa[i * 2], oa[i * 2 + 1], oh[i])
  }
}

/** The suffixes that start at one level: `stride` = remaining values + 1 (the slot) per tail. */
class Suffixes {
  /** Tails, `stride` entries each. */
  readonly a = holey(0)
  /** The default suffix's values (empty until the first suffix is stored). */
  readonly d = holey(0)
  private readonly free: number[] = []
  constructor(readonly stride: number) {}

  /** Stores `values[from..]` ending in `slot`; returns the number the parent level holds. */
  put(values: string[], from: number, slot: number): number {
    if (this.d.length === 0) for (let j = from; j < values.length; j++) this.d.push(values[j])
    if (this.matches(-1, values, from)) return ~slot
    const id = this.free.length > 0 ? (this.free.pop() as number) : this.a.length / this.stride
    let o = id * this.stride
    for (let j = from; j < values.length; j++) this.a[o++] = values[j]
    this.a[o] = slot
    return id
  }
  /** Whether suffix `c` holds `values[from..]`. */
  matches(c: number, values: string[], from: number): boolean {
    const arr = c < 0 ? this.d : this.a
    const o = (c < 0 ? 0 : c * this.stride) - from
    for (let j = from; j < values.length; j++) if (arr[o + j] !== values[j]) return false
    return true
  }
  slot(c: number): number {
    return c < 0 ? ~c : (this.a[c * this.stride + this.stride - 1] as number)
  }
  /** The values of suffix `c` (without the slot). */
  values(c: number): string[] {
    return (c < 0 ? this.d.slice() : this.a.slice(c * this.stride, (c + 1) * this.stride - 1)) as string[]
  }
  release(c: number): void {
    if (c < 0) return
    this.a.fill(undefined, c * this.stride, (c + 1) * this.stride)
    this.free.push(c)
  }
  clear(): void {
    this.a.length = 0
    this.d.length = 0
    this.free.length = 0
  }
}

/**
 * An empty (or `n` undefined) array of the one elements kind every index array has all its life:
 * a fresh `[]` starts as small integers and changes kind on its first key, and code optimised
 * for one kind deoptimises on the other (measured: deopts in every new family's first series).
 */
function holey(n: number): unknown[] {
  const a = new Array<unknown>(Math.max(n, 1)).fill(undefined)
  a.length = n
  return a
}

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
 * for...in with `hasOwnProperty`, both inlined by V8: `propertyIsEnumerable` per name is a C++
 * builtin call (~15 ns each, measured on series creation).
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
 * Resolves a labels object to its series' slot on the JS side: nested levels keyed by the label
 * values in declaration order. The resolver is generated per label-name list so each property
 * read is a monomorphic named load; label names were validated by Rust before we get here.
 */
export class SeriesIndex<L extends string> {
  readonly resolve: (labels: Labels<L>) => number
  /** The root level: a Table from the start, so it never changes type (see {@link Table}). */
  private readonly root = new Table()
  /** `tails[i]`: suffixes holding the values of levels i.. (index 0 unused: the root has none). */
  private readonly tails: Suffixes[]
  private readonly handle: NativeRuntime['handle']
  /** Slots Rust reserved for this family's next series; a reservation doubles up to {@link RESERVE_MAX}. */
  private readonly pool: number[] = []
  private taken = 0
  private ask = 1

  constructor(
    private readonly rt: NativeRuntime,
    private readonly family: number,
    private readonly metric: string,
    private readonly names: readonly L[],
    private readonly width: number,
    private readonly pending: PendingSeries,
    private readonly prepare: (slot: number, width: number) => void,
  ) {
    this.handle = rt.handle
    this.tails = names.map((_, i) => new Suffixes(names.length - i + 1))
    this.resolve = compile(names, this.root, this.tails, (l: Labels<L>, looked: unknown[] | null) => this.create(l, looked))
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

  private lookup(values: string[]): number | undefined {
    let node = this.root
    for (let i = 0; ; i++) {
      const c = node.get(values[i])
      if (c === undefined || i === values.length - 1) return c as number | undefined
      if (typeof c === 'number') {
        const t = this.tails[i + 1]
        return t.matches(c, values, i + 1) ? t.slot(c) : undefined
      }
      node = c
    }
  }

  private insert(values: string[], slot: number): void {
    let node = this.root
    for (let i = 0; ; i++) {
      const key = values[i]
      if (i === values.length - 1) return node.set(key, slot)
      let c = node.get(key)
      if (c === undefined) return node.set(key, this.tails[i + 1].put(values, i + 1, slot))
      if (typeof c === 'number') {
        // A second continuation below `key`: the suffix becomes a level holding its first value.
        const t = this.tails[i + 1]
        const rest = t.values(c)
        const next = new Table()
        next.set(rest[0], i + 1 === values.length - 1 ? t.slot(c) : this.tails[i + 2].put(rest, 1, t.slot(c)))
        t.release(c)
        node.set(key, next)
        c = next
      }
      node = c
    }
  }

  private reserved(): number {
    if (this.taken === this.pool.length) {
      const n = this.ask
      this.ask = Math.min(n * 2, RESERVE_MAX)
      const out = this.pending.slots.subarray(0, n)
      call(() => native.reserveSlots(this.handle, this.family, out))
      this.pool.length = n
      for (let i = 0; i < n; i++) this.pool[i] = out[i]
      this.taken = 0
    }
    return this.pool[this.taken++]
  }

  /**
   * Slow path: normalise, look up again unless the resolver already missed with these values
   * (`looked`), else let Rust validate and create the series.
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
    let slot: number
    if (values !== null && this.pending.fits(values)) {
      // Exact object: Rust has nothing to validate, so the series takes a reserved slot now and
      // is registered with the others of this turn in one call.
      slot = this.reserved()
      this.pending.add(this.family, slot, values)
    } else {
      // Anything else: Rust sees every key and value and throws the precise error.
      const keys = Object.keys(l)
      const raw = keys.map((k) => text((l as Record<string, unknown>)[k]))
      slot = call(() => this.rt.createSeries(this.family, keys, raw))
    }
    // Rust accepted the set, so `values` is exact now.
    this.insert(values ?? this.names.map((n) => text(l[n]) as string), slot)
    this.prepare(slot, this.width)
    return slot
  }

  /** Forgets one series; returns its slot. Levels left empty are dropped from their parents. */
  delete(l: Labels<L>): number | undefined {
    this.pending.flush()
    const values = this.ordered(l)
    if (values === null) return undefined
    const path: Table[] = []
    let node = this.root
    let slot: number | undefined
    for (let i = 0; ; i++) {
      path.push(node)
      const c = node.get(values[i])
      if (c === undefined) return undefined
      if (i === values.length - 1) {
        slot = c as number
        break
      }
      if (typeof c === 'number') {
        const t = this.tails[i + 1]
        if (!t.matches(c, values, i + 1)) return undefined
        slot = t.slot(c)
        t.release(c)
        break
      }
      node = c
    }
    for (let i = path.length - 1; i >= 0; i--) {
      path[i].delete(values[i])
      if (path[i].size > 0 || i === 0) break
    }
    return slot
  }

  clear(): void {
    this.pending.flush()
    this.root.clear()
    for (const t of this.tails) t.clear()
  }
}

function compile<L extends string>(
  names: readonly L[],
  root: Table,
  tails: Suffixes[],
  slow: (l: Labels<L>, looked: unknown[] | null) => number,
): (l: Labels<L>) => number {
  const n = names.length
  // Label values as index keys: numbers become their string form (Rust renders them that way),
  // so `{status: 200}` hits the series of `{status: '200'}` without the slow path.
  const key = (i: number): string => `k${i}`
  const read = names
    .map((name, i) => `  const v${i} = l[${JSON.stringify(name)}], k${i} = typeof v${i} === 'number' ? String(v${i}) : v${i};\n`)
    .join('')
  // Level i's node is m{i}; a number below a non-last level is a suffix of level i+1: a tail in
  // T{i+1} (stride n-i) or, when negative, ~slot for the default suffix D{i+1}.
  const level = (i: number, pad: string): string => {
    const last = i === n - 1
    if (last) return `${pad}const s = m${i}.get(${key(i)});\n${pad}if (s !== undefined) return s;\n`
    const c = `c${i + 1}`
    let out = `${pad}const ${c} = m${i}.get(${key(i)});\n`
    const stride = n - i
    const rest = names.slice(i + 1).map((_, j) => key(i + 1 + j))
    const tail = rest.map((k, j) => `T${i + 1}[t + ${j}] === ${k}`).join(' && ')
    const dflt = rest.map((k, j) => `D${i + 1}[${j}] === ${k}`).join(' && ')
    out += `${pad}if (typeof ${c} === 'number') {\n`
    out += `${pad}  if (${c} < 0) {\n`
    out += `${pad}    if (${dflt}) return ~${c};\n`
    out += `${pad}  } else {\n`
    out += `${pad}    const t = ${c} * ${stride};\n`
    out += `${pad}    if (${tail}) return T${i + 1}[t + ${stride - 1}];\n`
    out += `${pad}  }\n`
    out += `${pad}} else if (${c} !== undefined) {\n`
    out += `${pad}  const m${i + 1} = ${c};\n`
    out += level(i + 1, pad + '  ')
    out += `${pad}}\n`
    return out
  }
  // Exactly n enumerable keys and a hit; anything else goes to the slow path, which throws the
  // precise error (missing or unknown key, bad value type) or creates the series.
  const body = `let n = 0; for (const k in l) n++;\nif (n === ${n}) {\n${read}  const m0 = root;\n${level(0, '  ')}  return slow(l, [${names.map((_, i) => key(i)).join(', ')}]);\n}\nreturn slow(l, null);`
  const params = ['root', ...names.map((_, i) => `T${i}`), ...names.map((_, i) => `D${i}`), 'slow']
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(...params, `return function resolve(l) {\n${body}\n}`) as (
    ...args: unknown[]
  ) => (l: Labels<L>) => number
  return make(root, ...tails.map((t) => t.a), ...tails.map((t) => t.d), slow)
}
