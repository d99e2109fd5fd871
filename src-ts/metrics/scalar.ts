import { intLaneOffset, sumOffset } from '../binding/layout'
import { histogramCountAt, laneIndex, OFFSET_MASK, SLAB_SHIFT } from '../series/layout'
import { describe, type FamilyHandle, type MetricDescription } from './family'
import { AMOUNT, INCREMENT, INTEGER, invalidValue, NUMBER, OBSERVATION } from './values'

/** @internal The bucket `v` falls in (`bounds.length` is `+Inf`); a non-number or NaN throws. */
export function bucketOf(metric: string, bounds: Float64Array, v: number, labelsLast: boolean): number {
  if (typeof v !== 'number') throw invalidValue(metric, 'observe', v, OBSERVATION, labelsLast)
  const n = bounds.length
  let k = 0
  while (k < n && v > bounds[k]) k++
  // NaN compares false, so it always lands in bucket 0: check only there.
  if (k === 0 && v !== v) throw invalidValue(metric, 'observe', v, OBSERVATION)
  return k
}

/** @internal Milliseconds since `t0` as seconds. */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000
}

/** One value slot: a scalar metric, or a bound child of a Vec. */
abstract class Cell implements MetricDescription {
  /** @internal The slab holding this series. */ slab: Float64Array
  /** @internal The series' first slot in `slab`. */ offset: number
  readonly name: string
  readonly constLabels: Readonly<Record<string, string>>
  /** @internal */
  constructor(slab: Float64Array, offset: number, d: MetricDescription) {
    this.slab = slab
    this.offset = offset
    this.name = d.name
    this.constLabels = d.constLabels
  }
  /** @internal Points this cell at another series' first slot, or at DETACHED (removed: later writes go nowhere) or PARKED (expired). */
  move(slab: Float64Array, offset: number): void {
    this.slab = slab
    this.offset = offset
  }
}

export class Counter extends Cell {
  /** Adds `v` (default 1; a number >= 0), as prom-client's `inc(v)` does. */
  inc(v?: number): void {
    if (v === undefined) this.slab[this.offset] += 1
    else this.slab[this.offset] += this.increment('inc', v)
  }
  /** Adds `v` (a number >= 0). */
  incBy(v: number): void {
    this.slab[this.offset] += this.increment('incBy', v)
  }
  get(): number {
    return this.slab[this.offset] ?? 0
  }
  /** `v` when it is a valid increment, else the error naming it. */
  protected increment(method: string, v: number): number {
    if (typeof v !== 'number' || !(v >= 0)) throw invalidValue(this.name, method, v, INCREMENT)
    return v
  }
}

export class IntCounter extends Counter {
  protected override increment(method: string, v: number): number {
    if (!Number.isInteger(v) || !(v >= 0)) throw invalidValue(this.name, method, v, typeof v === 'number' && v >= 0 ? INTEGER : INCREMENT)
    return v
  }
}

/**
 * `Base` (Counter or IntCounter) for a label-less family: its series has an f64 slot for amounts
 * and the integer lane for `inc()` (see `laneIndex`), because back-to-back float adds to one slot
 * wait on each other and integer adds don't. One body for both classes; `instanceof` still
 * tells them apart.
 */
function withLane(Base: typeof Counter) {
  return class extends Base {
    /** @internal The slab's u32 view. */ readonly lanes: Uint32Array
    /** @internal The u32 index of the lane's low half. */ readonly lane: number
    /** @internal */
    constructor(slab: Float64Array, offset: number, d: MetricDescription, lanes: Uint32Array, laneAt: number) {
      super(slab, offset, d)
      this.lanes = lanes
      this.lane = laneIndex(offset, laneAt)
    }
    override inc(v?: number): void {
      if (v !== undefined) {
        this.slab[this.offset] += this.increment('inc', v)
        return
      }
      const lanes = this.lanes
      const low = (lanes[this.lane] + 1) >>> 0
      lanes[this.lane] = low
      if (low === 0) lanes[this.lane + 1] += 1
    }
    override get(): number {
      const lanes = this.lanes
      return (this.slab[this.offset] ?? 0) + (lanes[this.lane] ?? 0) + (lanes[this.lane + 1] ?? 0) * 4294967296
    }
  }
}

const LaneCounter = withLane(Counter)
const LaneIntCounter = withLane(IntCounter)

