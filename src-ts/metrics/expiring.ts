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

/** `c`, told its Vec and labels (the fields are set in one order, so every child shares one shape). */
function bound<C extends Cell & Marking>(c: C, owner: Marking['owner'], labels: object, touchedAt: number): C {
  c.owner = owner
  c.labelSet = labels
  c.touchedAt = touchedAt
  return c
}

/** Label objects are copied: the caller may change theirs after binding. */
function copy<L extends string>(labels: Labels<L>): Labels<L> {
  return { ...labels }
}

export class ExpiringCounterVec<L extends string> extends CounterVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): Counter {
    const make = MarkingCounter as unknown as new (s: Float64Array, o: number, d: this) => Counter & Marking
    return bound(new make(slab, offset, this), this as never, copy(labels as Labels<L>), this.touchedAt)
  }
}

export class ExpiringIntCounterVec<L extends string> extends IntCounterVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): IntCounter {
    const make = MarkingIntCounter as unknown as new (s: Float64Array, o: number, d: this) => IntCounter & Marking
    return bound(new make(slab, offset, this), this as never, copy(labels as Labels<L>), this.touchedAt)
  }
}

export class ExpiringGaugeVec<L extends string> extends GaugeVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): Gauge {
    const make = MarkingGauge as unknown as new (s: Float64Array, o: number, d: this) => Gauge & Marking
    return bound(new make(slab, offset, this), this as never, copy(labels as Labels<L>), this.touchedAt)
  }
}

export class ExpiringIntGaugeVec<L extends string> extends IntGaugeVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): IntGauge {
    const make = MarkingIntGauge as unknown as new (s: Float64Array, o: number, d: this) => IntGauge & Marking
    return bound(new make(slab, offset, this), this as never, copy(labels as Labels<L>), this.touchedAt)
  }
}

export class ExpiringHistogramVec<L extends string> extends HistogramVec<L> {
  protected override touch(slab: Float64Array, offset: number): void {
    slab[offset + this.touchedAt] = 1
  }
  protected override child(slab: Float64Array, offset: number, labels?: Labels<L>): Histogram {
    const make = MarkingHistogram as unknown as new (
      s: Float64Array,
      o: number,
      d: this,
      b: Float64Array,
      sumAt: number,
    ) => Histogram & Marking
    return bound(new make(slab, offset, this, this.bounds, this.sumAt), this as never, copy(labels as Labels<L>), this.touchedAt)
  }
}
