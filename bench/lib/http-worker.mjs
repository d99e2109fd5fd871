// The Prometheus server stand-in of scrape_eventloop_100k: it runs on its own thread, so the
// HTTP client's work (socket reads, body decoding, checks) is not charged to the main event loop.
import { parentPort, workerData } from 'node:worker_threads'
import { checkCounterText, checkHistogramText, closeAgent, hr, httpGet } from './common.mjs'

const { port, metric, n, kind } = workerData

parentPort.on('message', async (msg) => {
  try {
    if (msg === 'ping') return parentPort.postMessage({ ok: true })
    if (msg === 'close') {
      closeAgent()
      return parentPort.close()
    }
    const t0 = hr()
    const r = await httpGet(port)
    const ms = Number(r.done - t0) / 1e6
    if (msg === 'get+check') {
      if (kind === 'histogram') checkHistogramText(r.body(), metric, n, 'GET /metrics (worker)')
      else checkCounterText(r.body(), metric, n, 'GET /metrics (worker)')
    }
    parentPort.postMessage({ ok: true, ms, bytes: r.bytes })
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e?.stack ?? e) })
  }
})
