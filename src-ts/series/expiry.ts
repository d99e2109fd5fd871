import { OFFSET_MASK, SLAB_SHIFT } from './layout'

/**
 * Idle-series expiry (`ttlSeconds` on a Vec). Writes never cross into Rust, so "written" is a
 * touched mark in the series' own slots (`layout.touched`, a slot only expiring families have):
 * every write of an expiring Vec and of its bound children sets it to 1. A sweep per Vec, every
 * quarter TTL, clears the marks it finds and notes the time; a series found unmarked for the TTL
 * is removed the way `remove()` does (label index, Rust's table), so its slots are reused. A
 * series therefore leaves between `ttl` and `1.5 * ttl` after its last write, never earlier.
 */

/** A sweep runs at most this often per Vec: bounds the cost of tiny TTLs. */
export const MIN_SWEEP_MS = 10
/** ... and at least this often, so a long TTL is not overshot by a long period. */
export const MAX_SWEEP_MS = 60_000

/**
 * The most series one sweep removes (about 30 ms of work here): a Vec with more idle series
 * removes the rest in the next sweeps, MIN_SWEEP_MS apart, so the event loop is never held long.
 */
export const MAX_EXPIRED_PER_SWEEP = 10_000

/** What removes an expired series: the Vec (label index, bound children, Rust). */
export interface Expirable {
  expire(slot: number, values: readonly string[]): void
}

interface Live {
  /** Label values in declaration order (to find the series in the label index). */
  readonly values: readonly string[]
  /** When the series was last seen written (a sweep found its mark, or it was created). */
  seen: number
}

/** The series of one expiring Vec and when each was last seen written. */
export class ExpiryTracker {
  readonly ttlMs: number
  readonly periodMs: number
  /** When this Vec's next sweep is due (`performance.now()` time). */
  due = 0
  /** The last sweep left idle series for the next one (MAX_EXPIRED_PER_SWEEP). */
  behind = false
  private readonly live = new Map<number, Live>()

  constructor(
    ttlSeconds: number,
    private readonly slabs: Float64Array[],
    private readonly touchedAt: number,
    private readonly owner: Expirable,
  ) {
    this.ttlMs = ttlSeconds * 1000
    this.periodMs = Math.min(Math.max(this.ttlMs / 4, MIN_SWEEP_MS), MAX_SWEEP_MS)
  }

  /** Series being tracked. */
  get size(): number {
    return this.live.size
  }

  /** A new series (creation counts as a write). */
  created(slot: number, values: readonly string[]): void {
    this.live.set(slot, { values, seen: performance.now() })
  }

  /** A series removed by `remove()`. */
  forget(slot: number): void {
    this.live.delete(slot)
  }

  /** Every series removed by `reset()`. */
  clear(): void {
    this.live.clear()
  }

  /** Clears the marks set since the last sweep and expires the series idle for the TTL; returns how many. */
  sweep(now: number): number {
    const idle: number[] = []
    const at = this.touchedAt
    this.behind = false
    for (const [slot, s] of this.live) {
      const slab = this.slabs[slot >>> SLAB_SHIFT]
      const mark = (slot & OFFSET_MASK) + at
      if (slab[mark] !== 0) {
        slab[mark] = 0
        s.seen = now
      } else if (now - s.seen >= this.ttlMs) {
        if (idle.length < MAX_EXPIRED_PER_SWEEP) idle.push(slot)
        else this.behind = true
      }
    }
    for (const slot of idle) {
      const s = this.live.get(slot) as Live
      this.live.delete(slot)
      this.owner.expire(slot, s.values)
    }
    return idle.length
  }
}

/**
 * The sweeps of one runtime: one unref'd timer for every expiring Vec (it never keeps the
 * process alive), armed for the earliest due sweep; scrapes that pass through the JS thread
 * (`prometheusMetricsFmt()`, callbacks) sweep what is due first. Stopped at shutdown.
 */
export class ExpirySweeper {
  private readonly trackers: ExpiryTracker[] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private stopped = false

  add(t: ExpiryTracker): void {
    if (this.stopped) return
    t.due = performance.now() + t.periodMs
    this.trackers.push(t)
    this.arm()
  }

  /** Runs every sweep that is due; returns how many series expired. */
  sweepDue(now = performance.now()): number {
    if (this.stopped) return 0
    let expired = 0
    for (const t of this.trackers) {
      if (t.due > now) continue
      t.due = now + t.periodMs
      expired += t.sweep(now)
      if (t.behind) t.due = now + MIN_SWEEP_MS
    }
    return expired
  }

  /** No sweep after this (the runtime is shutting down). */
  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private arm(): void {
    if (this.stopped || this.trackers.length === 0) return
    let next = Infinity
    for (const t of this.trackers) next = Math.min(next, t.due)
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = setTimeout(this.tick, Math.max(0, next - performance.now()))
    this.timer.unref()
  }

  private readonly tick = (): void => {
    this.timer = undefined
    try {
      this.sweepDue()
    } catch {
      // Only a runtime shutting down refuses a removal; stop() follows at once.
    }
    this.arm()
  }
}
