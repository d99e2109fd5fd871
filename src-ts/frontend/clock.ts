import { native } from '../native'

/** Resolution of the coarse clock: TTFT, ITL and durations are measured to about this. */
export const CLOCK_TICK_US = 250

let buf: Float64Array | null = null
let clock: { stop(): void } | null = null
let users = 0

/**
 * The coarse clock's buffer (milliseconds in `[0]`), started on first use. One thread per
 * process whatever the number of runtimes; it stops when the last user releases it.
 */
export function acquireClock(): Float64Array {
  if (users++ === 0 || buf === null) {
    buf = new Float64Array(1)
    clock = new native.CoarseClock(buf, CLOCK_TICK_US)
  }
  return buf
}

export function releaseClock(): void {
  if (users === 0) return
  if (--users === 0 && clock !== null) {
    clock.stop()
    clock = null
    buf = null
  }
}
