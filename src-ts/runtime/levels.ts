import { scrapeContext } from '../binding/scrape-context'
import type { MetricsCallback, MetricsCallbackOptions } from './callbacks'
import { functionArg, integerOption, MAX_TIMER_MS, optionsArg, stringArg, stringOption } from '../binding/args'
import { call, callAsync } from '../binding/errors'
import { Metrics } from '../metrics/constructors'
import { Client } from '../plane/client'
import { serveEndpoint } from '../plane/serve'
import type { EndpointPath, Serving, Shared } from '../plane/state'
import { statsFromNats } from '../plane/stats'
import type { ClientOptions, EndpointHandler, JsonValue, ServeOptions, ServiceStats } from '../plane/types'

/** What every level has: metric constructors, callbacks and its own exposition text. */
export abstract class Level {
  /** Constructors of metrics that carry this level's `dynamo_*` labels. */
  readonly metrics: Metrics
  /** @internal */
  protected constructor(
    protected readonly shared: Shared,
    protected readonly node: number,
  ) {
    this.metrics = new Metrics(shared.rt, shared.store, node)
  }

  /** @internal This level as the log names it: `runtime`, `namespace 'ns'`, `endpoint 'ns.comp.ep'`. */
  protected abstract where(): string

  /**
   * Runs `callback` before every scrape of this level or an ancestor (sync or async). A throw or
   * rejection is logged (naming this level and `options.name`) and counted in
   * `dynamo_component_metrics_callback_errors_total`; the scrape still answers. Returns a
   * function that unregisters it.
   */
  registerMetricsCallback(callback: MetricsCallback, options: MetricsCallbackOptions = {}): () => void {
    functionArg(callback, 'registerMetricsCallback', 'callback')
    const name = stringOption(optionsArg<MetricsCallbackOptions>(options, 'registerMetricsCallback').name, 'registerMetricsCallback', 'options.name')
    const label = name === undefined ? `${this.where()}, unnamed callback` : `${this.where()}, callback ${JSON.stringify(name)}`
    const id = call(() => this.shared.rt.registerCallback(this.node))
    this.shared.callbacks.add(id, callback, label)
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
    return callAsync(() => {
      this.shared.store.expiry.sweepDue()
      this.shared.store.registrar.flush()
      // Called on the JS thread, so Rust runs the callbacks from here, through the same hook. From
      // inside a callback, the scrape running it comes along (see scrapeContext).
      return this.shared.rt.renderWith(this.node, scrapeContext.getStore() ?? null, this.shared.callbacks.hook)
    })
  }

  /** @internal */
  protected childNode(level: 'namespace' | 'component' | 'endpoint', name: string): number {
    return call(() => this.shared.rt.child(this.node, level, name))
  }

  /** @internal The name argument of `namespace()`, `component()` or `endpoint()`: a string (the core sanitizes it). */
  protected static levelName(level: 'namespace' | 'component' | 'endpoint', name: unknown): string {
    return stringArg(name, 'ERR_DYNAMO_INVALID_NAME', level, `${level} name`, true)
  }
}

/** Caches children so asking twice returns the same object. */
export function cached<T>(map: Map<string, T>, name: string, make: () => T): T {
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

  /** @internal */
  protected where(): string {
    return `endpoint '${this.path.namespace}.${this.path.component}.${this.path.endpoint}'`
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

  /** @internal */
  protected where(): string {
    return `component '${this.namespacePath}.${this.name}'`
  }
  endpoint(name: string): Endpoint {
    name = Level.levelName('endpoint', name)
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
    integerOption(timeoutMs, 'scrapeStats', 'timeoutMs', 0, MAX_TIMER_MS)
    const rt = this.shared.rt
    if (rt.natsUrl !== null) {
      const texts = await callAsync(() => rt.natsStats(this.namespacePath, this.name, timeoutMs))
      return texts.map(statsFromNats)
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

  /** @internal */
  protected where(): string {
    return `namespace '${this.path}'`
  }
  /** A nested namespace; its metrics are labelled `dynamo_namespace="<outer>_<inner>"`. */
  namespace(name: string): Namespace {
    name = Level.levelName('namespace', name)
    return cached(
      this.namespaces,
      name,
      () => new Namespace(this.shared, this.childNode('namespace', name), name, `${this.path}.${name}`),
    )
  }
  component(name: string): Component {
    name = Level.levelName('component', name)
    return cached(
      this.components,
      name,
      () => new Component(this.shared, this.childNode('component', name), name, this.path),
    )
  }
}
