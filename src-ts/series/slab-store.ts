import { call } from '../binding/errors'
import type { NativeRuntime } from '../binding/native'
import { laneView, OFFSET_MASK, SLAB_SHIFT, SLAB_SIZE } from './layout'
import { ExpirySweeper } from './expiry'
import { SeriesRegistrar } from './registrar'

/**
 * The JS-allocated Float64Array slabs that hold every metric value. Each slab is handed to Rust
 * once; after that, inc/set/observe are plain typed-array writes that never cross N-API.
 */
export class SlabStore {
  readonly slabs: Float64Array[] = []
  /** The same memory as u32 pairs: the integer lanes of label-less counters (see `layout.ts`). */
  readonly lanes: Uint32Array[] = []
  /** New series of every family, waiting for their registration with Rust. */
  readonly registrar: SeriesRegistrar
  /** Idle-series expiry of the Vecs created with `ttlSeconds`. */
  readonly expiry = new ExpirySweeper()
  constructor(private readonly rt: NativeRuntime) {
    this.registrar = new SeriesRegistrar(rt.handle)
  }

  /** Makes sure the slab of `slot` exists and zeroes the series' slots (a slot may be reused). */
  prepare(slot: number, width: number): Float64Array {
    const index = slot >>> SLAB_SHIFT
    while (this.slabs.length <= index) {
      const slab = new Float64Array(SLAB_SIZE)
      call(() => this.rt.attachSlab(this.slabs.length, slab))
      this.slabs.push(slab)
      this.lanes.push(laneView(slab))
    }
    const slab = this.slabs[index]
    const offset = slot & OFFSET_MASK
    if (width === 1) slab[offset] = 0
    else slab.fill(0, offset, offset + width)
    return slab
  }
}

/** Where a detached bound child writes: out-of-bounds typed-array writes are no-ops. */
export const DETACHED = new Float64Array(0)
/** Where the bound child of an expired series writes until its next write brings it back. */
export const PARKED = new Float64Array(0)
