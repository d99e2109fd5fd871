import { randomBytes } from 'node:crypto'
import { argError, integerOption, MAX_TIMER_MS, optionsArg, stringArg } from '../binding/args'
import { callAsync, EndpointError, messageOf } from '../binding/errors'
import type { NatsInstance } from '../binding/native'
import { NatsCalls } from './calls'
import { Channel } from './channel'
import { pathKey, type EndpointPath, type Shared } from './state'
import type { ClientOptions, JsonValue } from './types'

/** Request ids: unique per process (random prefix) and cheap (a counter, no crypto per request). */
const ID_PREFIX = randomBytes(6).toString('hex')
let nextId = 0
function requestId(): string {
  return `${ID_PREFIX}-${(nextId++).toString(36)}`
}

/** A request as its JSON text; a value JSON cannot carry (a bigint, a cycle, a function) is refused. */
function requestText(request: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(request)
  } catch (e) {
    throw argError('ERR_DYNAMO_INVALID_ARGUMENT', 'client request', 'request', request, `a JSON value (${messageOf(e)})`)
  }
  if (text === undefined) throw argError('ERR_DYNAMO_INVALID_ARGUMENT', 'client request', 'request', request, 'a JSON value')
  return text
}

/** Responses a worker may send ahead of what the caller has read (see `ClientOptions.creditWindow`). */
export const DEFAULT_CREDIT_WINDOW = 256
/** Stays well under async-nats's 65,536-message subscription buffer, which drops on overflow. */
export const MAX_CREDIT_WINDOW = 16_384

/** How long a NATS discovery waits for `$SRV.INFO` answers, and how long its result is reused. */
const DISCOVERY_WAIT_MS = 100
const DISCOVERY_TTL_MS = 1000

/**
 * Calls an endpoint's instances: in-process when this runtime has no NATS server, else over NATS.
 * Every call returns an async iterable of responses; breaking out of it cancels the request on
 * the serving side.
 */
export class Client<Req extends JsonValue = JsonValue, Res extends JsonValue = JsonValue> {
  private rr = 0
  private cache: { at: number; instances: NatsInstance[] } | undefined
  private discovering: Promise<NatsInstance[]> | undefined
  private readonly idleMs: number
  private readonly window: number
  /** Whether calls go over NATS (fixed when the runtime is made; read once, not per call through N-API). */
  private readonly nats: boolean

  /** @internal */
  constructor(
    private readonly shared: Shared,
    private readonly path: EndpointPath,
    given?: ClientOptions,
  ) {
    const options = optionsArg<ClientOptions>(given, 'client')
    this.idleMs = integerOption(options.idleTimeoutMs, 'client', 'options.idleTimeoutMs', 1, MAX_TIMER_MS) ?? 60_000
    this.window = integerOption(options.creditWindow, 'client', 'options.creditWindow', 1, MAX_CREDIT_WINDOW) ?? DEFAULT_CREDIT_WINDOW
    this.nats = shared.rt.natsUrl !== null
  }


  private async instances(fresh = false): Promise<NatsInstance[]> {
    if (!this.nats) {
      const s = this.shared.serving.get(pathKey(this.path))
      return s?.ingress === undefined ? [] : [{ id: s.instanceId, subject: pathKey(this.path) }]
    }
    const cache = this.cache
    if (!fresh && cache !== undefined) {
      // A stale list is still served while one discovery refreshes it in the background: a
      // discovery waits 100 ms, which no request should pay, let alone every concurrent one.
      if (Date.now() - cache.at >= DISCOVERY_TTL_MS) void this.discover().catch(() => {})
      return cache.instances
    }
    return this.discover()
  }

  /** One discovery at a time; concurrent callers share it. */
  private discover(): Promise<NatsInstance[]> {
    this.discovering ??= (async () => {
      try {
        const { namespace, component, endpoint } = this.path
        const instances = await callAsync(() => this.shared.rt.natsDiscover(namespace, component, endpoint, DISCOVERY_WAIT_MS))
        this.cache = { at: Date.now(), instances }
        return instances
      } finally {
        this.discovering = undefined
      }
    })()
    return this.discovering
  }

  /** Ids (lowercase hex) of the live instances serving this endpoint. */
  async instanceIds(): Promise<string[]> {
    return (await this.instances(true)).map((i) => i.id)
  }

