import { scrapeContext } from '../binding/scrape-context'
import { isThenable, messageOf } from '../binding/errors'
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
  /**
   * Whether a run may await: true until the first run returned at once (or threw), and for good
   * once a run returned a Promise. Only such callbacks need the scrape's context (see
   * `CallbackTable.hook`).
   */
  mayAwait: boolean
  /** Whether it has run. */
  ran: boolean
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
  /** @internal Registers new series with Rust; set with `rt` (see `SeriesRegistrar`). */
  flushSeries: () => void = () => {}
  /** Registered callbacks that may await (of any level: a scrape with none of them is the common case). */
  private mayAwaitCount = 0
  /** Scrapes in `scrapeContext` whose callbacks are running or have not settled. */
  private open = 0

  add(id: number, fn: MetricsCallback, label: string): void {
    this.entries.set(id, { fn, label, run: null, mayAwait: true, ran: false })
    this.mayAwaitCount++
  }

  delete(id: number): void {
    const e = this.entries.get(id)
    if (e?.mayAwait === true) this.mayAwaitCount--
    this.entries.delete(id)
  }

  /**
   * Runs the callbacks of `req`; returns the failures at once when none returned a Promise (the
   * snapshot is then committed already), else a Promise of them.
   *
   * A callback that awaits the scrape running it is told so at once (a ScrapeError) rather than
   * waiting for the deadline: the scrape's token rides along its awaits in `scrapeContext`. That
   * context is entered only for scrapes with a callback that may await, and switched off once no
   * such scrape is open: while an AsyncLocalStorage is on, Node 20 runs a hook on every Promise
   * the process creates, which would slow every await of the application. A callback that has
   * only ever returned at once runs outside it; should it later return a Promise that awaits its
   * own scrape, that scrape waits for its deadline, answers, and counts the callback as late.
   */
  readonly hook = (req: ScrapeRequest): string[] | Promise<string[]> => {
    if (this.mayAwaitCount === 0) return this.runAll(req)
    this.open++
    let settled = true
    try {
      const out = scrapeContext.run(req.token, this.runAll, req)
      if (Array.isArray(out)) return out
      settled = false
      return out.finally(this.close)
    } finally {
      if (settled) this.close()
    }
  }

  private readonly close = (): void => {
    if (--this.open === 0) scrapeContext.disable()
  }

  /** Notes that a run of `e` returned at once (`awaits` false: its first run) or a Promise. */
  private learn(e: Entry, awaits: boolean): void {
    e.ran = true
    if (e.mayAwait === awaits) return
    e.mayAwait = awaits
    this.mayAwaitCount += awaits ? 1 : -1
  }

  private readonly runAll = (req: ScrapeRequest): string[] | Promise<string[]> => {
    const failures: string[] = []
    const pending: Promise<void>[] = []
    const ids = req.ids
    for (let i = 0; i < ids.length; i++) {
      const e = this.entries.get(ids[i])
      if (e === undefined || e.run !== null) continue
      try {
        const r = e.fn()
        // Most callbacks return nothing: that case costs no call.
        if (r === undefined || !isThenable(r)) {
          if (!e.ran) this.learn(e, false)
        } else {
          if (!e.mayAwait || !e.ran) this.learn(e, true)
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
        if (!e.ran) this.learn(e, false)
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
