import { call } from '../binding/errors'
import { sumOffset } from '../binding/layout'
import { CardinalityGuard, countWrites } from '../series/cardinality'
import { ExpiryTracker } from '../series/expiry'
import { histogramCountAt, OFFSET_MASK, SLAB_SHIFT } from '../series/layout'
import { LabelIndex, type Labels } from '../series/label-index'
import { DETACHED, PARKED } from '../series/slab-store'
import { describe, type FamilyHandle, type MetricDescription } from './family'
import { foldCounter } from './overflow'
import { bucketOf, Counter, Gauge, Histogram, IntCounter, IntGauge, secondsSince } from './scalar'
import { AMOUNT, INCREMENT, INTEGER, invalidValue, NUMBER } from './values'

/** Shared parts of every Vec: label resolution, the write path, bound children, remove and reset. */
abstract class VecBase<L extends string, C extends Bindable> implements MetricDescription {
  readonly name: string
  readonly constLabels: Readonly<Record<string, string>>
  /** Variable label names, in declaration order. */
  readonly labelNames: readonly L[]
  /** @internal Label set to slot. */ readonly index: LabelIndex<L>
  /** @internal The runtime's slabs (the array grows; it is never replaced). */ readonly slabs: Float64Array[]
  private readonly children = new Map<number, C>()
  /** @internal Bound children of a series besides `children`'s (one revived after expiry). */
  private readonly twins = new Map<number, C[]>()
  /** @internal The touched mark's offset in a series (`ttlSeconds`), else -1. */
  readonly touchedAt: number
  /** @internal Idle-series expiry (`ttlSeconds`), or null. */
  readonly expiry: ExpiryTracker | null

  constructor(
    private readonly family: FamilyHandle,
    labelNames: readonly L[],
  ) {
    const d = describe(family.info)
    this.name = d.name
    this.constLabels = d.constLabels
    this.labelNames = Object.freeze([...labelNames])
    this.slabs = family.store.slabs
    const { info, store, rt } = family
    const touched = info.layout.touched
    this.touchedAt = touched ?? -1
    this.expiry = null
    if (touched !== undefined && touched !== null && family.ttlSeconds !== undefined) {
      this.expiry = new ExpiryTracker(family.ttlSeconds, this.slabs, touched, this)
      store.expiry.add(this.expiry)
    }
    const guard = new CardinalityGuard(info.name, labelNames, info.maxSeries, foldCounter(family))
    this.index = new LabelIndex(
      rt,
      info.id,
      info.name,
      labelNames,
      info.width,
      store.registrar,
      (slot, width, values) => {
        store.prepare(slot, width)
        this.expiry?.created(slot, values)
      },
      guard,
    )
  }

  /** @internal `labels` are the ones the child was asked with (an expiring child keeps them). */
  protected abstract child(slab: Float64Array, offset: number, labels: Labels<L>): C

  /**
   * @internal Called by every write with the series' slab and first slot: nothing here; a Vec
   * with `ttlSeconds` (`expiring.ts`) sets the touched mark. A separate class, so a Vec without
   * expiry keeps a call that inlines to nothing.
   */
  protected touch(_slab: Float64Array, _offset: number): void {}

  /**
   * The one resolve-and-write path of single-slot Vec methods: adds `value` to the series of
   * `labels`, or stores it when `add` is false (a constant at every call site, so it folds away).
   * Callers check `value` first: a bad value never creates a series.
   */
  protected write(labels: Labels<L>, value: number, add: boolean): void {
    const slot = this.index.resolve(labels)
    const slab = this.slabs[slot >>> SLAB_SHIFT]
    const offset = slot & OFFSET_MASK
    if (add) slab[offset] += value
    else slab[offset] = value
    this.touch(slab, offset)
  }

  /** The value at slot `at` of the series of `labels` (created if it does not exist yet). */
  protected read(labels: Labels<L>, at: number): number {
    const slot = this.index.resolveQuiet(labels)
    return this.slabs[slot >>> SLAB_SHIFT][(slot & OFFSET_MASK) + at] ?? 0
  }

