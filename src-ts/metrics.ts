import { call, invalidValue } from './errors'
import { intLaneOffset, sumOffset } from './binding/layout'
import { type Labels, SeriesIndex } from './labels'
import type { FamilyInfo, NativeRuntime } from './native'
import { DETACHED, MASK, SHIFT, type SlabStore } from './store'

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
}

function describe(info: FamilyInfo): MetricDescription {
  return { name: info.name, constLabels: Object.freeze(Object.fromEntries(info.constLabels)) }
}

function checkInt(metric: string, method: string, v: number): void {
  if (!Number.isInteger(v)) throw invalidValue(metric, method, v, 'Int metrics take integers only')
}

function checkIncrement(metric: string, method: string, v: number): void {
  if (!(v >= 0)) throw invalidValue(metric, method, v, 'a counter increment must be a number >= 0 (not negative, not NaN)')
}

/** The IntCounter increment rule (scalar and Vec alike): a number >= 0, then an integer. */
function checkIntIncrement(metric: string, v: number): void {
  checkIncrement(metric, 'incBy', v)
  checkInt(metric, 'incBy', v)
}

/** The bucket `v` falls in (`b.length` is `+Inf`); NaN is rejected. */
function bucketOf(metric: string, b: Float64Array, v: number): number {
  const n = b.length
  let k = 0
  while (k < n && v > b[k]) k++
  // NaN compares false, so it always lands in bucket 0: check only there (cheaper per call).
  if (k === 0 && v !== v) throw invalidValue(metric, 'observe', v, 'cannot observe NaN')
  return k
}

/** Observations of the histogram series at `s[o..]` with `n` bounds: buckets plus `+Inf`. */
function countAt(s: Float64Array, o: number, n: number): number {
  let c = 0
  for (let k = 0; k <= n; k++) c += s[o + k] ?? 0
  return c
}

/** Milliseconds since `t0` as seconds. */
function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000
}

/** One value slot: a scalar metric, or a bound child of a Vec. */
abstract class Cell implements MetricDescription {
  /** @internal */ s: Float64Array
  /** @internal */ i: number
  readonly name: string
  readonly constLabels: Readonly<Record<string, string>>
  /** @internal */
  constructor(slab: Float64Array, offset: number, d: MetricDescription) {
    this.s = slab
    this.i = offset
    this.name = d.name
    this.constLabels = d.constLabels
  }
  /** @internal The series was removed: later writes go nowhere. */
  detach(): void {
    this.s = DETACHED
    this.i = 0
  }
}

export class Counter extends Cell {
  inc(): void {
    this.s[this.i] += 1
  }
  incBy(v: number): void {
    checkIncrement(this.name, 'incBy', v)
    this.s[this.i] += v
  }
  get(): number {
    return this.s[this.i] ?? 0
  }
}

export class IntCounter extends Counter {
  override incBy(v: number): void {
    checkIntIncrement(this.name, v)
    this.s[this.i] += v
  }
}

/**
 * `inc()` on a u64 integer lane held as two u32 halves (little-endian, like every Node target;
 * why the lane exists: Rust's `series::layout`). `j` indexes the low half; Rust adds the lane to
 * the f64 slot when it renders.
 */
function laneInc(u: Uint32Array, j: number): void {
  const lo = (u[j] + 1) >>> 0
  u[j] = lo
  if (lo === 0) u[j + 1] += 1
}

function laneValue(u: Uint32Array, j: number): number {
  return (u[j] ?? 0) + (u[j + 1] ?? 0) * 4294967296
}

/**
 * `Base` (Counter or IntCounter) for a label-less family: its series has an f64 slot for `incBy`
 * and the integer lane for `inc()`. One body for both classes; `instanceof` still tells them apart.
 */
function withLane(Base: typeof Counter) {
  return class extends Base {
    /** @internal */ readonly u: Uint32Array
    /** @internal */ readonly j: number
    /** @internal */
    constructor(slab: Float64Array, offset: number, d: MetricDescription, lanes: Uint32Array, lane: number) {
      super(slab, offset, d)
      this.u = lanes
      this.j = (offset + lane) * 2
    }
    override inc(): void {
      laneInc(this.u, this.j)
    }
    override get(): number {
      return (this.s[this.i] ?? 0) + laneValue(this.u, this.j)
    }
  }
}

const LaneCounter = withLane(Counter)
const LaneIntCounter = withLane(IntCounter)

