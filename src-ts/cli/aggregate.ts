import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DistributedRuntime, KvMetricsAggregator } from '../index'
import type { AggregateConfig } from './args'
import type { Logger } from './log'

const TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
/** Push retries back off from this, doubling, up to PUSH_BACKOFF_MAX_MS. */
const PUSH_BACKOFF_MIN_MS = 500
const PUSH_BACKOFF_MAX_MS = 30_000

/**
 * Dynamo's `metrics` component on the package's public API: a runtime on NATS, a
 * KvMetricsAggregator of the endpoint, and its llm_* text served or pushed. Resolves with a
 * function that stops it.
 */
export async function runAggregate(cfg: AggregateConfig, log: Logger, natsServer: string): Promise<() => Promise<void>> {
  const runtime = await DistributedRuntime.create({ natsServer, systemEnabled: false })
  const component = runtime.namespace(cfg.namespace).component(cfg.component)
  const aggregator = new KvMetricsAggregator(component, {
    endpoint: cfg.endpoint,
    pollIntervalMs: cfg.pollIntervalS * 1000,
    onWarning: (m) => log.warn(m),
  })
  await aggregator.ready
  const filter = `${aggregator.subjectPrefix.replace(/-$/, '')}`
  log.info(
    `Scraping service ${aggregator.service} and filtering on subject ${filter}` +
      (cfg.modelName === undefined ? '' : ` (model ${cfg.modelName})`),
  )
  const render = (): string =>
    aggregator.prometheusMetricsFmt({ component: cfg.component, endpoint: cfg.endpoint, model: cfg.modelName })

  // The seed's warning while no worker matches, stopping once one appears (and again if all leave).
  let seen: number | undefined
  const watch = setInterval(() => {
    const m = aggregator.getMetrics()
    if (m.endpoints.length === 0) log.warn(`No endpoints found matching subject ${filter}`)
    else if (seen !== m.endpoints.length) log.info(`Found ${m.endpoints.length} endpoint(s) matching subject ${filter}`)
    seen = m.endpoints.length
    log.debug(`aggregate: ${JSON.stringify(m)}`)
  }, cfg.pollIntervalS * 1000)

  let server: Server | undefined
  let pushTimer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  if (cfg.push === null) {
    server = createServer((req, res) => {
      if ((req.method === 'GET' || req.method === 'HEAD') && (req.url ?? '').split('?')[0] === '/metrics') {
        const body = render()
        res.writeHead(200, { 'content-type': TEXT_TYPE, 'content-length': Buffer.byteLength(body) })
        res.end(req.method === 'HEAD' ? undefined : body)
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' })
        res.end('not found; metrics are at /metrics\n')
      }
    })
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject)
      server!.listen(cfg.port, cfg.host, () => resolve())
    })
    const addr = server.address() as AddressInfo
    log.info(`Serving metrics on http://${addr.address}:${addr.port}/metrics`)
  } else {
    const push = cfg.push
    const target = `${push.url}/metrics/job/${encodeURIComponent(push.job)}`
    log.info(`Pushing metrics to ${target} every ${push.intervalS}s`)
    let failures = 0
    const once = async (): Promise<void> => {
      try {
        // PUT replaces the whole group, so series of workers that left go too.
        const res = await fetch(target, {
          method: 'PUT',
          headers: { 'content-type': TEXT_TYPE },
          body: render(),
          signal: AbortSignal.timeout(5000),
        })
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim().slice(0, 200)}`)
        if (failures > 0) log.info(`Pushes to ${target} resumed after ${failures} failure(s)`)
        failures = 0
        log.debug(`pushed to ${target}`)
      } catch (e) {
        failures++
        const cause = (e as { cause?: { message?: string } }).cause?.message
        log.warn(`Push to ${target} failed (attempt ${failures}): ${(e as Error).message}${cause ? ` (${cause})` : ''}`)
      }
    }
    const loop = async (): Promise<void> => {
      await once()
      if (stopped) return
      const delay =
        failures === 0
          ? push.intervalS * 1000
          : Math.min(PUSH_BACKOFF_MIN_MS * 2 ** (failures - 1), Math.max(PUSH_BACKOFF_MAX_MS, push.intervalS * 1000))
      pushTimer = setTimeout(() => void loop(), delay)
    }
    void loop()
  }

  return async () => {
    stopped = true
    clearInterval(watch)
    if (pushTimer !== undefined) clearTimeout(pushTimer)
    if (server !== undefined) {
      server.closeAllConnections()
      await new Promise<void>((r) => server!.close(() => r()))
    }
    aggregator.close()
    await runtime.shutdown()
  }
}
