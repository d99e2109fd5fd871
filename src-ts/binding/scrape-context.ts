import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The scrape a metrics callback runs for (its snapshot token), carried through the callback's
 * awaits: a `prometheusMetricsFmt()` it calls passes it along, so the core can refuse at once a
 * render that would wait for the scrape waiting for this very callback.
 */
export const scrapeContext = new AsyncLocalStorage<number>()