export class Gauge extends Cell {
  set(v: number): void {
    this.s[this.i] = v
  }
  get(): number {
    return this.s[this.i] ?? 0
  }
  inc(): void {
    this.s[this.i] += 1
  }
  dec(): void {
    this.s[this.i] -= 1
  }
  add(v: number): void {
    this.s[this.i] += v
  }
  sub(v: number): void {
    this.s[this.i] -= v
  }
}

export class IntGauge extends Gauge {
  override set(v: number): void {
    checkInt(this.name, 'set', v)
    this.s[this.i] = v
  }
  override add(v: number): void {
    checkInt(this.name, 'add', v)
    this.s[this.i] += v
  }
  override sub(v: number): void {
    checkInt(this.name, 'sub', v)
    this.s[this.i] -= v
  }
}

/** Slots of a histogram series: one count per bucket, then `+Inf`, then the sum (at `sumAt`, Rust's layout). */
export class Histogram extends Cell {
  /** @internal */ readonly b: Float64Array
  /** @internal */ readonly sumAt: number
  /** @internal */
  constructor(slab: Float64Array, offset: number, d: MetricDescription, bounds: Float64Array, sumAt: number) {
    super(slab, offset, d)
    this.b = bounds
    this.sumAt = sumAt
  }
  observe(v: number): void {
    const k = bucketOf(this.name, this.b, v)
    const s = this.s
    const i = this.i
    s[i + k] += 1
    s[i + this.sumAt] += v
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
    return countAt(this.s, this.i, this.b.length)
  }
  /** Sum of all observed values. */
  getSum(): number {
    return this.s[this.i + this.sumAt] ?? 0
  }
  /** The bucket upper bounds (without `+Inf`). */
  get buckets(): readonly number[] {
    return Array.from(this.b)
  }
}

/** @internal Builds the scalar object of a family whose one series was created with it. */
export function scalar<C>(
  h: FamilyHandle,
  make: (slab: Float64Array, off: number, d: MetricDescription, lanes: Uint32Array) => C,
): C {
  const slot = h.info.slot as number
  const slab = h.store.prepare(slot, h.info.width)
  return make(slab, slot & MASK, describe(h.info), h.store.lanes[slot >>> SHIFT])
}

/** @internal The object of a label-less Counter family: with the integer lane when Rust gave it one. */
export function scalarCounter(h: FamilyHandle): Counter {
  return scalar(h, (s, o, d, u) => (h.info.intLane ? new LaneCounter(s, o, d, u, intLaneOffset(h.info)) : new Counter(s, o, d)))
}

/** @internal The IntCounter twin of `scalarCounter`. */
export function scalarIntCounter(h: FamilyHandle): IntCounter {
  return scalar(h, (s, o, d, u) =>
    h.info.intLane ? (new LaneIntCounter(s, o, d, u, intLaneOffset(h.info)) as IntCounter) : new IntCounter(s, o, d),
  )
}

/** @internal The object of a label-less Histogram family. */
export function scalarHistogram(h: FamilyHandle): Histogram {
  const bounds = Float64Array.from(h.info.buckets)
  const sumAt = sumOffset(h.info)
  return scalar(h, (s, o, d) => new Histogram(s, o, d, bounds, sumAt))
}

/** Shared parts of every Vec: label resolution, bound children, remove and reset. */
abstract class VecBase<L extends string, C extends Cell> implements MetricDescription {
  readonly name: string
  readonly constLabels: Readonly<Record<string, string>>
  /** Variable label names, in declaration order. */
  readonly labelNames: readonly L[]
  /** @internal */ readonly x: SeriesIndex<L>
  /** @internal */ readonly slabs: Float64Array[]
  private readonly children = new Map<number, C>()

  constructor(
    private readonly h: FamilyHandle,
    labelNames: readonly L[],
  ) {
    const d = describe(h.info)
    this.name = d.name
    this.constLabels = d.constLabels
    this.labelNames = Object.freeze([...labelNames])
    this.slabs = h.store.slabs
    this.x = new SeriesIndex(h.rt, h.info.id, h.info.name, labelNames, h.info.width, h.store.pending, (slot, w) => {
      h.store.prepare(slot, w)
    })
  }

  /** @internal */
  protected abstract child(slab: Float64Array, offset: number): C

  /** The series of `labels` as an object with the scalar methods; no lookup on later calls. */
  labels(labels: Labels<L>): C {
    const slot = this.x.resolve(labels)
    let c = this.children.get(slot)
    if (c === undefined) {
      c = this.child(this.slabs[slot >>> SHIFT], slot & MASK)
      this.children.set(slot, c)
    }
    return c
  }