export class Gauge extends Cell {
  /** Sets the value (any number; NaN is stored and rendered as `NaN`, as Prometheus allows). */
  set(v: number): void {
    if (typeof v !== 'number') throw invalidValue(this.name, 'set', v, NUMBER)
    this.slab[this.offset] = v
  }
  get(): number {
    return this.slab[this.offset] ?? 0
  }
  /** Adds `v` (default 1), as prom-client's `inc(v)` does. */
  inc(v?: number): void {
    this.slab[this.offset] += v === undefined ? 1 : this.amount('inc', v)
  }
  /** Subtracts `v` (default 1), as prom-client's `dec(v)` does. */
  dec(v?: number): void {
    this.slab[this.offset] -= v === undefined ? 1 : this.amount('dec', v)
  }
  add(v: number): void {
    this.slab[this.offset] += this.amount('add', v)
  }
  sub(v: number): void {
    this.slab[this.offset] -= this.amount('sub', v)
  }
  /** `v` when it is a valid amount, else the error naming it. */
  protected amount(method: string, v: number): number {
    if (typeof v !== 'number' || v !== v) throw invalidValue(this.name, method, v, AMOUNT)
    return v
  }
}

export class IntGauge extends Gauge {
  override set(v: number): void {
    if (!Number.isInteger(v)) throw invalidValue(this.name, 'set', v, INTEGER)
    this.slab[this.offset] = v
  }
  protected override amount(method: string, v: number): number {
    if (!Number.isInteger(v)) throw invalidValue(this.name, method, v, INTEGER)
    return v
  }
}

/** Slots of a histogram series: one count per bucket, then `+Inf`, then the sum (`layout.ts`). */
export class Histogram extends Cell {
  /** @internal The bucket upper bounds. */ readonly bounds: Float64Array
  /** @internal Offset of the sum from the series' first slot. */ readonly sumAt: number
  /** @internal */
  constructor(slab: Float64Array, offset: number, d: MetricDescription, bounds: Float64Array, sumAt: number) {
    super(slab, offset, d)
    this.bounds = bounds
    this.sumAt = sumAt
  }
  observe(v: number): void {
    const bucket = bucketOf(this.name, this.bounds, v, false)
    const slab = this.slab
    const offset = this.offset
    slab[offset + bucket] += 1
    slab[offset + this.sumAt] += v
  }
  /** Starts a timer; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    const t0 = performance.now()
    return () => {
      const seconds = secondsSince(t0)
      this.observe(seconds)
      return seconds
    }
  }
  /** Number of observations. */
  getCount(): number {
    return histogramCountAt(this.slab, this.offset, this.bounds.length)
  }
  /** Sum of all observed values. */
  getSum(): number {
    return this.slab[this.offset + this.sumAt] ?? 0
  }
  /** The bucket upper bounds (without `+Inf`). */
  get buckets(): readonly number[] {
    return Array.from(this.bounds)
  }
}

/** @internal Builds the scalar object of a family whose one series was created with it. */
export function scalar<C>(
  h: FamilyHandle,
  make: (slab: Float64Array, offset: number, d: MetricDescription, lanes: Uint32Array) => C,
): C {
  const slot = h.info.slot as number
  const slab = h.store.prepare(slot, h.info.width)
  return make(slab, slot & OFFSET_MASK, describe(h.info), h.store.lanes[slot >>> SLAB_SHIFT])
}

/** @internal The object of a label-less Counter family: with the integer lane when Rust gave it one. */
export function scalarCounter(h: FamilyHandle): Counter {
  return scalar(h, (s, o, d, u) => (h.info.intLane ? new LaneCounter(s, o, d, u, intLaneOffset(h.info)) : new Counter(s, o, d)))
}

/** @internal The IntCounter twin of `scalarCounter`. */
export function scalarIntCounter(h: FamilyHandle): IntCounter {
  return scalar(h, (s, o, d, u) => (h.info.intLane ? (new LaneIntCounter(s, o, d, u, intLaneOffset(h.info)) as unknown as IntCounter) : new IntCounter(s, o, d)))
}

/** @internal The object of a label-less Histogram family. */
export function scalarHistogram(h: FamilyHandle): Histogram {
  const bounds = Float64Array.from(h.info.buckets)
  const sumAt = sumOffset(h.info)
  return scalar(h, (s, o, d) => new Histogram(s, o, d, bounds, sumAt))
}
