export { WorkerMetricsPublisher, publishKvHitRate } from './publisher'
export type { CreateEndpointOptions } from './publisher'
export { KvMetricsAggregator } from './aggregator'
export type { KvMetricsAggregatorOptions } from './aggregator'
export type {
  ForwardPassMetrics,
  WorkerStats,
  KvStats,
  SpecDecodeStats,
  KvHitRateEvent,
  EndpointKvMetrics,
  AggregatedMetrics,
} from './types'
