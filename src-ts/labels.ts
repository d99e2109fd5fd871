import { call, InvalidLabelError } from './errors'
import type { NativeRuntime } from './native'

/** A label value; numbers are rendered with `String(n)`. Strings take the fastest path. */
export type LabelValue = string | number
/** A labels object with exactly the declared label names as keys. */
export type Labels<L extends string> = { readonly [K in L]: LabelValue }

type Tree = Map<unknown, Tree | number>

function text(v: unknown): string | null {
  switch (typeof v) {
    case 'string':
      return v
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v)
    default:
      return null
  }
}

/**
 * Resolves a labels object to its series' slot on the JS side: nested Maps keyed by the label
 * values in declaration order. The resolver is generated per label-name list so each property
 * read is a monomorphic named load; label names were validated by Rust before we get here.
 */
export class SeriesIndex<L extends string> {
  readonly resolve: (labels: Labels<L>) => number
  private readonly root: Tree = new Map()

  constructor(
    private readonly rt: NativeRuntime,
    private readonly family: number,
    private readonly metric: string,
    private readonly names: readonly L[],
    private readonly width: number,
    private readonly prepare: (slot: number, width: number) => void,
  ) {
    this.resolve = compile(names, this.root, (l: Labels<L>) => this.create(l))
  }

  /** The label values in declaration order as strings, or null when the object is not exact. */
  private ordered(l: Labels<L>): string[] | null {
    if (l === null || typeof l !== 'object') {
      throw new InvalidLabelError(
        'ERR_DYNAMO_INVALID_LABEL',
        `labels of metric '${this.metric}' must be an object with keys ${this.names.join(', ')}; got ${l === null ? 'null' : typeof l}`,
      )
    }
    if (Object.keys(l).length !== this.names.length) return null
    const out: string[] = []
    for (const n of this.names) {
      if (!Object.prototype.hasOwnProperty.call(l, n)) return null
      const t = text(l[n])
      if (t === null) return null
      out.push(t)
    }
    return out
  }

  /** The slot of an existing series, without creating one. */
  find(l: Labels<L>): number | undefined {
    const values = this.ordered(l)
    return values === null ? undefined : this.lookup(values)
  }

  private lookup(values: string[]): number | undefined {
    let node: Tree | number | undefined = this.root
    for (const v of values) {
      if (node === undefined || typeof node === 'number') return undefined
      node = node.get(v)
    }
    return typeof node === 'number' ? node : undefined
  }

  /** Slow path: normalise, look up again, else let Rust validate and create the series. */
  private create(l: Labels<L>): number {
    const values = this.ordered(l)
    if (values !== null) {
      const hit = this.lookup(values)
      if (hit !== undefined) return hit
    }
    const keys = Object.keys(l)
    const raw = keys.map((k) => text((l as Record<string, unknown>)[k]))
    const slot = call(() => this.rt.createSeries(this.family, keys, raw))
    // Rust accepted the set, so `values` is exact now.
    const exact = values ?? this.names.map((n) => text(l[n]) as string)
    let node = this.root
    for (let i = 0; i < exact.length - 1; i++) {
      let next = node.get(exact[i]) as Tree | undefined
      if (next === undefined) {
        next = new Map()
        node.set(exact[i], next)
      }
      node = next
    }
    node.set(exact[exact.length - 1], slot)
    this.prepare(slot, this.width)
    return slot
  }

  /** Forgets one series; returns its slot. */
  delete(l: Labels<L>): number | undefined {
    const values = this.ordered(l)
    if (values === null) return undefined
    const path: Tree[] = []
    let node: Tree = this.root
    for (let i = 0; i < values.length - 1; i++) {
      const next = node.get(values[i])
      if (next === undefined || typeof next === 'number') return undefined
      path.push(node)
      node = next
    }
    const slot = node.get(values[values.length - 1])
    if (typeof slot !== 'number') return undefined
    node.delete(values[values.length - 1])
    // Prune emptied inner maps so removed label sets leave nothing behind.
    for (let i = path.length - 1; i >= 0 && node.size === 0; i--) {
      path[i].delete(values[i])
      node = path[i]
    }
    return slot
  }

  clear(): void {
    this.root.clear()
  }
}

function compile<L extends string>(
  names: readonly L[],
  root: Tree,
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
    root: Tree,
    slow: (l: Labels<L>) => number,
  ) => (l: Labels<L>) => number
  return make(root, slow)
}