  /** The series of `labels` as an object with the scalar methods; no lookup on later calls. */
  labels(labels: Labels<L>): C {
    const slot = this.index.resolveQuiet(labels)
    let c = this.children.get(slot)
    if (c === undefined) {
      c = this.child(this.slabs[slot >>> SLAB_SHIFT], slot & OFFSET_MASK, labels)
      // A child of the overflow series counts each of its writes as folded.
      const guard = this.index.guard
      if (slot === guard.overflowSlot) countWrites(c, () => guard.folded())
      this.children.set(slot, c)
    }
    return c
  }

  /** Removes the series of `labels`; returns whether it existed. Bound children of it are detached. */
  remove(labels: Labels<L>): boolean {
    const slot = this.index.delete(labels)
    if (slot === undefined) return false
    this.unbind(slot, DETACHED)
    this.expiry?.forget(slot)
    return call(() => this.family.rt.removeSeries(this.family.info.id, slot))
  }

  /** Removes every series of this Vec. */
  reset(): void {
    for (const c of this.children.values()) c.move(DETACHED, 0)
    for (const cs of this.twins.values()) for (const c of cs) c.move(DETACHED, 0)
    this.children.clear()
    this.twins.clear()
    this.index.clear()
    this.expiry?.clear()
    call(() => this.family.rt.resetFamily(this.family.info.id))
  }

  /** Points the bound children of `slot` at `to` (a removed or expired series) and forgets them. */
  private unbind(slot: number, to: Float64Array): void {
    this.children.get(slot)?.move(to, 0)
    this.children.delete(slot)
    for (const c of this.twins.get(slot) ?? []) c.move(to, 0)
    this.twins.delete(slot)
  }

  /**
   * @internal Removes the series at `slot`, idle past `ttlSeconds`, as `remove()` does; its bound
   * children are parked (their next write brings the series back, see `adopt`).
   */
  expire(slot: number, values: readonly string[]): void {
    const at = this.index.deleteValues(values)
    if (at === undefined) return
    this.unbind(at, PARKED)
    call(() => this.family.rt.removeSeries(this.family.info.id, at))
  }

  /** @internal Binds a parked child to the series of `labels` (created again, from 0). */
  adopt(c: C, labels: Labels<L>): void {
    const slot = this.index.resolve(labels)
    c.move(this.slabs[slot >>> SLAB_SHIFT], slot & OFFSET_MASK)
    const bound = this.children.get(slot)
    if (bound === undefined) this.children.set(slot, c)
    else if (bound !== c) {
      const more = this.twins.get(slot)
      if (more === undefined) this.twins.set(slot, [c])
      else more.push(c)
    }
  }
}

/** @internal What a Vec does with its bound children. */
interface Bindable {
  /** Points the child at a series' first slot (or at DETACHED / PARKED, offset 0). */
  move(slab: Float64Array, offset: number): void
}

export class CounterVec<L extends string> extends VecBase<L, Counter> {
  protected child(slab: Float64Array, offset: number): Counter {
    return new Counter(slab, offset, this)
  }
  /** Adds `v` (default 1; a number >= 0) to the series of `labels`, as prom-client's `inc(labels, v)` does. */
  inc(labels: Labels<L>, v?: number): void {
    this.write(labels, v === undefined ? 1 : this.increment('inc', v), true)
  }
  /** Adds `v` (a number >= 0) to the series of `labels`. */
  incBy(v: number, labels: Labels<L>): void {
    this.write(labels, this.increment('incBy', v), true)
  }
  get(labels: Labels<L>): number {
    return this.read(labels, 0)
  }
  /** `v` when it is a valid increment, else the error naming it. */
  protected increment(method: string, v: number): number {
    if (typeof v !== 'number' || !(v >= 0)) throw invalidValue(this.name, method, v, INCREMENT, method === 'incBy')
    return v
  }
}

export class IntCounterVec<L extends string> extends CounterVec<L> {
  protected override child(slab: Float64Array, offset: number): IntCounter {
    return new IntCounter(slab, offset, this)
  }
  override labels(labels: Labels<L>): IntCounter {
    return super.labels(labels) as IntCounter
  }
  protected override increment(method: string, v: number): number {
    if (!Number.isInteger(v) || !(v >= 0)) {
      throw invalidValue(this.name, method, v, typeof v === 'number' && v >= 0 ? INTEGER : INCREMENT, method === 'incBy')
    }
    return v
  }
}

