import { DistributedRuntime, WorkerMetricsPublisher, publishKvHitRate, type ForwardPassMetrics } from '../index'
import type { MockWorkerConfig } from './args'
import type { Logger } from './log'

const int = (n: number): number => Math.floor(Math.random() * n)

/** Random metrics as Dynamo's mock worker made them: 100 slots and blocks, fractions 0..1. */
function randomMetrics(): ForwardPassMetrics {
  return {
    workerStats: { requestActiveSlots: int(101), requestTotalSlots: 100, numRequestsWaiting: int(10) },
    kvStats: { kvActiveBlocks: int(101), kvTotalBlocks: 100, gpuCacheUsagePerc: Math.random(), gpuPrefixCacheHitRate: Math.random() },
  }
}

/** `dynamo-metrics mock-worker`: an endpoint with random ForwardPassMetrics, random hit-rate events. */
export async function runMockWorker(cfg: MockWorkerConfig, log: Logger, natsServer: string): Promise<() => Promise<void>> {
  const runtime = await DistributedRuntime.create({ natsServer, systemEnabled: false })
  const ns = runtime.namespace(cfg.namespace)
  const publisher = new WorkerMetricsPublisher()
  await publisher.createEndpoint(ns.component(cfg.component), undefined, { endpoint: cfg.endpoint })
  publisher.publish(randomMetrics())
  log.info(`Serving ${cfg.namespace}/${cfg.component}/${cfg.endpoint} as worker ${publisher.workerId}`)
  const timer = setInterval(() => {
    publisher.publish(randomMetrics())
    const isl = 1 + int(100)
    publishKvHitRate(ns, { workerId: publisher.workerId ?? 0, islBlocks: isl, overlapBlocks: int(isl + 1) }).catch((e: Error) =>
      log.warn(`kv-hit-rate publish failed: ${e.message}`),
    )
  }, 1000)
  return async () => {
    clearInterval(timer)
    await publisher.stop()
    await runtime.shutdown()
  }
}
