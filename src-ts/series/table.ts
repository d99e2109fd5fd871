/**
 * What a level of the label index maps a label value to: the next level, the slot (last level),
 * or a suffix number (see `Suffixes`): `>= 0` a tail, `< 0` `~slot` of the default suffix.
 */
export type Child = Table | number

/**
 * Up to this many values a level is a list scanned with `===`: for the few values most labels
 * take (methods, status codes, models) that beats a `Map`, whose hashing is a builtin call.
 */
const LIST_AT = 8

/**
 * Past this many values a level moves from a `Map` to its own hash table: a `Map` finds a key
 * through the hash V8 caches in the string, so it is the faster lookup, but each entry costs
 * more memory than a slot of the table.
 */
const TABLE_AT = 4096

/**
 * A hash-form level below this many slots grows 4x, then 2x: each growth re-places every key,
 * and while the table is small so is the memory a larger step leaves unused.
 */
const GROW_4X_BELOW = 65536

/** A slot's hash word: never used, deleted (lookups probe past it), else the key's hash (>= 2). */
const EMPTY = 0
const GONE = 1
const NO_HASHES = new Int32Array(0)

/**
 * An empty (or `n` undefined) array of the one elements kind every index array has all its life:
 * a fresh `[]` starts as small integers and changes kind on its first key, and code optimised
 * for one kind deoptimises on the other.
 */
export function holey(n: number): unknown[] {
  const a = new Array<unknown>(Math.max(n, 1)).fill(undefined)
  a.length = n
  return a
}

/**
 * One level of the index, in one of three forms as it grows: a list (keys and children
 * interleaved in `entries`, scanned), a `Map`, then an open-addressing hash table (keys and
 * children interleaved in `entries`, the keys' hashes in an `Int32Array`, at most 80% full). A
 * probe compares hashes before touching a key, so it does not load the other keys' strings, and
 * growing never rehashes a string. The hash is computed in JS (V8 does not expose its own); its
 * seed is random per table, so label values chosen to collide in one process do not collide in
 * another.
 *
 * Every level is this one class whatever its form, so each lookup in the resolver sees one
 * receiver type: a level that changed type under it would deoptimise the resolver of every
 * family that grows.
 */
export class Table {
  size = 0
  /** The `Map` form; null in the list and hash forms. */
  private map: Map<unknown, Child> | null = null
  /** Live keys plus tombstones (hash form). */
  private used = 0
  /** Hash form: capacity - 1; 0 in the list and `Map` forms. */
  private mask = 0
  private hashes = NO_HASHES
  private entries = holey(0)
  private seed = 0
  /**
   * The last key hashed and its hash: creating a series looks its key up several times. Always a
   * string (a field that is sometimes undefined deoptimised the compare for every new table).
   */
  private lastKey = ''
  private lastHash = 0

  /** Empties the level back to its list form. */
  clear(): void {
    this.map = null
    this.size = 0
    this.used = 0
    this.mask = 0
    this.hashes = NO_HASHES
    this.entries = holey(0)
  }

  /** List form: the index in `entries` of `key`, or -1. */
  private at(key: unknown): number {
    const entries = this.entries
    for (let i = 0; i < entries.length; i += 2) if (entries[i] === key) return i
    return -1
  }

  /** List form to `Map` form. */
  private toMap(): void {
    const entries = this.entries
    const map = new Map<unknown, Child>()
    for (let i = 0; i < entries.length; i += 2) map.set(entries[i], entries[i + 1] as Child)
    this.entries = holey(0)
    this.map = map
  }

  /** `Map` form to hash form. */
  private spill(): void {
    const from = this.map as Map<unknown, Child>
    this.map = null
    this.size = 0
    // `| 0`: an int32 stays a small integer in the field; `>>> 0` made half the seeds doubles.
    this.seed = (Math.random() * 0x1_0000_0000) | 0
    this.lastKey = ''
    this.lastHash = this.fresh('')
    let cap = 16
    while (from.size * 5 >= cap * 4) cap *= 2
    this.resize(cap)
    for (const [key, child] of from) this.set(key as string, child)
  }

