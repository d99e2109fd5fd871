import type { FamilyInfo } from './native'

/**
 * Where a series' values sit in its slot range, as Rust lays them out (`series::layout`); every
 * family brings its own. Offsets count from the series' first slot.
 */
export interface SlotLayout {
  /** Slots per series. */
  readonly width: number
  /** The u64 integer lane of a label-less counter (two u32 halves, low first), if it has one. */
  readonly intLane?: number
  /** A histogram's first bucket count: one per bound, then `+Inf`; the count is their sum. */
  readonly buckets?: number
  /** A histogram's sum of observed values. */
  readonly sum?: number
}

/** The offset of a histogram family's sum slot. */
export function sumOffset(info: FamilyInfo): number {
  const sum = info.layout.sum
  if (sum === undefined || sum === null) throw new TypeError(`metric '${info.name}' has no sum slot`)
  return sum
}

/** The offset of a label-less counter family's integer lane. */
export function intLaneOffset(info: FamilyInfo): number {
  const lane = info.layout.intLane
  if (lane === undefined || lane === null) throw new TypeError(`metric '${info.name}' has no integer lane`)
  return lane
}
