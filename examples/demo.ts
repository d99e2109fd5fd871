// A small Dynamo deployment in one process: an OpenAI-compatible frontend (POST
// /v1/chat/completions, streaming and not; Dynamo's frontend metrics on its /metrics) in front of
// a worker endpoint served through the request plane (in-process, or NATS when NATS_SERVER is
// set) with Dynamo's automatic endpoint metrics and the seed's Method 2 metrics on its status
// server. Frontend and worker are two runtimes, as two processes would be, so each series is
// scraped once.
//
//   npm run demo                      # frontend :8000, worker status server :8081, 2 req/s of load
//   node examples/dist/demo.js --load 10
//   curl localhost:8000/v1/chat/completions -d '{"model":"toy","messages":[{"role":"user","content":"hi"}]}'
//
// Settings: --load N (requests/s the demo sends itself; 0 = none; default 2), DEMO_FRONTEND_PORT
// (default 8000; 0 = a free port), DEMO_HOST (default 0.0.0.0), DYN_SYSTEM_PORT (default 8081),
// NATS_SERVER.
import { DistributedRuntime } from 'dynamo-metrics'
import type { AddressInfo } from 'node:net'
import { startFrontend } from './demo/frontend'
import { startLoad } from './demo/load'
import { type GenerateChunk, type GenerateRequest, startWorker } from './demo/worker'

function loadArg(): number {
  const i = process.argv.indexOf('--load')
  if (i < 0) return 2
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v < 0) throw new Error(`--load takes a number of requests per second >= 0, got ${process.argv[i + 1]}`)
  return v
}

async function main(): Promise<void> {
  const load = loadArg()
  // Default to Dynamo's worker port; DYN_SYSTEM_* variables still win when set.
  if (process.env.DYN_SYSTEM_PORT === undefined) process.env.DYN_SYSTEM_PORT = '8081'
  const host = process.env.DEMO_HOST ?? '0.0.0.0'
  const port = Number(process.env.DEMO_FRONTEND_PORT ?? '8000')

  const worker = await DistributedRuntime.create()
  const endpoint = await startWorker(worker)
  worker.setHealthStatus('ready')
  // The frontend runs no status server: its metrics are on its own port, like Dynamo's frontend.
  const frontend = await DistributedRuntime.create({ systemEnabled: false })
  const client =
    frontend.natsServer !== null
      ? frontend.namespace('dynamo').component('backend').endpoint('generate').client<GenerateRequest, GenerateChunk>()
      : endpoint.client<GenerateRequest, GenerateChunk>()
  await client.waitForInstances()

  const server = startFrontend(frontend, client)
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  const bound = (server.address() as AddressInfo).port
  const local = host === '0.0.0.0' ? '127.0.0.1' : host
  const stopLoad = startLoad(local, bound, load)

  const status = worker.systemStatusServer
  console.log(`frontend http://${local}:${bound} (request plane: ${frontend.natsServer ?? 'in-process'})`)
  console.log(`worker ${status === null ? 'status server disabled' : `http://${status.host === '0.0.0.0' ? '127.0.0.1' : status.host}:${status.port}`}`)
  console.log(`load ${load} requests/s`)
  console.log(`  curl http://${local}:${bound}/v1/chat/completions -d '{"model":"toy","stream":true,"messages":[{"role":"user","content":"hi"}]}'`)
  console.log(`  curl http://${local}:${bound}/metrics       # dynamo_frontend_*`)
  if (status !== null) console.log(`  curl http://${local}:${status.port}/metrics       # dynamo_component_*`)
  console.log('Press Ctrl+C to stop.')

  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    stopLoad()
    server.closeAllConnections()
    server.close()
    void Promise.all([frontend.shutdown(), worker.shutdown()]).then(() => console.log('shut down'))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
