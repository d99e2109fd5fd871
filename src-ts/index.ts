import { native } from './binding/native'

export { DistributedRuntime } from './runtime/distributed-runtime'
export { Namespace, Component, Endpoint } from './runtime/levels'
export type { RuntimeOptions, SystemStatusServerInfo } from './runtime/distributed-runtime'
export type { ServedEndpoint } from './runtime/levels'
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
export { Metrics } from './metrics/constructors'
export type { ConstLabels, HistogramOptions, HistogramVecOptions, VecOptions } from './metrics/constructors'
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
export { FrontendMetrics, RequestTracker } from './frontend'
export type {
  FrontendMetricsOptions,
  LogBucketsOptions,
  ModelConfig,
  StartRequestOptions,
  FinishOptions,
  FrontendEndpoint,
  FrontendErrorType,
  FrontendRequestType,
  FrontendStatus,
  FrontendFamilies,
  FrontendHistogramKey,
  ModelConfigKey,
  RequestLabel,
} from './frontend'
export type { Labels, LabelValue } from './series/label-index'
export type { MetricsCallback, MetricsCallbackOptions } from './runtime/callbacks'
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
  InvalidArgumentError,
  ScrapeError,
} from './binding/errors'
/** Prometheus's default histogram buckets (defined once, in the Rust core). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze(native.defaultBuckets())
