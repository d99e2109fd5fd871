/** Method 1 wire types in camelCase (Dynamo's snake_case on NATS). Plain objects are accepted. */

export interface WorkerStats {
  dataParallelRank?: number | null
  requestActiveSlots: number
  requestTotalSlots: number
  numRequestsWaiting: number
}

export interface KvStats {
  kvActiveBlocks: number
  kvTotalBlocks: number
  /** A fraction from 0 to 1. */
  gpuCacheUsagePerc: number
  /** A fraction from 0 to 1. */
  gpuPrefixCacheHitRate: number
}

export interface SpecDecodeStats {
  numSpecTokens?: number | null
  numDrafts?: number | null
  numDraftTokens?: number | null
  numAcceptedTokens?: number | null
  numAcceptedTokensPerPos?: readonly number[] | null
}

export interface ForwardPassMetrics {
  workerStats: WorkerStats
  kvStats: KvStats
  specDecodeStats?: SpecDecodeStats | null
}

/** What `publishKvHitRate` sends. `workerId` is an i64: a safe integer, or a decimal string. */
export interface KvHitRateEvent {
  workerId: number | string
  islBlocks: number
  overlapBlocks: number
}

/** One live worker of the aggregate (Dynamo's `EndpointKvMetrics`). */
export interface EndpointKvMetrics {
  /** The worker id (an i64) in decimal, as the `worker_id` label shows it. */
  workerId: string
  requestActiveSlots: number
  requestTotalSlots: number
  kvActiveBlocks: number
  kvTotalBlocks: number
  numRequestsWaiting: number
  gpuCacheUsagePerc: number
  gpuPrefixCacheHitRate: number
}

/** Dynamo's `AggregatedMetrics`: live workers, mean and population std of `kvActiveBlocks`. */
export interface AggregatedMetrics {
  endpoints: EndpointKvMetrics[]
  loadAvg: number
  loadStd: number
}