  /** Removes the series of `labels`; returns whether it existed. Bound children of it are detached. */
  remove(labels: Labels<L>): boolean {
    const slot = this.x.delete(labels)
    if (slot === undefined) return false
    this.children.get(slot)?.detach()
    this.children.delete(slot)
    return call(() => this.h.rt.removeSeries(this.h.info.id, slot))
  }

  /** Removes every series of this Vec. */
  reset(): void {
    for (const c of this.children.values()) c.detach()
    this.children.clear()
    this.x.clear()
    call(() => this.h.rt.resetFamily(this.h.info.id))
  }
}

export class CounterVec<L extends string> extends VecBase<L, Counter> {
  protected child(slab: Float64Array, off: number): Counter {
    return new Counter(slab, off, this)
  }
  inc(labels: Labels<L>): void {
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] += 1
  }
  incBy(v: number, labels: Labels<L>): void {
    checkIncrement(this.name, 'incBy', v)
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] += v
  }
  get(labels: Labels<L>): number {
    const k = this.x.resolve(labels)
    return this.slabs[k >>> SHIFT][k & MASK]
  }
}

export class IntCounterVec<L extends string> extends CounterVec<L> {
  protected override child(slab: Float64Array, off: number): IntCounter {
    return new IntCounter(slab, off, this)
  }
  override labels(labels: Labels<L>): IntCounter {
    return super.labels(labels) as IntCounter
  }
  override incBy(v: number, labels: Labels<L>): void {
    checkIntIncrement(this.name, v)
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] += v
  }
}

export class GaugeVec<L extends string> extends VecBase<L, Gauge> {
  protected child(slab: Float64Array, off: number): Gauge {
    return new Gauge(slab, off, this)
  }
  set(v: number, labels: Labels<L>): void {
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] = v
  }
  get(labels: Labels<L>): number {
    const k = this.x.resolve(labels)
    return this.slabs[k >>> SHIFT][k & MASK]
  }
  inc(labels: Labels<L>): void {
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] += 1
  }
  dec(labels: Labels<L>): void {
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] -= 1
  }
  add(v: number, labels: Labels<L>): void {
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] += v
  }
  sub(v: number, labels: Labels<L>): void {
    const k = this.x.resolve(labels)
    this.slabs[k >>> SHIFT][k & MASK] -= v
  }
}

export class IntGaugeVec<L extends string> extends GaugeVec<L> {
  protected override child(slab: Float64Array, off: number): IntGauge {
    return new IntGauge(slab, off, this)
  }
  override labels(labels: Labels<L>): IntGauge {
    return super.labels(labels) as IntGauge
  }
  override set(v: number, labels: Labels<L>): void {
    checkInt(this.name, 'set', v)
    super.set(v, labels)
  }
  override add(v: number, labels: Labels<L>): void {
    checkInt(this.name, 'add', v)
    super.add(v, labels)
  }
  override sub(v: number, labels: Labels<L>): void {
    checkInt(this.name, 'sub', v)
    super.sub(v, labels)
  }
}

export class HistogramVec<L extends string> extends VecBase<L, Histogram> {
  /** @internal */ readonly b: Float64Array
  /** @internal */ readonly sumAt: number
  constructor(h: FamilyHandle, labelNames: readonly L[]) {
    super(h, labelNames)
    this.b = Float64Array.from(h.info.buckets)
    this.sumAt = sumOffset(h.info)
  }
  protected child(slab: Float64Array, off: number): Histogram {
    return new Histogram(slab, off, this, this.b, this.sumAt)
  }
  observe(v: number, labels: Labels<L>): void {
    // The value is checked before the labels resolve: a bad value never creates a series.
    const j = bucketOf(this.name, this.b, v)
    const k = this.x.resolve(labels)
    const s = this.slabs[k >>> SHIFT]
    const o = k & MASK
    s[o + j] += 1
    s[o + this.sumAt] += v
  }
  /**
   * Starts a timer; the returned function observes the elapsed seconds for `labels` and returns
   * them. No bound child is kept per label set.
   */
  startTimer(labels: Labels<L>): () => number {
    const t0 = performance.now()
    return () => {
      const seconds = secondsSince(t0)
      this.observe(seconds, labels)
      return seconds
    }
  }
  getCount(labels: Labels<L>): number {
    const k = this.x.resolve(labels)
    return countAt(this.slabs[k >>> SHIFT], k & MASK, this.b.length)
  }
  getSum(labels: Labels<L>): number {
    const k = this.x.resolve(labels)
    return this.slabs[k >>> SHIFT][(k & MASK) + this.sumAt] ?? 0
  }
  /** The bucket upper bounds (without `+Inf`). */
  get buckets(): readonly number[] {
    return Array.from(this.b)
  }
}
