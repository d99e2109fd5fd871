import type { Labels } from '../series/label-index'
import { PARKED } from '../series/slab-store'
import { Counter, Gauge, Histogram, IntCounter, IntGauge } from './scalar'
import { CounterVec, GaugeVec, HistogramVec, IntCounterVec, IntGaugeVec } from './vec'

/**
 * The classes of Vecs created with `ttlSeconds` and of their bound children: every write also
 * sets the series' touched mark (see `series/expiry.ts`). Separate classes, chosen when the Vec
 * is created, so the write path of a Vec without expiry has nothing to test.
 */

type Cell = Counter | Gauge | Histogram
type CellClass<C extends Cell> = new (...args: never[]) => C

/** What a bound child of an expiring Vec keeps. */
interface Marking {
  /** The Vec, to bring the series back after it expired. */
  owner: { adopt(c: Cell, labels: object): void }
  /** The labels the child was bound with. */
  labelSet: object
  /** The touched mark's offset in the series. */
  touchedAt: number
}

/**
 * A subclass of `Base` whose `writes` also set the touched mark. A child whose series expired
 * points at PARKED: its next write is checked first (a bad value throws before anything is
 * created), then brings the series back (a counter starts again from 0) and lands there.
 */
function marking<C extends Cell>(Base: CellClass<C>, writes: readonly string[]): CellClass<C & Marking> {
  const Sub = class extends (Base as unknown as new (...args: unknown[]) => object) {}
  for (const m of writes) {
    const write = (Base.prototype as unknown as Record<string, (this: Cell, v?: number) => void>)[m]
    Object.defineProperty(Sub.prototype, m, {
      configurable: true,
      writable: true,
      value: function (this: Cell & Marking, v?: number): void {
        if (this.slab === PARKED) {
          write.call(this, v)
          this.owner.adopt(this, this.labelSet)
        }
        write.call(this, v)
        this.slab[this.offset + this.touchedAt] = 1
      },
    })
  }
  return Sub as unknown as CellClass<C & Marking>
}

const MarkingCounter = marking(Counter, ['inc', 'incBy'])
const MarkingIntCounter = marking(IntCounter, ['inc', 'incBy'])
const MarkingGauge = marking(Gauge, ['set', 'inc', 'dec', 'add', 'sub'])
const MarkingIntGauge = marking(IntGauge, ['set', 'inc', 'dec', 'add', 'sub'])
const MarkingHistogram = marking(Histogram, ['observe'])

/**
 * A bound child of class `Make` for the Vec `vec` (its slots at `slab[offset..]`; `more` are the
 * class's further arguments), told its Vec
 * and a copy of its labels (the caller may change theirs). The fields are set in one order, so
 * every child of a class shares one shape.
 */
function child<C extends Cell>(
  Make: CellClass<C & Marking>,
  vec: { readonly touchedAt: number },
  labels: object | undefined,
  slab: Float64Array,
  offset: number,
  ...more: unknown[]
): C {
  const c = new (Make as unknown as new (...a: unknown[]) => C & Marking)(slab, offset, vec, ...more)
  c.owner = vec as unknown as Marking['owner']
  c.labelSet = { ...labels }
  c.touchedAt = vec.touchedAt
  return c
}

export class ExpiringCounterVec<L extends string> extends CounterVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): Counter {
    return child(MarkingCounter, this, labels, slab, offset)
  }
}

export class ExpiringIntCounterVec<L extends string> extends IntCounterVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): IntCounter {
    return child(MarkingIntCounter, this, labels, slab, offset)
  }
}

export class ExpiringGaugeVec<L extends string> extends GaugeVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): Gauge {
    return child(MarkingGauge, this, labels, slab, offset)
  }
}

export class ExpiringIntGaugeVec<L extends string> extends IntGaugeVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): IntGauge {
    return child(MarkingIntGauge, this, labels, slab, offset)
  }
}

export class ExpiringHistogramVec<L extends string> extends HistogramVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): Histogram {
    return child(MarkingHistogram, this, labels, slab, offset, this.bounds, this.sumAt)
  }
}