export class GaugeVec<L extends string> extends VecBase<L, Gauge> {
  protected child(slab: Float64Array, offset: number): Gauge {
    return new Gauge(slab, offset, this)
  }
  /** Sets the series of `labels` to `v` (any number; NaN is stored and rendered as `NaN`). */
  set(v: number, labels: Labels<L>): void {
    this.write(labels, this.value(v), false)
  }
  get(labels: Labels<L>): number {
    return this.read(labels, 0)
  }
  /** Adds `v` (default 1) to the series of `labels`, as prom-client's `inc(labels, v)` does. */
  inc(labels: Labels<L>, v?: number): void {
    this.write(labels, v === undefined ? 1 : this.amount('inc', v), true)
  }
  /** Subtracts `v` (default 1) from the series of `labels`, as prom-client's `dec(labels, v)` does. */
  dec(labels: Labels<L>, v?: number): void {
    this.write(labels, v === undefined ? -1 : -this.amount('dec', v), true)
  }
  add(v: number, labels: Labels<L>): void {
    this.write(labels, this.amount('add', v), true)
  }
  sub(v: number, labels: Labels<L>): void {
    this.write(labels, -this.amount('sub', v), true)
  }
  /** `v` when `set` may store it, else the error naming it. */
  protected value(v: number): number {
    if (typeof v !== 'number') throw invalidValue(this.name, 'set', v, NUMBER, true)
    return v
  }
  /** `v` when it is a valid amount, else the error naming it. */
  protected amount(method: string, v: number): number {
    if (typeof v !== 'number' || v !== v) throw invalidValue(this.name, method, v, AMOUNT, method === 'add' || method === 'sub')
    return v
  }
}

export class IntGaugeVec<L extends string> extends GaugeVec<L> {
  protected override child(slab: Float64Array, offset: number): IntGauge {
    return new IntGauge(slab, offset, this)
  }
  override labels(labels: Labels<L>): IntGauge {
    return super.labels(labels) as IntGauge
  }
  protected override value(v: number): number {
    if (!Number.isInteger(v)) throw invalidValue(this.name, 'set', v, INTEGER, true)
    return v
  }
  protected override amount(method: string, v: number): number {
    if (!Number.isInteger(v)) throw invalidValue(this.name, method, v, INTEGER, method === 'add' || method === 'sub')
    return v
  }
}

export class HistogramVec<L extends string> extends VecBase<L, Histogram> {
  /** @internal The bucket upper bounds. */ readonly bounds: Float64Array
  /** @internal Offset of the sum from a series' first slot. */ readonly sumAt: number
  constructor(h: FamilyHandle, labelNames: readonly L[]) {
    super(h, labelNames)
    this.bounds = Float64Array.from(h.info.buckets)
    this.sumAt = sumOffset(h.info)
  }
  protected child(slab: Float64Array, offset: number): Histogram {
    return new Histogram(slab, offset, this, this.bounds, this.sumAt)
  }
  /** Writes two slots (a bucket and the sum), so it resolves once and writes both itself. */
  observe(v: number, labels: Labels<L>): void {
    // The value is checked before the labels resolve: a bad value never creates a series.
    const bucket = bucketOf(this.name, this.bounds, v, true)
    const slot = this.index.resolve(labels)
    const slab = this.slabs[slot >>> SLAB_SHIFT]
    const offset = slot & OFFSET_MASK
    slab[offset + bucket] += 1
    slab[offset + this.sumAt] += v
    this.touch(slab, offset)
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
    const slot = this.index.resolveQuiet(labels)
    return histogramCountAt(this.slabs[slot >>> SLAB_SHIFT], slot & OFFSET_MASK, this.bounds.length)
  }
  getSum(labels: Labels<L>): number {
    return this.read(labels, this.sumAt)
  }
  /** The bucket upper bounds (without `+Inf`). */
  get buckets(): readonly number[] {
    return Array.from(this.bounds)
  }
}
