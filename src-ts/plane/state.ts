import type { CallbackTable } from '../runtime/callbacks'
import type { NativeRuntime } from '../binding/native'
import type { SlabStore } from '../series/slab-store'
import type { NatsCalls } from './calls'
import type { Ingress } from './ingress'
import type { JsonValue, ServiceStats } from './types'

/** Where an endpoint sits: what NATS subjects and the in-process table are keyed by. */
export interface EndpointPath {
  /** Namespace names joined by `.` (namespaces nest). */
  readonly namespace: string
  readonly component: string
  readonly endpoint: string
}

export function pathKey(p: EndpointPath): string {
  return `${p.namespace}/${p.component}/${p.endpoint}`
}

/** A served endpoint of this process. */
export interface Serving {
  readonly path: EndpointPath
  readonly ingress: Ingress
  readonly instanceId: string
  /** Local stats in the NATS micro-service shape (for the in-process plane). */
  stats(): ServiceStats
  statsData(): JsonValue | undefined
  stop(): Promise<void>
}

/** What every level of one runtime shares. */
export interface Shared {
  rt: NativeRuntime
  store: SlabStore
  callbacks: CallbackTable
  /** The NATS caller side, made on the first NATS call. */
  natsCalls?: NatsCalls
  /** Endpoints served by this process, by path key (one instance each). */
  serving: Map<string, Serving>
  /** Keeps the process alive while the status server runs or an endpoint is served. */
  retain(): void
  release(): void
}
