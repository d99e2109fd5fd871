import { native } from './native'

export { DistributedRuntime, Namespace, Component, Endpoint } from './runtime'
export type { RuntimeOptions, SystemStatusServerInfo, ServedEndpoint } from './runtime'
export { Client } from './plane/client'
export type {
  JsonValue,
  RequestContext,
  EndpointHandler,
  ServeOptions,
  ClientOptions,
  EndpointStats,
  ServiceStats,
} from './plane/types'
export * from './kv-metrics'
export { Metrics } from './factory'
export type { ConstLabels, HistogramOptions } from './factory'
export {
  Counter,
  IntCounter,
  Gauge,
  IntGauge,
  Histogram,
  CounterVec,
  IntCounterVec,
  GaugeVec,
  IntGaugeVec,
  HistogramVec,
} from './metrics'
export type { MetricDescription } from './metrics'
export type { Labels, LabelValue } from './labels'
export type { MetricsCallback } from './callbacks'
export {
  MetricsError,
  InvalidNameError,
  InvalidLabelError,
  InvalidHelpError,
  InvalidBucketsError,
  InvalidValueError,
  DuplicateMetricError,
  MetricConflictError,
  ConfigError,
  ServerError,
  RuntimeClosedError,
  NatsError,
  HandlerError,
  EndpointError,
} from './errors'
/** Prometheus's default histogram buckets (defined once, in the Rust core). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze(native.defaultBuckets())
