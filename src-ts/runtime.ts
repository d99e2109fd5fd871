import { CallbackTable, type MetricsCallback } from './callbacks'
import { call, callAsync } from './errors'
import { Metrics } from './factory'
import { native } from './native'
import { Client } from './plane/client'
import { serveEndpoint } from './plane/serve'
import type { EndpointPath, Serving, Shared } from './plane/state'
import type { ClientOptions, EndpointHandler, JsonValue, ServeOptions, ServiceStats } from './plane/types'
import { SLAB_SIZE, SlabStore } from './store'

export interface RuntimeOptions {
  /** Start the system status server; wins over `DYN_SYSTEM_ENABLED` / `DYN_SYSTEM_PORT`. */
  systemEnabled?: boolean
  /** Port of the status server (0 = a free port); wins over `DYN_SYSTEM_PORT` and enables the server. */
  systemPort?: number
  /** Address to bind; wins over `DYN_SYSTEM_HOST` (default `0.0.0.0`). */
  systemHost?: string
  /** `ready` or `notready`; wins over `DYN_SYSTEM_STARTING_HEALTH_STATUS` (default `notready`). */
  startingHealthStatus?: 'ready' | 'notready'
  /** Wins over `DYN_SYSTEM_HEALTH_PATH` (default `/health`). */
  healthPath?: string
  /** Wins over `DYN_SYSTEM_LIVE_PATH` (default `/live`). */
  livePath?: string
  /** Endpoints that must be ready for `/health` to be 200; wins over `DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS`. */
  useEndpointHealthStatus?: string[]
  /** Deadline for the callbacks of one scrape in ms; wins over `DYN_METRICS_SCRAPE_TIMEOUT_MS` (default 1000). */
  scrapeTimeoutMs?: number
  /** NATS server of the request plane (e.g. `nats://127.0.0.1:4222`); wins over `NATS_SERVER`. Without one, endpoints are served in-process. */
  natsServer?: string
}

export interface SystemStatusServerInfo {
  readonly host: string
  readonly port: number
}

/** What every level has: metric constructors, callbacks and its own exposition text. */
abstract class Level {
  /** Constructors of metrics that carry this level's `dynamo_*` labels. */
  readonly metrics: Metrics
  /** @internal */
  protected constructor(
    protected readonly shared: Shared,
    protected readonly node: number,
  ) {
    this.metrics = new Metrics(shared.rt, shared.store, node)
  }

  /**
   * Runs `callback` before every scrape of this level or an ancestor (sync or async). A throw or
   * rejection is logged and counted in `dynamo_component_metrics_callback_errors_total`; the
   * scrape still answers. Returns a function that unregisters it.
   */
  registerMetricsCallback(callback: MetricsCallback): () => void {
    if (typeof callback !== 'function') throw new TypeError('registerMetricsCallback expects a function')
    const id = call(() => this.shared.rt.registerCallback(this.node))
    this.shared.callbacks.add(id, callback)
    let done = false
    return () => {
      if (done) return
      done = true
      this.shared.rt.unregisterCallback(id)
      this.shared.callbacks.delete(id)
    }
  }

  /** Runs this subtree's callbacks and renders this level plus its descendants (Prometheus text 0.0.4). */
  prometheusMetricsFmt(): Promise<string> {
    return callAsync(async () => {
      this.shared.store.pending.flush()
      // Called on the JS thread, so Rust runs the callbacks from here, through the same hook.
      return this.shared.rt.renderWith(this.node, this.shared.callbacks.hook)
    })
  }

  /** @internal */
  protected childNode(level: 'namespace' | 'component' | 'endpoint', name: string): number {
    return call(() => this.shared.rt.child(this.node, level, name))
  }
}

/** Caches children so asking twice returns the same object. */
function cached<T>(map: Map<string, T>, name: string, make: () => T): T {
  let c = map.get(name)
  if (c === undefined) {
    c = make()
    map.set(name, c)
  }
  return c
}

/** A served endpoint: its instance id, and a way to stop serving it. */
export interface ServedEndpoint {
  /** This instance's id (lowercase hex), as `client.instanceIds()` reports it. */
  readonly instanceId: string
  /** Stops serving (in-flight requests finish first unless `gracefulShutdown` is false). */
  stop(): Promise<void>
}

export class Endpoint extends Level {
  /** @internal */
  constructor(
    shared: Shared,
    node: number,
    readonly name: string,
    private readonly path: EndpointPath,
  ) {
    super(shared, node)
  }

  /**
   * Serves this endpoint: `handler` gets each request (a JSON value) and returns one response or
   * an async iterable of them. Dynamo's automatic endpoint metrics are recorded for every
   * request. Over NATS when the runtime has a NATS server, else in-process.
   */
  async serveEndpoint<Req extends JsonValue = JsonValue, Res extends JsonValue = JsonValue>(
    handler: EndpointHandler<Req, Res>,
    options: ServeOptions = {},
  ): Promise<ServedEndpoint> {
    const s: Serving = await serveEndpoint(
      this.shared,
      this.node,
      this.path,
      handler as unknown as EndpointHandler<JsonValue, JsonValue>,
      options,
    )
    return { instanceId: s.instanceId, stop: () => s.stop() }
  }

