/**
 * Where a series' values sit in the slabs: the one TS file that knows the slot layout Rust
 * reads at scrape time (Rust's `Family::width` and its encoder hold the other side). Every
 * offset the metric classes use comes from here, so the contract can be swapped in whole.
 */

/** log2 of the slots per slab; a slot number is `slab << SLAB_SHIFT | offset`. */
export const SLAB_SHIFT = 13
/** Slots (f64) per slab. */
export const SLAB_SIZE = 1 << SLAB_SHIFT
/** The offset bits of a slot number. */
export const OFFSET_MASK = SLAB_SIZE - 1

/** The slab a slot number lives in. */
export function slabOf(slot: number): number {
  return slot >>> SLAB_SHIFT
}

/** A slot number's offset inside its slab. */
export function offsetOf(slot: number): number {
  return slot & OFFSET_MASK
}

/**
 * A histogram series with `bounds` finite bounds: the count of bucket k at `+k`, of `+Inf` at
 * `+bounds`, then the sum. The total count is not stored: it is the buckets' sum.
 */
export function histogramSumOffset(bounds: number): number {
  return bounds + 1
}

/** Buckets of a histogram series with `bounds` finite bounds (`+Inf` included). */
export function histogramBucketSlots(bounds: number): number {
  return bounds + 1
}

/** Observations of the histogram series at `slab[offset..]`: the sum of its buckets. */
export function histogramCountAt(slab: Float64Array, offset: number, bounds: number): number {
  const buckets = histogramBucketSlots(bounds)
  let count = 0
  for (let k = 0; k < buckets; k++) count += slab[offset + k] ?? 0
  return count
}

/**
 * A label-less counter Rust gave an integer lane: the slot after its f64 value holds a u64 that
 * Rust adds to it when it renders, written from JS as two u32 halves (little-endian, like every
 * Node target). Returns the u32 index of the low half for a series at `offset`.
 */
export function laneIndex(offset: number): number {
  return (offset + 1) * 2
}

/** The u32 view of a slab, for the integer lanes. */
export function laneView(slab: Float64Array): Uint32Array {
  return new Uint32Array(slab.buffer, slab.byteOffset, slab.length * 2)
}
