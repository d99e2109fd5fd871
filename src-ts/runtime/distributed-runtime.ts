import { constants as bufferConstants } from 'node:buffer'
import type { RuntimeOptions } from '../binding/options'
import { optionsArg, stringArg } from '../binding/args'
import { call, callAsync } from '../binding/errors'
import { type FrontendMetrics, type FrontendMetricsOptions, frontendMetricsOf, releaseFrontendMetrics } from '../frontend'
import { native } from '../binding/native'
import type { Shared } from '../plane/state'
import { SLAB_SIZE } from '../series/layout'
import { SlabStore } from '../series/slab-store'
import { CallbackTable } from './callbacks'
import { cached, Level, Namespace } from './levels'

export type { RuntimeOptions }

export interface SystemStatusServerInfo {
  readonly host: string
  readonly port: number
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

  /** @internal */
  protected where(): string {
    return 'runtime'
  }

  /** Creates the runtime; starts the status server when the options or environment enable it. */
  static async create(options: RuntimeOptions = {}): Promise<DistributedRuntime> {
    const given = optionsArg<RuntimeOptions>(options, 'DistributedRuntime.create')
    const callbacks = new CallbackTable()
    const init = { ...given, slabSize: SLAB_SIZE, maxStringLength: bufferConstants.MAX_STRING_LENGTH }
    const rt = await callAsync(() => native.createRuntime(init, callbacks.hook))
    callbacks.rt = rt
    const info = rt.serverInfo
    const server = info ? Object.freeze({ host: info.host, port: info.port }) : null
    let holds = 0
    let keepAlive: ReturnType<typeof setInterval> | undefined
    const store = new SlabStore(rt)
    // A scrape whose callbacks ran on the JS thread first drops the series idle past their TTL.
    callbacks.flushSeries = () => {
      store.expiry.sweepDue()
      store.registrar.flush()
    }
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
    name = Level.levelName('namespace', name)
    return cached(this.namespaces, name, () => new Namespace(this.shared, this.childNode('namespace', name), name, name))
  }

  /** URL of the NATS server of the request plane, or null when endpoints are served in-process. */
  get natsServer(): string | null {
    return this.shared.rt.natsUrl
  }

  /**
   * Dynamo's frontend metrics (`dynamo_frontend_*`, no hierarchy labels) in this runtime's
   * output; asking again with the same prefix returns the same set.
   */
  frontendMetrics(options?: FrontendMetricsOptions): FrontendMetrics {
    return frontendMetricsOf(this.shared, options)
  }

  /** Sets the process-level health reported by `/health` and `/live`. */
  setHealthStatus(status: 'ready' | 'notready'): void {
    const s = stringArg(status, 'ERR_DYNAMO_CONFIG', 'setHealthStatus', 'status')
    call(() => this.shared.rt.setHealthStatus(s))
  }

  /**
   * Stops serving endpoints (letting in-flight requests finish unless `gracefulShutdown: false`),
   * then the status server, the callbacks and the NATS connection; the process can then exit.
   */
  shutdown(): Promise<void> {
    // No expiry sweep from here on: its timer is cleared, so nothing of ours keeps the process.
    this.shared.store.expiry.stop()
    this.closing ??= (async () => {
      await Promise.allSettled([...this.shared.serving.values()].map((s) => s.stop?.()))
      await this.shared.rt.shutdown()
      this.shared.store.registrar.closed = true
      releaseFrontendMetrics(this.shared)
      if (this.systemStatusServer !== null) this.shared.release()
    })()
    return this.closing
  }
}
