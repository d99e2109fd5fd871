#!/usr/bin/env node
// `dynamo-metrics`: Dynamo's `metrics` component (server or Pushgateway mode) and its mock worker.
import { parse, USAGE, UsageError } from './args'
import { logger } from './log'
import { runAggregate } from './aggregate'
import { runMockWorker } from './mock-worker'

async function main(): Promise<void> {
  let cfg
  try {
    cfg = parse(process.argv.slice(2), process.env)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    process.stderr.write(`dynamo-metrics: ${e.message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (cfg.mode === 'help') {
    process.stdout.write(USAGE)
    return
  }
  const nats = process.env.NATS_SERVER || 'nats://127.0.0.1:4222'
  const log = logger(cfg.mode === 'mock-worker' ? 'mock_worker' : 'metrics', process.env)
  let stop: () => Promise<void>
  try {
    stop = cfg.mode === 'mock-worker' ? await runMockWorker(cfg, log, nats) : await runAggregate(cfg, log, nats)
  } catch (e) {
    log.error((e as Error).message)
    process.exit(1)
  }
  let stopping = false
  const onSignal = (): void => {
    if (stopping) return
    stopping = true
    log.info('Shutting down')
    stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error(e.message)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

void main()
