// The seed's "Method 2" example (Dynamic Registration) in TypeScript: typed metrics on an
// endpoint, a callback that refreshes them before every scrape, and Dynamo's status server.
// The endpoint is also served (in-process, or over NATS when NATS_SERVER is set) and the demo
// sends itself traffic, so Dynamo's automatic endpoint metrics move on every curl.
//
//   DYN_SYSTEM_PORT=8081 npm run demo      # then: curl localhost:8081/metrics
import { DistributedRuntime } from 'dynamo-metrics'

async function main(): Promise<void> {
  // Default to the seed's port; DYN_SYSTEM_* variables still win when set.
  if (process.env.DYN_SYSTEM_PORT === undefined) process.env.DYN_SYSTEM_PORT = '8081'
  const runtime = await DistributedRuntime.create()
  const endpoint = runtime.namespace('ns556').component('cp556').endpoint('ep556')

  const requestSlots = endpoint.metrics.createIntGauge('request_total_slots', 'Total request slots available')
  const gpuUsage = endpoint.metrics.createGauge('gpu_cache_usage_percent', 'GPU cache usage percentage')
  const workerRequests = endpoint.metrics.createIntGaugeVec(
    'worker_active_requests',
    'Active requests per worker',
    ['worker_id', 'model'] as const,
  )
  const updateCount = endpoint.metrics.createIntCounter(
    'internal_update_count',
    'Number of times metrics callback was invoked',
    [['type', 'internal']],
  )

  // Runs before every scrape of /metrics.
  endpoint.registerMetricsCallback(() => {
    requestSlots.set(1024)
    gpuUsage.set(Math.round(Math.random() * 10000) / 100)
    updateCount.inc()
  })

  workerRequests.set(5, { worker_id: 'worker_1', model: 'llama-3' })
  workerRequests.set(3, { worker_id: 'worker_2', model: 'llama-3' })

  // Serve the endpoint: a streaming handler that echoes the prompt word by word. Requests,
  // duration, inflight, bytes, errors and cancellations are measured with no code here.
  await endpoint.serveEndpoint<{ prompt: string }, string>(async function* (request) {
    for (const word of request.prompt.split(' ')) {
      await new Promise((r) => setTimeout(r, 5))
      yield word
    }
  })
  const client = endpoint.client<{ prompt: string }, string>()
  await client.waitForInstances()
  const traffic = setInterval(() => {
    void (async () => {
      const words: string[] = []
      for await (const w of client.generate({ prompt: 'the quick brown fox' })) words.push(w)
    })().catch((e: unknown) => console.error('request failed:', e))
  }, 500)
  traffic.unref()
  runtime.setHealthStatus('ready')

  const server = runtime.systemStatusServer
  if (server === null) {
    console.log('The status server is disabled (DYN_SYSTEM_ENABLED is falsy); printing one scrape instead:\n')
    console.log(await runtime.prometheusMetricsFmt())
    await runtime.shutdown()
    return
  }
  const host = server.host === '0.0.0.0' ? 'localhost' : server.host
  console.log(`dynamo-metrics demo serving on ${server.host}:${server.port} (request plane: ${runtime.natsServer ?? 'in-process'})`)
  console.log(`  curl http://${host}:${server.port}/metrics`)
  console.log(`  curl http://${host}:${server.port}/health`)
  console.log('Press Ctrl+C to stop.')

  const stop = (): void => {
    clearInterval(traffic)
    void runtime.shutdown().then(() => console.log('shut down'))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