  private hash(key: string): number {
    if (key === this.lastKey) return this.lastHash
    this.lastKey = key
    this.lastHash = this.fresh(key)
    return this.lastHash
  }

  private fresh(key: string): number {
    let h = this.seed ^ 0x811c9dc5
    for (let j = 0; j < key.length; j++) h = Math.imul(h ^ key.charCodeAt(j), 0x01000193)
    // FNV's low bits (the ones the mask keeps) mix poorly on their own.
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    return ((h ^ (h >>> 13)) & 0x3fffffff) + 2
  }

  /** Hash form: the slot holding `key` (whose hash is `keyHash`), or -1. */
  private find(key: string, keyHash: number): number {
    const hashes = this.hashes
    const mask = this.mask
    for (let i = keyHash & mask; ; i = (i + 1) & mask) {
      const h = hashes[i]
      if (h === keyHash && this.entries[i * 2] === key) return i
      if (h === EMPTY) return -1
    }
  }

  get(key: unknown): Child | undefined {
    if (this.mask === 0) {
      const map = this.map
      if (map !== null) return map.get(key)
      const i = this.at(key)
      return i < 0 ? undefined : (this.entries[i + 1] as Child)
    }
    if (typeof key !== 'string') return undefined
    const i = this.find(key, this.hash(key))
    return i < 0 ? undefined : (this.entries[i * 2 + 1] as Child)
  }

  set(key: string, child: Child): void {
    if (this.mask === 0) {
      if (this.map === null) {
        const i = this.at(key)
        if (i >= 0) {
          this.entries[i + 1] = child
          return
        }
        if (this.size < LIST_AT) {
          this.entries.push(key, child)
          this.size++
          return
        }
        this.toMap()
      }
      const map = this.map as Map<unknown, Child>
      map.set(key, child)
      this.size = map.size
      if (map.size > TABLE_AT) this.spill()
      return
    }
    const keyHash = this.hash(key)
    const at = this.find(key, keyHash)
    if (at >= 0) {
      this.entries[at * 2 + 1] = child
      return
    }
    if ((this.used + 1) * 5 > (this.mask + 1) * 4) {
      // Grows when live keys fill over 40%, else only drops the tombstones.
      const cap = this.mask + 1
      this.resize(this.size * 5 >= cap * 2 ? cap * (cap < GROW_4X_BELOW ? 4 : 2) : cap)
    }
    this.place(key, child, keyHash)
  }

  private place(key: unknown, child: unknown, keyHash: number): void {
    const hashes = this.hashes
    const mask = this.mask
    let i = keyHash & mask
    while (hashes[i] > GONE) i = (i + 1) & mask
    if (hashes[i] === EMPTY) this.used++
    hashes[i] = keyHash
    this.entries[i * 2] = key
    this.entries[i * 2 + 1] = child
    this.size++
  }

  delete(key: string): boolean {
    if (this.mask === 0) {
      const map = this.map
      if (map !== null) {
        const had = map.delete(key)
        this.size = map.size
        return had
      }
      const i = this.at(key)
      if (i < 0) return false
      // The last pair fills the hole: order does not matter to a lookup.
      const entries = this.entries
      const last = entries.length - 2
      entries[i] = entries[last]
      entries[i + 1] = entries[last + 1]
      entries.length = last
      this.size--
      return true
    }
    const i = this.find(key, this.hash(key))
    if (i < 0) return false
    this.hashes[i] = GONE
    this.entries[i * 2] = undefined
    this.entries[i * 2 + 1] = undefined
    this.size--
    return true
  }

  private resize(cap: number): void {
    const oldHashes = this.hashes
    const oldEntries = this.entries
    this.mask = cap - 1
    this.hashes = new Int32Array(cap)
    this.entries = holey(cap * 2)
    this.size = 0
    this.used = 0
    for (let i = 0; i < oldHashes.length; i++) {
      if (oldHashes[i] > GONE) this.place(oldEntries[i * 2], oldEntries[i * 2 + 1], oldHashes[i])
    }
  }
}