  /** Resolves with the instance ids once at least one instance serves this endpoint. */
  async waitForInstances(timeoutMs = 30_000): Promise<string[]> {
    integerOption(timeoutMs, 'waitForInstances', 'timeoutMs', 0, MAX_TIMER_MS)
    const end = Date.now() + timeoutMs
    for (;;) {
      const ids = await this.instanceIds()
      if (ids.length > 0) return ids
      if (Date.now() >= end) {
        throw new EndpointError('ERR_DYNAMO_ENDPOINT', `no instance of ${this.describe()} appeared within ${timeoutMs} ms`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Sends `request` to the next instance in turn (round robin). */
  generate(request: Req): AsyncIterable<Res> {
    return this.roundRobin(request)
  }

  /** Sends `request` to a random instance. */
  random(request: Req): AsyncIterable<Res> {
    return this.call(request, (list) => list[Math.floor(Math.random() * list.length)])
  }

  /** Sends `request` to the instances in turn. */
  roundRobin(request: Req): AsyncIterable<Res> {
    return this.call(request, (list) => list[this.rr++ % list.length])
  }

  /** Sends `request` to instance `instanceId`. */
  direct(request: Req, instanceId: string): AsyncIterable<Res> {
    stringArg(instanceId, 'ERR_DYNAMO_INVALID_ARGUMENT', 'direct', 'instanceId')
    return this.call(request, (list) => {
      const hit = list.find((i) => i.id === instanceId)
      if (hit === undefined) {
        throw new EndpointError('ERR_DYNAMO_ENDPOINT', `instance '${instanceId}' does not serve ${this.describe()}`)
      }
      return hit
    })
  }

  private describe(): string {
    const { namespace, component, endpoint } = this.path
    return `endpoint '${endpoint}' of ${namespace}/${component}`
  }

  private call(request: Req, pick: (list: NatsInstance[]) => NatsInstance): AsyncGenerator<Res> {
    // Checked at the call, not at the first `next()`: a request that is no JSON value never leaves.
    return this.send(requestText(request), pick)
  }

  private async *send(text: string, pick: (list: NatsInstance[]) => NatsInstance): AsyncGenerator<Res> {
    let list = await this.instances()
    if (list.length === 0 && this.nats) list = await this.instances(true)
    if (list.length === 0) throw new EndpointError('ERR_DYNAMO_ENDPOINT', `no instance serves ${this.describe()}`)
    const target = pick(list)
    if (!this.nats) return yield* this.inProcess(text)
    try {
      yield* this.overNats(target, text)
    } catch (e) {
      // The instance is gone: look again next time instead of trusting the cached list.
      if (e instanceof EndpointError) this.cache = undefined
      throw e
    }
  }

  private async *inProcess(text: string): AsyncGenerator<Res> {
    const serving = this.shared.serving.get(pathKey(this.path))
    if (serving?.ingress === undefined) throw new EndpointError('ERR_DYNAMO_ENDPOINT', `no instance serves ${this.describe()}`)
    const channel = new Channel(this.window)
    const id = requestId()
    // Serialized as on the wire, so byte counts mean the same on both planes.
    const h = serving.ingress.handle(text, Buffer.byteLength(text), id, channel)
    let finished = false
    try {
      for (;;) {
        const item = await channel.next()
        if (item === undefined) {
          finished = true
          return
        }
        yield JSON.parse(item) as Res
      }
    } catch (e) {
      finished = true
      throw e
    } finally {
      if (!finished) {
        h.cancel()
        channel.release()
      }
    }
  }

  private async *overNats(target: NatsInstance, text: string): AsyncGenerator<Res> {
    const id = requestId()
    const rt = this.shared.rt
    const calls = (this.shared.natsCalls ??= new NatsCalls(rt))
    const { key, reply } = calls.request(target.subject, id, Buffer.from(text), this.idleMs, this.window)
    let finished = false
    try {
      let r = await reply
      for (;;) {
        if (r.payload === null || r.payload === undefined) {
          finished = true
          return
        }
        const last = r.done
        if (last) finished = true
        yield JSON.parse(r.payload.toString('utf8')) as Res
        if (last) return
        r = await calls.next(key, this.idleMs)
      }
    } catch (e) {
      finished = true
      throw e
    } finally {
      if (!finished) {
        calls.close(key)
        await rt.natsCancel(target.subject, id).catch(() => {})
      }
    }
  }
}
