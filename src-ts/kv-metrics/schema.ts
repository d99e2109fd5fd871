import { InvalidValueError } from '../binding/errors'
import { native } from '../binding/native'

/**
 * The `ForwardPassMetrics` validator, built from the field table the Rust core declares (names,
 * groups, rules), so both sides apply the same rules. It writes the values into a flat array
 * (NaN = absent), so the publisher keeps a copy without allocating.
 */
const FIELDS = native.kvMetricsSchema()
export const FIELD_COUNT = FIELDS.length

const KIND_U64 = 0
const KIND_U32 = 1
const KIND_FRACTION = 2
const KIND_LIST = 3
const KINDS: Record<string, number> = { u64: KIND_U64, u32: KIND_U32, fraction: KIND_FRACTION, 'u32[]': KIND_LIST }

interface Compiled {
  group: string
  groupOptional: boolean
  /** First field of its group (the group object is read there). */
  first: boolean
  name: string
  kind: number
  optional: boolean
  rule: string
}

const COMPILED: readonly Compiled[] = FIELDS.map((f, i) => ({
  group: f.group,
  groupOptional: f.groupOptional,
  first: i === 0 || FIELDS[i - 1].group !== f.group,
  name: f.name,
  kind: KINDS[f.kind] ?? KIND_U64,
  optional: f.optional,
  rule: f.rule,
}))

export const INDEX = {
  kvActiveBlocks: COMPILED.findIndex((f) => f.name === 'kvActiveBlocks'),
  kvTotalBlocks: COMPILED.findIndex((f) => f.name === 'kvTotalBlocks'),
  gpuCacheUsagePerc: COMPILED.findIndex((f) => f.name === 'gpuCacheUsagePerc'),
  gpuPrefixCacheHitRate: COMPILED.findIndex((f) => f.name === 'gpuPrefixCacheHitRate'),
  numRequestsWaiting: COMPILED.findIndex((f) => f.name === 'numRequestsWaiting'),
}

function show(v: unknown): string {
  if (v === undefined) return 'it is missing'
  let s: string
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) ?? String(v) : String(v)
  } catch {
    s = String(v)
  }
  return `got ${s.length > 40 ? s.slice(0, 40) + '...' : s}`
}

function fail(path: string, rule: string, v: unknown): InvalidValueError {
  return new InvalidValueError('ERR_DYNAMO_INVALID_VALUE', `ForwardPassMetrics field '${path}' ${rule} (${show(v)})`)
}

const U32_MAX = 4294967295

/**
 * The fast path's field order, checked against the core's table when this module loads: if the
 * core's table changes, importing the package fails until this line does too (no silent drift).
 */
const FAST_ORDER =
  'workerStats.dataParallelRank,workerStats.requestActiveSlots,workerStats.requestTotalSlots,' +
  'workerStats.numRequestsWaiting,kvStats.kvActiveBlocks,kvStats.kvTotalBlocks,kvStats.gpuCacheUsagePerc,' +
  'kvStats.gpuPrefixCacheHitRate,specDecodeStats.numSpecTokens,specDecodeStats.numDrafts,' +
  'specDecodeStats.numDraftTokens,specDecodeStats.numAcceptedTokens,specDecodeStats.numAcceptedTokensPerPos'
const FAST_KINDS = 'u32,u64,u64,u64,u64,u64,fraction,fraction,u32,u32,u32,u32,u32[]'
if (FIELDS.map((f) => `${f.group}.${f.name}`).join(',') !== FAST_ORDER || FIELDS.map((f) => f.kind).join(',') !== FAST_KINDS) {
  throw new Error('dynamo-metrics: the ForwardPassMetrics table of the native addon does not match this build of the JS package')
}

const u64 = (v: unknown): v is number => typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)
const frac = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1

/**
 * Checks `m` and copies its numbers into `out`; returns the `numAcceptedTokensPerPos` list (or
 * undefined). Throws InvalidValueError naming the first bad field. The common shape (no
 * dataParallelRank, no specDecodeStats) is checked by direct property reads (~25 ns); anything
 * else, and every failure, goes through the table-driven reader for its exact message.
 */
