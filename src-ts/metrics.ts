import { call, invalidValue } from './errors'
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
    checkIncrement(this.name, 'incBy', v)
    checkInt(this.name, 'incBy', v)
    this.s[this.i] += v
  }
}

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

/** Slots of a histogram series: one count per bucket, then `+Inf`, then the sum. */
export class Histogram extends Cell {
  /** @internal */ readonly b: Float64Array
  /** @internal */
  constructor(slab: Float64Array, offset: number, d: MetricDescription, bounds: Float64Array) {
    super(slab, offset, d)
    this.b = bounds
  }
  observe(v: number): void {
    const b = this.b
    const n = b.length
    let k = 0
    while (k < n && v > b[k]) k++
    // NaN compares false, so it always lands in bucket 0: check only there (cheaper per call).
    if (k === 0 && v !== v) throw invalidValue(this.name, 'observe', v, 'cannot observe NaN')
    const s = this.s
    const i = this.i
    s[i + k] += 1
    s[i + n + 1] += v
  }
  /** Starts a timer; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    const t0 = performance.now()
    return () => {
      const seconds = (performance.now() - t0) / 1000
      this.observe(seconds)
      return seconds
    }
  }
  /** Number of observations. */
  getCount(): number {
    let c = 0
    for (let k = 0; k <= this.b.length; k++) c += this.s[this.i + k] ?? 0
    return c
  }
  /** Sum of all observed values. */
  getSum(): number {
    return this.s[this.i + this.b.length + 1] ?? 0
  }
  /** The bucket upper bounds (without `+Inf`). */
  get buckets(): readonly number[] {
    return Array.from(this.b)
  }
}

/** @internal Builds the scalar object of a family whose one series was created with it. */
export function scalar<C>(h: FamilyHandle, make: (slab: Float64Array, off: number, d: MetricDescription) => C): C {
  const slot = h.info.slot as number
  const slab = h.store.prepare(slot, h.info.width)
  return make(slab, slot & MASK, describe(h.info))
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
    this.x = new SeriesIndex(h.rt, h.info.id, h.info.name, labelNames, h.info.width, (slot, w) => {
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
    checkInt(this.name, 'incBy', v)
    super.incBy(v, labels)
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
  constructor(h: FamilyHandle, labelNames: readonly L[]) {
    super(h, labelNames)
    this.b = Float64Array.from(h.info.buckets)
  }
  protected child(slab: Float64Array, off: number): Histogram {
    return new Histogram(slab, off, this, this.b)
  }
  observe(v: number, labels: Labels<L>): void {
    const b = this.b
    const n = b.length
    let j = 0
    while (j < n && v > b[j]) j++
    if (j === 0 && v !== v) throw invalidValue(this.name, 'observe', v, 'cannot observe NaN')
    const k = this.x.resolve(labels)
    const s = this.slabs[k >>> SHIFT]
    const o = k & MASK
    s[o + j] += 1
    s[o + n + 1] += v
  }
  /** Starts a timer for `labels`; the returned function observes the elapsed seconds. */
  startTimer(labels: Labels<L>): () => number {
    return this.labels(labels).startTimer()
  }
  getCount(labels: Labels<L>): number {
    return this.labels(labels).getCount()
  }
  getSum(labels: Labels<L>): number {
    return this.labels(labels).getSum()
  }
  /** The bucket upper bounds (without `+Inf`). */
  get buckets(): readonly number[] {
    return Array.from(this.b)
  }
}
