/**
 * Where a series' values sit in the slabs. The offsets inside a series come from Rust
 * (`series::layout`, handed over per family as `FamilyInfo.layout`, read in `binding/layout.ts`);
 * this file adds the slab addressing that only JS uses.
 *
 * No re-exports here: tsc compiles `export { x } from` to a getter on `exports`, which turns this
 * module's exports object into a dictionary, and every `SLAB_SHIFT` / `OFFSET_MASK` read on the
 * update path then becomes a generic property lookup instead of a constant.
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
 * A label-less counter Rust gave an integer lane: the slot at `laneAt` (`intLaneOffset`) holds a
 * u64 that Rust adds to its f64 value when it renders, written from JS as two u32 halves
 * (little-endian, like every Node target). Returns the u32 index of the low half.
 */
export function laneIndex(offset: number, laneAt: number): number {
  return (offset + laneAt) * 2
}

/** The u32 view of a slab, for the integer lanes. */
export function laneView(slab: Float64Array): Uint32Array {
  return new Uint32Array(slab.buffer, slab.byteOffset, slab.length * 2)
}
