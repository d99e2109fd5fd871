import type { Suffixes } from './suffixes'
import type { Table } from './table'

/** Resolves a labels object to its series' slot; misses go to the index's slow path. */
export type Resolver = (labels: object) => number

/**
 * The index's slow path: `looked` are the values a resolver read and missed with (numbers as
 * strings), or null when the object did not have exactly the declared number of keys.
 */
export type SlowPath = (labels: object, looked: unknown[] | null) => number

let codegenAllowed: boolean | undefined

/**
 * Whether this process may compile code from strings: not under
 * `node --disallow-code-generation-from-strings` (or a policy that forbids it). Asked once.
 */
export function canGenerateCode(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function('return true')() === true
    } catch {
      codegenAllowed = false
    }
  }
  return codegenAllowed
}

/**
 * The resolver of one label-name list: generated code where the process allows it (each label
 * read is then a monomorphic named load and every level test is inlined), else a closure over
 * the same levels.
 */
export function makeResolver(names: readonly string[], root: Table, suffixes: Suffixes[], slow: SlowPath): Resolver {
  return canGenerateCode() ? generatedResolver(names, root, suffixes, slow) : closureResolver(names, root, suffixes, slow)
}

/**
 * The source of the generated resolver's body. Its parameters: `root`, `T0..` (each level's
 * tails array), `D0..` (each level's default suffix) and `slow`.
 */
export function resolverSource(names: readonly string[]): string {
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
    if (i === n - 1) return `${pad}const s = m${i}.get(${key(i)});\n${pad}if (s !== undefined) return s;\n`
    const c = `c${i + 1}`
    const stride = n - i
    const rest = names.slice(i + 1).map((_, j) => key(i + 1 + j))
    const tail = rest.map((k, j) => `T${i + 1}[t + ${j}] === ${k}`).join(' && ')
    const dflt = rest.map((k, j) => `D${i + 1}[${j}] === ${k}`).join(' && ')
    let out = `${pad}const ${c} = m${i}.get(${key(i)});\n`
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
  const looked = names.map((_, i) => key(i)).join(', ')
  return `let n = 0; for (const k in l) n++;\nif (n === ${n}) {\n${read}  const m0 = root;\n${level(0, '  ')}  return slow(l, [${looked}]);\n}\nreturn slow(l, null);`
}

function generatedResolver(names: readonly string[], root: Table, suffixes: Suffixes[], slow: SlowPath): Resolver {
  const params = ['root', ...names.map((_, i) => `T${i}`), ...names.map((_, i) => `D${i}`), 'slow']
  const make = new Function(...params, `return function resolve(l) {\n${resolverSource(names)}\n}`) as (
    ...args: unknown[]
  ) => Resolver
  return make(root, ...suffixes.map((s) => s.tails), ...suffixes.map((s) => s.defaults), slow)
}

/** Index key of a label value: numbers as their string form, like the generated code. */
function keyOf(v: unknown): unknown {
  return typeof v === 'number' ? String(v) : v
}

function countKeys(l: object): number {
  let n = 0
  for (const _ in l) n++
  return n
}

/**
 * The same walk as the generated code, for processes that may not compile from strings. One and
 * two labels (most Vecs) get their own closures with the values in locals.
 */
function closureResolver(names: readonly string[], root: Table, suffixes: Suffixes[], slow: SlowPath): Resolver {
  const n = names.length
  if (n === 1) {
    const [a] = names
    return (l) => {
      if (countKeys(l) !== 1) return slow(l, null)
      const k0 = keyOf((l as Record<string, unknown>)[a])
      const s = root.get(k0)
      return s !== undefined ? (s as number) : slow(l, [k0])
    }
  }
  if (n === 2) {
    const [a, b] = names
    const below = suffixes[1]
    return (l) => {
      if (countKeys(l) !== 2) return slow(l, null)
      const k0 = keyOf((l as Record<string, unknown>)[a])
      const k1 = keyOf((l as Record<string, unknown>)[b])
      const c = root.get(k0)
      if (typeof c === 'number') {
        if (c < 0 ? below.defaults[0] === k1 : below.tails[c * 2] === k1) return below.slot(c)
      } else if (c !== undefined) {
        const s = c.get(k1)
        if (s !== undefined) return s as number
      }
      return slow(l, [k0, k1])
    }
  }
  return (l) => {
    if (countKeys(l) !== n) return slow(l, null)
    const keys: unknown[] = []
    for (let i = 0; i < n; i++) keys.push(keyOf((l as Record<string, unknown>)[names[i]]))
    let level = root
    for (let i = 0; ; i++) {
      const c = level.get(keys[i])
      if (c === undefined) break
      if (i === n - 1) return c as number
      if (typeof c === 'number') {
        const below = suffixes[i + 1]
        if (below.matches(c, keys as string[], i + 1)) return below.slot(c)
        break
      }
      level = c
    }
    return slow(l, keys)
  }
}