  /** A client of this endpoint's instances. */
  client<Req extends JsonValue = JsonValue, Res extends JsonValue = JsonValue>(options?: ClientOptions): Client<Req, Res> {
    return new Client<Req, Res>(this.shared, this.path, options)
  }
}

export class Component extends Level {
  private readonly endpoints = new Map<string, Endpoint>()
  /** @internal */
  constructor(
    shared: Shared,
    node: number,
    readonly name: string,
    private readonly namespacePath: string,
  ) {
    super(shared, node)
  }
  endpoint(name: string): Endpoint {
    return cached(
      this.endpoints,
      name,
      () =>
        new Endpoint(this.shared, this.childNode('endpoint', name), name, {
          namespace: this.namespacePath,
          component: this.name,
          endpoint: name,
        }),
    )
  }

  /**
   * The stats of every live instance of this component's served endpoints: over NATS the
   * `$SRV.STATS` answers gathered for `timeoutMs`, in-process this process's own; each endpoint's
   * `data` is its `statsHandler` value.
   */
  async scrapeStats(timeoutMs = 1000): Promise<ServiceStats[]> {
    const rt = this.shared.rt
    if (rt.natsUrl !== null) {
      const texts = await callAsync(() => rt.natsStats(this.namespacePath, this.name, timeoutMs))
      return texts.map((t) => JSON.parse(t) as ServiceStats)
    }
    return [...this.shared.serving.values()]
      .filter((s) => s.path.namespace === this.namespacePath && s.path.component === this.name && s.ingress !== undefined)
      .map((s) => s.stats())
  }
}

export class Namespace extends Level {
  private readonly namespaces = new Map<string, Namespace>()
  private readonly components = new Map<string, Component>()
  /** @internal */
  constructor(
    shared: Shared,
    node: number,
    readonly name: string,
    private readonly path: string,
  ) {
    super(shared, node)
  }
  /** A nested namespace; its metrics are labelled `dynamo_namespace="<outer>_<inner>"`. */
  namespace(name: string): Namespace {
    return cached(
      this.namespaces,
      name,
      () => new Namespace(this.shared, this.childNode('namespace', name), name, `${this.path}.${name}`),
    )
  }
  component(name: string): Component {
    return cached(
      this.components,
      name,
      () => new Component(this.shared, this.childNode('component', name), name, this.path),
    )
  }
}

export class DistributedRuntime extends Level {
  private readonly namespaces = new Map<string, Namespace>()
  private closing: Promise<void> | undefined
  /** Bound address of the system status server, or null when it is not running. */
  readonly systemStatusServer: SystemStatusServerInfo | null

  private constructor(shared: Shared, server: SystemStatusServerInfo | null) {
    super(shared, 0)
    this.systemStatusServer = server
    // Like a Node HTTP server, a running status server keeps the process alive until shutdown().
    if (server !== null) shared.retain()
  }

  /** Creates the runtime; starts the status server when the options or environment enable it. */
  static async create(options: RuntimeOptions = {}): Promise<DistributedRuntime> {
    const callbacks = new CallbackTable()
    const rt = await callAsync(() => native.createRuntime({ ...options, slabSize: SLAB_SIZE }, callbacks.hook))
    callbacks.rt = rt
    const info = rt.serverInfo
    const server = info ? Object.freeze({ host: info.host, port: info.port }) : null
    let holds = 0
    let keepAlive: ReturnType<typeof setInterval> | undefined
    const store = new SlabStore(rt)
    callbacks.flushSeries = () => store.pending.flush()
    const shared: Shared = {
      rt,
      store,
      callbacks,
      serving: new Map(),
      retain: () => {
        if (holds++ === 0) keepAlive = setInterval(() => {}, 1 << 30)
      },
      release: () => {
        if (--holds === 0 && keepAlive !== undefined) {
          clearInterval(keepAlive)
          keepAlive = undefined
        }
      },
    }
    return new DistributedRuntime(shared, server)
  }

  namespace(name: string): Namespace {
    return cached(this.namespaces, name, () => new Namespace(this.shared, this.childNode('namespace', name), name, name))
  }

  /** URL of the NATS server of the request plane, or null when endpoints are served in-process. */
  get natsServer(): string | null {
    return this.shared.rt.natsUrl
  }

  /** Sets the process-level health reported by `/health` and `/live`. */
  setHealthStatus(status: 'ready' | 'notready'): void {
    call(() => this.shared.rt.setHealthStatus(status))
  }

  /**
   * Stops serving endpoints (letting in-flight requests finish unless `gracefulShutdown: false`),
   * then the status server, the callbacks and the NATS connection; the process can then exit.
   */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.shared.serving.values()].map((s) => s.stop?.()))
      await this.shared.rt.shutdown()
      this.shared.store.pending.closed = true
      if (this.systemStatusServer !== null) this.shared.release()
    })()
    return this.closing
  }
}
