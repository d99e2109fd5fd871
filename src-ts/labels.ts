import { call, InvalidLabelError } from './errors'
import { native, type NativeRuntime } from './native'

/** A label value; numbers are rendered with `String(n)`. Strings take the fastest path. */
export type LabelValue = string | number
/** A labels object with exactly the declared label names as keys. */
export type Labels<L extends string> = { readonly [K in L]: LabelValue }

/**
 * A level of the label index. Most prefixes of a high-cardinality label set have exactly one
 * continuation, so a level starts as a one-entry `Leaf` (~40 B) and becomes a `Map` (~200 B empty)
 * only when a second value appears. Both answer `get`, so the generated resolver does not care.
 */
class Leaf {
  constructor(
    readonly k: unknown,
    public v: Tree | number,
  ) {}
  get(key: unknown): Tree | number | undefined {
    return key === this.k ? this.v : undefined
  }
}
type Tree = Map<unknown, Tree | number> | Leaf

/** `values[i..]` as a chain of leaves ending in `slot`. */
function chain(values: string[], i: number, slot: number): Tree | number {
  let node: Tree | number = slot
  for (let j = values.length - 1; j >= i; j--) node = new Leaf(values[j], node)
  return node
}

/** Removes `values[i..]` below `node`; returns the slot and whether `node` became empty. */
function remove(node: Tree, values: string[], i: number): [number | undefined, boolean] {
  const key = values[i]
  const last = i === values.length - 1
  if (node instanceof Leaf) {
    if (node.k !== key) return [undefined, false]
    if (last) return [node.v as number, true]
    return remove(node.v as Tree, values, i + 1)
  }
  const child = node.get(key)
  if (child === undefined) return [undefined, false]
  if (last) {
    node.delete(key)
    return [child as number, node.size === 0]
  }
  const [slot, empty] = remove(child as Tree, values, i + 1)
  if (empty) node.delete(key)
  return [slot, node.size === 0]
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
  private readonly root = new Map<unknown, Tree | number>()
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
    this.resolve = compile(names, this.root, (l: Labels<L>) => this.create(l))
  }

  /** Set by `ordered()`: some value was not a string (so the fast path could not have hit). */
  private converted = false

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
    this.converted = false
    for (const n of this.names) {
      if (!Object.prototype.hasOwnProperty.call(l, n)) return null
      const v = l[n]
      const t = text(v)
      if (t === null) return null
      if (t !== v) this.converted = true
      out.push(t)
    }
    return out
  }

  private lookup(values: string[]): number | undefined {
    let node: Tree | number | undefined = this.root
    for (const v of values) {
      if (node === undefined || typeof node === 'number') return undefined
      node = node.get(v)
    }
    return typeof node === 'number' ? node : undefined
  }

  private insert(values: string[], slot: number): void {
    // Where the current node hangs: a map entry or a leaf, re-linked when a leaf becomes a map.
    let holderMap: Map<unknown, Tree | number> | null = null
    let holderKey: unknown = undefined
    let holderLeaf: Leaf | null = null
    let node: Tree = this.root
    for (let i = 0; i < values.length; i++) {
      const key = values[i]
      if (node instanceof Leaf) {
        if (node.k === key && i < values.length - 1) {
          holderLeaf = node
          holderMap = null
          node = node.v as Tree
          continue
        }
        const m = new Map<unknown, Tree | number>([[node.k, node.v]])
        if (holderLeaf !== null) holderLeaf.v = m
        else holderMap?.set(holderKey, m)
        node = m
      }
      const next = node.get(key)
      if (next === undefined || i === values.length - 1) {
        node.set(key, chain(values, i + 1, slot))
        return
      }
      holderMap = node
      holderKey = key
      holderLeaf = null
      node = next as Tree
    }
  }

  /** Slow path: normalise, look up again, else let Rust validate and create the series. */
  private create(l: Labels<L>): number {
    const values = this.ordered(l)
    // The fast path already looked up exact string values; only converted ones need a second look.
    if (values !== null && this.converted) {
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

  /** Forgets one series; returns its slot. */
  delete(l: Labels<L>): number | undefined {
    const values = this.ordered(l)
    return values === null ? undefined : remove(this.root, values, 0)[0]
  }

  clear(): void {
    this.root.clear()
  }
}

function compile<L extends string>(
  names: readonly L[],
  root: Map<unknown, Tree | number>,
  slow: (l: Labels<L>) => number,
): (l: Labels<L>) => number {
  const n = names.length
  const keys = names.map((k) => JSON.stringify(k))
  // Exactly n enumerable keys and a hit in every level; anything else goes to the slow path,
  // which throws the precise error (missing or unknown key, bad value type).
  let body = `let n = 0; for (const k in l) n++;\nif (n === ${n}) {\n`
  body += `  const m0 = root;\n`
  for (let i = 0; i < n; i++) {
    const last = i === n - 1
    body += `  const ${last ? 's' : `m${i + 1}`} = m${i}.get(l[${keys[i]}]);\n`
    body += last ? `  if (s !== undefined) return s;\n` : `  if (m${i + 1} !== undefined) {\n`
  }
  for (let i = 0; i < n - 1; i++) body += '  }\n'
  body += '}\nreturn slow(l);'
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('root', 'slow', `return function resolve(l) {\n${body}\n}`) as (
    root: Map<unknown, Tree | number>,
    slow: (l: Labels<L>) => number,
  ) => (l: Labels<L>) => number
  return make(root, slow)
}
