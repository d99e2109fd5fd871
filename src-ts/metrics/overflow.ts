import { SERIES_LIMITS } from '../binding/contracts.generated'
import { call } from '../binding/errors'
import { OFFSET_MASK, SLAB_SHIFT } from '../series/layout'
import type { SlabStore } from '../series/slab-store'
import type { FamilyHandle } from './family'

const { overflowMetric, overflowMetricHelp, overflowLabel } = SERIES_LIMITS

/** Per runtime (its slab store) and level: the folded-writes counter family and its series by metric name. */
const levels = new WeakMap<SlabStore, Map<number, { family: number; slots: Map<string, number> }>>()

/** The slot of `dynamo_component_series_overflow_total{metric="<name>"}` at `h`'s level, created when first needed. */
function counterSlot(h: FamilyHandle): number {
  const node = h.node ?? 0
  let byNode = levels.get(h.store)
  if (byNode === undefined) levels.set(h.store, (byNode = new Map()))
  let level = byNode.get(node)
  if (level === undefined) {
    const info = call(() =>
      h.rt.createFamily(node, {
        kind: 'counter',
        vec: true,
        name: overflowMetric,
        help: overflowMetricHelp,
        labelNames: [overflowLabel],
        constLabels: [],
      }),
    )
    level = { family: info.id, slots: new Map() }
    byNode.set(node, level)
  }
  let slot = level.slots.get(h.info.name)
  if (slot === undefined) {
    const family = level.family
    // Created directly (not through a label index): one series per family name, never folded.
    slot = call(() => h.rt.createSeries(family, [overflowLabel], [h.info.name]))
    h.store.prepare(slot, 1)
    level.slots.set(h.info.name, slot)
  }
  return slot
}

/**
 * The folded-writes counter of the family of `h`: a function adding 1 to it. The counter family
 * appears at the family's level at the first fold (a family that never folds adds nothing).
 */
export function foldCounter(h: FamilyHandle): () => void {
  let slab: Float64Array | null = null
  let offset = 0
  return () => {
    if (slab === null) {
      const slot = counterSlot(h)
      slab = h.store.slabs[slot >>> SLAB_SHIFT]
      offset = slot & OFFSET_MASK
    }
    slab[offset] += 1
  }
}