export function readMetrics(m: unknown, out: Float64Array): readonly number[] | undefined {
  const x = m as ForwardPassShape | null
  const w = x?.workerStats
  const k = x?.kvStats
  if (
    typeof w === 'object' && w !== null && typeof k === 'object' && k !== null &&
    w.dataParallelRank === undefined && (x!.specDecodeStats === undefined || x!.specDecodeStats === null)
  ) {
    const ras = w.requestActiveSlots
    const rts = w.requestTotalSlots
    const nrw = w.numRequestsWaiting
    const kab = k.kvActiveBlocks
    const ktb = k.kvTotalBlocks
    const gcu = k.gpuCacheUsagePerc
    const gph = k.gpuPrefixCacheHitRate
    if (u64(ras) && u64(rts) && u64(nrw) && u64(kab) && u64(ktb) && frac(gcu) && frac(gph)) {
      out[0] = NaN
      out[1] = ras
      out[2] = rts
      out[3] = nrw
      out[4] = kab
      out[5] = ktb
      out[6] = gcu
      out[7] = gph
      for (let i = 8; i < 13; i++) out[i] = NaN
      return undefined
    }
  }
  return readSlow(m, out)
}

interface ForwardPassShape {
  workerStats?: Record<string, unknown> | null
  kvStats?: Record<string, unknown> | null
  specDecodeStats?: unknown
}

/** Scratch for the slow path: a refused object must leave the caller's values as they were. */
const SCRATCH = new Float64Array(FIELDS.length)

function readSlow(m: unknown, dest: Float64Array): readonly number[] | undefined {
  const out = SCRATCH
  if (typeof m !== 'object' || m === null) {
    throw new InvalidValueError('ERR_DYNAMO_INVALID_VALUE', `ForwardPassMetrics must be an object (${show(m)})`)
  }
  let g: Record<string, unknown> | undefined
  let list: readonly number[] | undefined
  for (let i = 0; i < COMPILED.length; i++) {
    const f = COMPILED[i]
    if (f.first) {
      const gv = (m as Record<string, unknown>)[f.group]
      if (gv === undefined || gv === null) {
        if (!f.groupOptional) throw fail(f.group, 'must be an object', gv)
        g = undefined
      } else if (typeof gv !== 'object') {
        throw fail(f.group, 'must be an object', gv)
      } else {
        g = gv as Record<string, unknown>
      }
    }
    if (g === undefined) {
      out[i] = NaN
      continue
    }
    const v = g[f.name]
    if (v === undefined || v === null) {
      if (!f.optional) throw fail(`${f.group}.${f.name}`, f.rule, v)
      out[i] = NaN
      continue
    }
    switch (f.kind) {
      case KIND_FRACTION:
        if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw fail(`${f.group}.${f.name}`, f.rule, v)
        break
      case KIND_U32:
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > U32_MAX) throw fail(`${f.group}.${f.name}`, f.rule, v)
        break
      case KIND_LIST:
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= U32_MAX)) {
          throw fail(`${f.group}.${f.name}`, f.rule, v)
        }
        list = v as number[]
        out[i] = 0
        continue
      default:
        // u64: JS numbers are exact up to 2^53, which is as far as a number can say.
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw fail(`${f.group}.${f.name}`, f.rule, v)
    }
    out[i] = v
  }
  dest.set(out)
  return list
}

/** Field indices by group, in table order. */
const GROUPS: { name: string; optional: boolean; fields: number[] }[] = []
for (let i = 0; i < COMPILED.length; i++) {
  const f = COMPILED[i]
  if (f.first) GROUPS.push({ name: f.group, optional: f.groupOptional, fields: [] })
  GROUPS[GROUPS.length - 1].fields.push(i)
}

/**
 * The camelCase JSON of values read by `readMetrics` (what the core's flush takes). An optional
 * group with no field set is left out (sent as absent, not as an empty object).
 */
export function metricsJson(values: Float64Array, list: readonly number[] | undefined): string {
  const parts: string[] = []
  for (const g of GROUPS) {
    const fields: string[] = []
    for (const i of g.fields) {
      const v = values[i]
      if (Number.isNaN(v)) continue
      const f = COMPILED[i]
      fields.push(`"${f.name}":${f.kind === KIND_LIST ? JSON.stringify(list ?? []) : String(v)}`)
    }
    if (g.optional && fields.length === 0) continue
    parts.push(`"${g.name}":{${fields.join(',')}}`)
  }
  return `{${parts.join(',')}}`
}
