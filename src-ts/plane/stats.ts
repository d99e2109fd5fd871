import { native } from '../binding/native'
import type { IngressStats } from './ingress'
import { type EndpointPath } from './state'
import type { EndpointStats, JsonValue, ServiceStats } from './types'

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

function endpointOf(raw: Record<string, unknown>): EndpointStats {
  const ep: EndpointStats = {
    name: str(raw.name),
    subject: str(raw.subject),
    queue_group: str(raw.queue_group),
    num_requests: num(raw.num_requests),
    num_errors: num(raw.num_errors),
    processing_time: num(raw.processing_time),
    average_processing_time: num(raw.average_processing_time),
    last_error: str(raw.last_error),
  }
  // NATS reports `data: null` for an endpoint without a statsHandler; in-process it is absent.
  if (raw.data !== undefined && raw.data !== null) ep.data = raw.data as JsonValue
  return ep
}

/** A `$SRV.STATS` answer in the one shape `scrapeStats()` returns (unknown fields dropped). */
export function statsFromNats(text: string): ServiceStats {
  const raw = JSON.parse(text) as Record<string, unknown>
  const eps = Array.isArray(raw.endpoints) ? (raw.endpoints as Record<string, unknown>[]) : []
  return {
    name: str(raw.name),
    id: str(raw.id),
    version: str(raw.version),
    started: str(raw.started),
    endpoints: eps.map(endpointOf),
  }
}

/** This process's stats of one served endpoint, as a NATS instance would report them. */
export function localStats(
  path: EndpointPath,
  instanceId: string,
  started: string,
  s: IngressStats,
  data: JsonValue | undefined,
): ServiceStats {
  const ep: EndpointStats = {
    name: path.endpoint,
    subject: native.endpointSubjectOf(path.namespace, path.component, path.endpoint, instanceId),
    queue_group: '',
    num_requests: s.requests,
    num_errors: s.errors,
    processing_time: Math.round(s.seconds * 1e9),
    average_processing_time: s.requests > 0 ? Math.round((s.seconds * 1e9) / s.requests) : 0,
    last_error: s.lastError,
  }
  if (data !== undefined && data !== null) ep.data = data
  return {
    name: native.serviceNameOf(path.namespace, path.component),
    id: instanceId,
    version: native.planeServiceVersion(),
    started,
    endpoints: [ep],
  }
}
