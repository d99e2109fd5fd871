import { randomBytes } from 'node:crypto'
import { TextDecoder } from 'node:util'
import { booleanOption, functionArg, functionOption, integerOption, MAX_TIMER_MS, optionsArg } from '../binding/args'
import { call, callAsync, EndpointError, messageOf } from '../binding/errors'
import type { NatsEvent, NatsServed } from '../binding/native'
import { EndpointMetrics } from './endpoint-metrics'
import { SHUTDOWN_MESSAGE } from './channel'
import { Ingress, type Responder } from './ingress'
import { pathKey, type EndpointPath, type Serving, type Shared } from './state'
import { localStats } from './stats'
import type { EndpointHandler, JsonValue, ServeOptions } from './types'

const EMPTY = Buffer.alloc(0)
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Serves an endpoint on the runtime's plane (NATS when configured, else in-process). */
export async function serveEndpoint(
  shared: Shared,
  node: number,
  path: EndpointPath,
  handler: EndpointHandler<JsonValue, JsonValue>,
  given: unknown,
): Promise<Serving> {
  functionArg(handler, 'serveEndpoint', 'handler')
  const options = checkServeOptions(given)
  const key = pathKey(path)
  if (shared.serving.has(key)) {
    throw new EndpointError(
      'ERR_DYNAMO_ENDPOINT',
      `endpoint '${path.endpoint}' of ${path.namespace}/${path.component} is already served by this process`,
    )
  }
  const creditTimeoutMs = options.creditTimeoutMs
  const metrics =
    options.autoMetrics === false ? null : new EndpointMetrics(shared.rt, shared.store, node, options.metricsLabels)
  const instanceId = randomBytes(8).toString('hex')
  const started = new Date().toISOString()
  const ingress = new Ingress(handler, metrics, instanceId)
  const statsData = (): JsonValue | undefined => {
    if (options.statsHandler === undefined) return undefined
    try {
      return options.statsHandler()
    } catch (e) {
      return { error: messageOf(e) }
    }
  }
  // Reserve the path before any await, so two concurrent serveEndpoint() calls cannot both win.
  const placeholder = { path } as Serving
  shared.serving.set(key, placeholder)
  let nats: NatsServed | null = null
  try {
    if (shared.rt.natsUrl !== null) nats = await startNats(shared, path, instanceId, ingress, creditTimeoutMs)
  } catch (e) {
    shared.serving.delete(key)
    throw e
  }
  // `$SRV.STATS` answers from the last published data: refreshed every second, not per request
  // (a request must not pay for the user's statsHandler and an N-API call).
  const served = nats
  const publishStats = (): void => {
    const data = statsData()
    if (served !== null && data !== undefined) call(() => served.setStats(JSON.stringify(data)))
  }
  publishStats()
  const statsTimer = served !== null && options.statsHandler !== undefined ? setInterval(publishStats, 1000) : undefined
  statsTimer?.unref()
  call(() => shared.rt.setEndpointHealth(path.endpoint, 'ready'))
  shared.retain()
  let stopping: Promise<void> | undefined
  const serving: Serving = {
    path,
    ingress,
    instanceId,
    statsData,
    stats: () => localStats(path, instanceId, started, ingress.stats, statsData()),
    stop: () =>
      (stopping ??= (async () => {
        if (statsTimer !== undefined) clearInterval(statsTimer)
        if (options.gracefulShutdown === false) ingress.abortAll()
        await ingress.drain()
        if (nats !== null) await nats.stop()
        shared.serving.delete(key)
        try {
          shared.rt.setEndpointHealth(path.endpoint, null)
        } catch {
          // the runtime is already closed
        }
        shared.release()
      })()),
  }
  shared.serving.set(key, serving)
  return serving
}

/** The serve options as given, each checked as a JS value (metricsLabels when the metrics are made). */
function checkServeOptions(given: unknown): ServeOptions {
  const where = 'serveEndpoint'
  const o = optionsArg<ServeOptions>(given, where)
  functionOption(o.statsHandler, where, 'options.statsHandler')
  booleanOption(o.gracefulShutdown, where, 'options.gracefulShutdown')
  booleanOption(o.autoMetrics, where, 'options.autoMetrics')
  integerOption(o.creditTimeoutMs, where, 'options.creditTimeoutMs', 1, MAX_TIMER_MS)
  return o
}

async function startNats(
  shared: Shared,
  path: EndpointPath,
  instanceId: string,
  ingress: Ingress,
  creditTimeoutMs: number | undefined,
): Promise<NatsServed> {
  const pending = new Map<number, () => void>()
  let served: NatsServed
  const onEvent = (ev: NatsEvent): void => {
    if (ev.kind === 'cancel') {
      pending.get(ev.token)?.()
      return
    }
    const payload = ev.payload ?? EMPTY
    let text: string | null
    try {
      text = utf8.decode(payload)
    } catch {
      text = null
    }
    const token = ev.token
    const out: Responder = {
      send: (t) => callAsync(() => served.send(token, Buffer.from(t))),
      end: (last) => call(() => served.finish(token, last === undefined ? EMPTY : Buffer.from(last), null, false)),
      fail: (m, kind) => call(() => served.finish(token, EMPTY, m, kind === 'delivery')),
      // Forget the request in Rust; a caller still listening (a shutdown) hears why.
      cancelled: (reason) => {
        try {
          served.finish(token, EMPTY, reason === 'shutdown' ? SHUTDOWN_MESSAGE : 'cancelled by the caller', false)
        } catch {
          // already ended (the connection dropped and Rust ended it)
        }
      },
    }
    const invalid = ev.requestId === '' ? 'the request has no Dynamo-Request-Id header' : undefined
    const id = ev.requestId === '' ? randomBytes(8).toString('hex') : ev.requestId
    const h = ingress.handle(text, payload.length, id, out, invalid)
    pending.set(token, h.cancel)
    void h.done.finally(() => pending.delete(token))
  }
  served = await callAsync(() => shared.rt.serveNats(path.namespace, path.component, path.endpoint, instanceId, creditTimeoutMs, onEvent))
  return served
}
