// The worker: a toy model served as Dynamo endpoint dynamo/backend/generate through the request
// plane, with the seed's Method 2 metrics (registered on the endpoint, refreshed in a callback).
// Dynamo's automatic endpoint metrics (requests, bytes, errors, duration) need no code here.
import type { DistributedRuntime, Endpoint } from 'dynamo-metrics'

// Type aliases, not interfaces: they satisfy the plane's JsonValue constraint.
export type GenerateRequest = {
  prompt: string
  maxTokens: number
}
export type GenerateChunk = {
  token: string
}

const WORDS = 'the quick brown fox jumps over the lazy dog while a small model streams words one by one'.split(' ')

/** Serves the toy model on `runtime` and returns its endpoint. */
export async function startWorker(runtime: DistributedRuntime): Promise<Endpoint> {
  const endpoint = runtime.namespace('dynamo').component('backend').endpoint('generate')

  const requestSlots = endpoint.metrics.createIntGauge('request_total_slots', 'Total request slots available')
  const gpuUsage = endpoint.metrics.createGauge('gpu_cache_usage_percent', 'GPU cache usage percentage')
  const workerRequests = endpoint.metrics.createIntGaugeVec('worker_active_requests', 'Active requests per worker', ['worker_id', 'model'] as const)
  const updateCount = endpoint.metrics.createIntCounter('internal_update_count', 'Number of times metrics callback was invoked', [
    ['type', 'internal'],
  ])
  let active = 0
  endpoint.registerMetricsCallback(() => {
    requestSlots.set(1024)
    gpuUsage.set(Math.round(Math.random() * 10000) / 100)
    workerRequests.set(active, { worker_id: 'worker_1', model: 'toy' })
    updateCount.inc()
  })

  // The toy model: streams up to maxTokens words, 2-10 ms apart. An empty prompt is a handler
  // error, which the worker counts in dynamo_component_errors_total.
  await endpoint.serveEndpoint<GenerateRequest, GenerateChunk>(async function* (request) {
    if (typeof request.prompt !== 'string' || request.prompt.trim() === '') throw new Error('the prompt is empty')
    active++
    try {
      const n = Math.max(1, Math.min(request.maxTokens, 64))
      const seed = request.prompt.length
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, 2 + ((seed + i) % 9)))
        yield { token: WORDS[(seed + i) % WORDS.length] }
      }
    } finally {
      active--
    }
  })
  return endpoint
}
