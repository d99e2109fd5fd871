import { call } from '../binding/errors'
import { type FamilyHandle, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, scalar } from '../metrics'
import type { NativeRuntime } from '../binding/native'
import type { SlabStore } from '../series/slab-store'

/** Option keys of the log-bucketed histograms (the core's `frontend::HISTOGRAMS`). */
export type FrontendHistogramKey = 'requestDuration' | 'inputSequence' | 'outputSequence' | 'ttft' | 'itl'

/** Dynamo's `ModelRuntimeConfig` / model card gauges, by option key: [name suffix, help]. */
export const MODEL_GAUGES = {
  totalKvBlocks: ['model_total_kv_blocks', 'Total KV cache blocks available for a worker serving the model'],
  maxNumSeqs: ['model_max_num_seqs', 'Maximum number of sequences for a worker serving the model'],
  maxNumBatchedTokens: ['model_max_num_batched_tokens', 'Maximum number of batched tokens for a worker serving the model'],
  contextLength: ['model_context_length', 'Maximum context length in tokens for a worker serving the model'],
  kvCacheBlockSize: ['model_kv_cache_block_size', 'KV cache block size in tokens for a worker serving the model'],
  migrationLimit: ['model_migration_limit', 'Maximum number of request migrations allowed for the model'],
} as const

export type ModelConfigKey = keyof typeof MODEL_GAUGES

type M = 'model'
export type RequestLabel = 'model' | 'endpoint' | 'request_type' | 'status' | 'error_type'

/** Every family of one frontend metrics set (Dynamo's names, types, labels and help texts). */
export interface FrontendFamilies {
  readonly requestsTotal: IntCounterVec<RequestLabel>
  readonly inflightRequests: IntGaugeVec<M>
  readonly queuedRequests: IntGaugeVec<M>
  readonly disconnectedClients: IntGauge
  readonly requestDuration: HistogramVec<M>
  readonly inputSequenceTokens: HistogramVec<M>
  readonly outputSequenceTokens: HistogramVec<M>
  readonly timeToFirstToken: HistogramVec<M>
  readonly interTokenLatency: HistogramVec<M>
  readonly cachedTokens: HistogramVec<M>
  readonly outputTokensTotal: IntCounterVec<M>
  readonly modelConfig: { readonly [K in ModelConfigKey]: IntGaugeVec<M> }
}

/** @internal Creates the families at the runtime root with `prefix` (Rust sanitizes it once more). */
export function createFamilies(
  rt: NativeRuntime,
  store: SlabStore,
  prefix: string,
  buckets: Readonly<Record<FrontendHistogramKey, readonly number[]>>,
): FrontendFamilies {
  const family = (kind: string, vec: boolean, name: string, help: string, labelNames: string[], b?: readonly number[]): FamilyHandle => {
    const info = call(() =>
      rt.createFamily(0, { kind, vec, name, help, labelNames, constLabels: [], buckets: b === undefined ? undefined : [...b], prefix }),
    )
    return { rt, store, info }
  }
  const model = ['model'] as const
  const hist = (name: string, help: string, key: FrontendHistogramKey): HistogramVec<M> =>
    new HistogramVec(family('histogram', true, name, help, [...model], buckets[key]), model)
  const gauge = (name: string, help: string): IntGaugeVec<M> => new IntGaugeVec(family('intgauge', true, name, help, [...model]), model)
  const requestLabels = ['model', 'endpoint', 'request_type', 'status', 'error_type'] as const
  const modelConfig = {} as Record<ModelConfigKey, IntGaugeVec<M>>
  for (const [k, [name, help]] of Object.entries(MODEL_GAUGES)) modelConfig[k as ModelConfigKey] = gauge(name, help)
  return {
    requestsTotal: new IntCounterVec(
      family('intcounter', true, 'requests_total', 'Total number of LLM requests processed', [...requestLabels]),
      requestLabels,
    ),
    inflightRequests: gauge('inflight_requests', 'Number of inflight requests'),
    queuedRequests: gauge('queued_requests', 'Number of requests in HTTP processing queue'),
    disconnectedClients: scalar(
      family('intgauge', false, 'disconnected_clients', 'Number of disconnected clients', []),
      (s, o, d) => new IntGauge(s, o, d),
    ),
    requestDuration: hist('request_duration_seconds', 'Duration of LLM requests', 'requestDuration'),
    inputSequenceTokens: hist('input_sequence_tokens', 'Input sequence length in tokens', 'inputSequence'),
    outputSequenceTokens: hist('output_sequence_tokens', 'Output sequence length in tokens', 'outputSequence'),
    timeToFirstToken: hist('time_to_first_token_seconds', 'Time to first token in seconds', 'ttft'),
    interTokenLatency: hist('inter_token_latency_seconds', 'Inter-token latency in seconds', 'itl'),
    // Dynamo gives cached_tokens the input-sequence buckets.
    cachedTokens: hist('cached_tokens', 'Number of cached tokens (prefix cache hits) per request', 'inputSequence'),
    outputTokensTotal: new IntCounterVec(
      family('intcounter', true, 'output_tokens_total', 'Total number of output tokens generated (updates in real-time)', [...model]),
      model,
    ),
    modelConfig,
  }
}
