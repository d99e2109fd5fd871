import type { FamilyInfo, NativeRuntime } from '../binding/native'
import type { SlabStore } from '../series/slab-store'

/** What every metric object knows about its family. */
export interface MetricDescription {
  /** Full exposition name, e.g. `dynamo_component_requests_total`. */
  readonly name: string
  /** Const labels of the family, auto labels (`dynamo_namespace`, ...) included. */
  readonly constLabels: Readonly<Record<string, string>>
}

/** @internal What a metric object is built from. */
export interface FamilyHandle {
  readonly rt: NativeRuntime
  readonly store: SlabStore
  readonly info: FamilyInfo
  /** The hierarchy level holding it (the root when absent). */
  readonly node?: number
  /** Idle-series expiry of a Vec, as given (Rust checked it). */
  readonly ttlSeconds?: number
}

/** @internal */
export function describe(info: FamilyInfo): MetricDescription {
  return { name: info.name, constLabels: Object.freeze(Object.fromEntries(info.constLabels)) }
}
