import { native } from '../binding/native'

/** Default tick of the coarse clock: TTFT, ITL and durations are measured to about this. */
export const CLOCK_TICK_US = 500

interface Running {
  buf: Float64Array
  clock: { stop(): void }
  users: number
}

/** One clock thread per tick in use (normally one per process), whatever the number of runtimes. */
const clocks = new Map<number, Running>()

/** The buffer (milliseconds in `[0]`) of the clock ticking every `tickUs`, started on first use. */
export function acquireClock(tickUs: number): Float64Array {
  let r = clocks.get(tickUs)
  if (r === undefined) {
    const buf = new Float64Array(1)
    r = { buf, clock: new native.CoarseClock(buf, tickUs), users: 0 }
    clocks.set(tickUs, r)
  }
  r.users++
  return r.buf
}

/** Drops one hold on the clock of `tickUs`; its thread stops with the last one. */
export function releaseClock(tickUs: number): void {
  const r = clocks.get(tickUs)
  if (r === undefined) return
  if (--r.users === 0) {
    r.clock.stop()
    clocks.delete(tickUs)
  }
}
