import { scrapeContext } from '../binding/scrape-context'
import { messageOf } from '../binding/errors'
import type { NativeRuntime, ScrapeRequest } from '../binding/native'

/** A function run before every scrape of its level (or an ancestor's); may return a Promise. */
export type MetricsCallback = () => void | Promise<void>

/** Options of `registerMetricsCallback`. */
export interface MetricsCallbackOptions {
  /** Named in the log line of a failure, beside the level's path (e.g. `'refresh-kv-stats'`). */
  name?: string
}

interface Entry {
  fn: MetricsCallback
  /** Who failed, for the log line: the level's path and the callback's name when given. */
  label: string
  /**
   * An async run that has not settled yet (it may have missed a deadline); it is not started
   * again. Holding it also keeps the scrape's promise chain reachable: a callback promise that
   * never settles and that nothing references would otherwise be garbage-collected with the
   * chain, and Rust would see the scrape's answer dropped instead of its deadline passing.
   */
  run: Promise<void> | null
}

/**
 * The JS side of a scrape: Rust asks for a list of callback ids; they run once each, in
 * registration order; then the slab snapshot is committed on this thread, so Rust encodes a
 * consistent state off the JS thread. Failures are returned for Rust to log and count.
 */
export class CallbackTable {
  private readonly entries = new Map<number, Entry>()
  /** @internal Set once the native runtime exists (the hook is created before it). */
  rt: NativeRuntime | undefined
  /** @internal Registers new series with Rust; set with `rt` (see `PendingSeries`). */
  flushSeries: () => void = () => {}

  add(id: number, fn: MetricsCallback, label: string): void {
    this.entries.set(id, { fn, label, run: null })
  }

  delete(id: number): void {
    this.entries.delete(id)
  }

  /**
   * Runs the callbacks of `req`; returns the failures at once when none returned a Promise (the
   * snapshot is then committed already), else a Promise of them. The scrape's context is entered
   * once around them all, not once per callback: what a callback starts (its awaits included)
   * carries the token either way, and entering it per callback was most of a small render's cost.
   */
  readonly hook = (req: ScrapeRequest): string[] | Promise<string[]> =>
    scrapeContext.run(req.token, this.runAll, req)

  private readonly runAll = (req: ScrapeRequest): string[] | Promise<string[]> => {
    const failures: string[] = []
    const pending: Promise<void>[] = []
    for (const id of req.ids) {
      const e = this.entries.get(id)
      if (e === undefined || e.run !== null) continue
      try {
        const r = e.fn()
        if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') {
          e.run = Promise.resolve(r).then(
            () => {
              e.run = null
            },
            (err: unknown) => {
              e.run = null
              failures.push(`${e.label}: ${messageOf(err)}`)
            },
          )
          pending.push(e.run)
        }
      } catch (err) {
        failures.push(`${e.label}: ${messageOf(err)}`)
      }
    }
    if (pending.length === 0) return this.settled(req, failures)
    return Promise.all(pending).then(() => this.settled(req, failures))
  }

  /** Commits the snapshot of a scrape whose callbacks all settled. */
  private settled(req: ScrapeRequest, failures: string[]): string[] {
    // Series a callback created are in this scrape, as its values are.
    this.flushSeries()
    this.rt?.commitSnapshot(req.token)
    return failures
  }
}
