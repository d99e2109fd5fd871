import { call } from '../errors'
import type { NativeRuntime } from '../native'
import { PendingSeries } from './registrar'

/** log2 of the slots per slab; a slot number is `slab << SHIFT | offset`. */
export const SHIFT = 13
export const SLAB_SIZE = 1 << SHIFT
export const MASK = SLAB_SIZE - 1

/**
 * The JS-allocated Float64Array slabs that hold every metric value. Each slab is handed to Rust
 * once; after that, inc/set/observe are plain typed-array writes that never cross N-API.
 */
export class SlabStore {
  readonly slabs: Float64Array[] = []
  /** The same memory as u32 pairs: the integer lanes of label-less counters (see `LaneCounter`). */
  readonly lanes: Uint32Array[] = []
  /** New series of every family, waiting for their registration with Rust. */
  readonly pending: PendingSeries
  constructor(private readonly rt: NativeRuntime) {
    this.pending = new PendingSeries(rt.handle)
  }

  /** Makes sure the slab of `slot` exists and zeroes the series' slots (a slot may be reused). */
  prepare(slot: number, width: number): Float64Array {
    const k = slot >>> SHIFT
    while (this.slabs.length <= k) {
      const slab = new Float64Array(SLAB_SIZE)
      call(() => this.rt.attachSlab(this.slabs.length, slab))
      this.slabs.push(slab)
      this.lanes.push(new Uint32Array(slab.buffer, slab.byteOffset, SLAB_SIZE * 2))
    }
    const slab = this.slabs[k]
    const off = slot & MASK
    if (width === 1) slab[off] = 0
    else slab.fill(0, off, off + width)
    return slab
  }
}

/** Where a detached bound child writes: out-of-bounds typed-array writes are no-ops. */
export const DETACHED = new Float64Array(0)
