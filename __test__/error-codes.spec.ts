// A core error reaches JS as data: the binding throws it with the core's code as `error.code`
// and the message as it is (no `[CODE] ` prefix to parse back), on sync calls and on Promises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConfigError,
  DistributedRuntime,
  InvalidNameError,
  MetricsError,
  NatsError,
  RuntimeClosedError,
} from '../dist/cjs/index.js'
import { freePort } from './util'

let rt: DistributedRuntime

beforeAll(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
})

afterAll(async () => {
  await rt.shutdown()
})

function check(e: unknown, Cls: typeof MetricsError, code: string): void {
  expect(e).toBeInstanceOf(Cls)
  const err = e as MetricsError
  expect(err.code).toBe(code)
  expect(err.message).not.toMatch(/^\[/)
  expect(err.message).not.toContain(code)
}

describe('errors cross N-API as data', () => {
  it('a sync call', () => {
    let caught: unknown
    try {
      rt.metrics.createGauge('', 'Empty name')
    } catch (e) {
      caught = e
    }
    check(caught, InvalidNameError, 'ERR_DYNAMO_INVALID_NAME')
  })

  it('a rejected Promise of the core (create with a bad option)', async () => {
    const e = await DistributedRuntime.create({ systemPort: 80.9 }).then(
      () => null,
      (err: unknown) => err,
    )
    check(e, ConfigError, 'ERR_DYNAMO_CONFIG')
  })

  it('a rejected Promise of the request plane (NATS unreachable)', { timeout: 20_000 }, async () => {
    const port = await freePort()
    const e = await DistributedRuntime.create({ natsServer: `nats://127.0.0.1:${port}` }).then(
      async (r) => {
        await r.shutdown()
        return null
      },
      (err: unknown) => err,
    )
    check(e, NatsError, 'ERR_DYNAMO_NATS')
  })

  it('after shutdown', async () => {
    const r = await DistributedRuntime.create({ systemEnabled: false })
    await r.shutdown()
    const e = await r.prometheusMetricsFmt().then(
      () => null,
      (err: unknown) => err,
    )
    check(e, RuntimeClosedError, 'ERR_DYNAMO_CLOSED')
  })
})
