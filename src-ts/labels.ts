import { call, InvalidLabelError } from './errors'
import { native, type NativeRuntime } from './native'

/** A label value; numbers are rendered with `String(n)`. Strings take the fastest path. */
export type LabelValue = string | number
/** A labels object with exactly the declared label names as keys. */
export type Labels<L extends string> = { readonly [K in L]: LabelValue }

/**
 * A node of the label index: a Map from the value at its level to the next node, or at the last
 * level to the slot. High-cardinality label sets mostly have one continuation below some level,
 * so such a continuation (a *suffix*: the remaining values and the slot) is not a chain of
 * one-entry Maps but a number in the parent Map:
 *
 * - `>= 0`: a tail, an index into the level's flat array of suffixes (16 B per series for two
 *   labels, where an object per level cost ~40 B);
 * - `< 0`: `~slot`, when the remaining values equal the level's *default suffix* (the first
 *   suffix the level ever stored): `{worker_id: unique, model: 'llama-3'}` then costs nothing
 *   beyond the root Map entry.
 *
 * A suffix becomes a Map when a second continuation appears.
 */
type Node = Map<unknown, Node | number>

/** The suffixes that start at one level: `stride` = remaining values + 1 (the slot) per tail. */
class Suffixes {
  /** Tails, `stride` entries each. */
  readonly a: unknown[] = []
  /** The default suffix's values (empty until the first suffix is stored). */
  readonly d: unknown[] = []
  private readonly free: number[] = []
  constructor(readonly stride: number) {}

  /** Stores `values[from..]` ending in `slot`; returns the number the parent Map holds. */
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

function hasNul(values: string[]): boolean {
  for (const v of values) if (v.includes('\0')) return true
  return false
}

/**
 * Resolves a labels object to its series' slot on the JS side: nested Maps keyed by the label
 * values in declaration order. The resolver is generated per label-name list so each property
 * read is a monomorphic named load; label names were validated by Rust before we get here.
 */
export class SeriesIndex<L extends string> {
  readonly resolve: (labels: Labels<L>) => number
  private readonly root: Node = new Map()
  /** `tails[i]`: suffixes holding the values of levels i.. (index 0 unused: the root is a Map). */
  private readonly tails: Suffixes[]
  private readonly handle: NativeRuntime['handle']

  constructor(
    private readonly rt: NativeRuntime,
    private readonly family: number,
    private readonly metric: string,
    private readonly names: readonly L[],
    private readonly width: number,
    private readonly prepare: (slot: number, width: number) => void,
  ) {
    this.handle = rt.handle
    this.tails = names.map((_, i) => new Suffixes(names.length - i + 1))
    this.resolve = compile(names, this.root, this.tails, (l: Labels<L>) => this.create(l))
  }

  /** The label values in declaration order as strings, or null when the object is not exact. */
  private ordered(l: Labels<L>): string[] | null {
    if (l === null || typeof l !== 'object') {
      throw new InvalidLabelError(
        'ERR_DYNAMO_INVALID_LABEL',
        `labels of metric '${this.metric}' must be an object with keys ${this.names.join(', ')}; got ${l === null ? 'null' : typeof l}`,
      )
    }
    let keys = 0
    for (const k in l) if (Object.prototype.hasOwnProperty.call(l, k)) keys++
    if (keys !== this.names.length) return null
    const out: string[] = []
    for (const n of this.names) {
      if (!Object.prototype.hasOwnProperty.call(l, n)) return null
      const t = text(l[n])
      if (t === null) return null
      out.push(t)
    }
    return out
  }

  private lookup(values: string[]): number | undefined {
    let node: Node = this.root
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
    let node: Node = this.root
    for (let i = 0; ; i++) {
      const key = values[i]
      if (i === values.length - 1) {
        node.set(key, slot)
        return
      }
      let c = node.get(key)
      if (c === undefined) {
        node.set(key, this.tails[i + 1].put(values, i + 1, slot))
        return
      }
      if (typeof c === 'number') {
        // A second continuation below `key`: the suffix becomes a Map holding its first value.
        const t = this.tails[i + 1]
        const rest = t.values(c)
        const m: Node = new Map()
        m.set(rest[0], i + 1 === values.length - 1 ? t.slot(c) : this.tails[i + 2].put(rest, 1, t.slot(c)))
        t.release(c)
        node.set(key, m)
        c = m
      }
      node = c
    }
  }

  /** Slow path: normalise, look up again, else let Rust validate and create the series. */
  private create(l: Labels<L>): number {
    const values = this.ordered(l)
    // The resolver may have missed an existing series for an object it does not count the same
    // way (an inherited enumerable key): look again before asking Rust for a new one.
    if (values !== null) {
      const hit = this.lookup(values)
      if (hit !== undefined) return hit
    }
    let slot: number
    if (values !== null && !hasNul(values)) {
      // Exact object: one plain native call with the values joined (the cheapest crossing).
      slot = call(() => native.createSeriesJoined(this.handle, this.family, values.join('\0')))
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

  /** Forgets one series; returns its slot. Maps left empty are dropped from their parents. */
  delete(l: Labels<L>): number | undefined {
    const values = this.ordered(l)
    if (values === null) return undefined
    const path: Node[] = []
    let node: Node = this.root
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
    this.root.clear()
    for (const t of this.tails) t.clear()
  }
}

function compile<L extends string>(
  names: readonly L[],
  root: Node,
  tails: Suffixes[],
  slow: (l: Labels<L>) => number,
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
  const body = `let n = 0; for (const k in l) n++;\nif (n === ${n}) {\n${read}  const m0 = root;\n${level(0, '  ')}}\nreturn slow(l);`
  const params = ['root', ...names.map((_, i) => `T${i}`), ...names.map((_, i) => `D${i}`), 'slow']
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(...params, `return function resolve(l) {\n${body}\n}`) as (
    ...args: unknown[]
  ) => (l: Labels<L>) => number
  return make(root, ...tails.map((t) => t.a), ...tails.map((t) => t.d), slow)
}
