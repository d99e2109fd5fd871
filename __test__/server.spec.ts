import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  ConfigError,
  DistributedRuntime,
  MetricsError,
  ServerError,
  type RuntimeOptions,
} from '../dist/cjs/index.js'
import { freePort, httpGet, sample } from './util'

const FIXTURE = join(__dirname, 'fixtures', 'env-runtime.mjs')
const METRICS_CT = 'text/plain; version=0.0.4; charset=utf-8'
const UPTIME = 'dynamo_component_uptime_seconds'

const runtimes: DistributedRuntime[] = []
const blockers: Server[] = []

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()))
  await Promise.all(blockers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))))
})

async function serving(options: RuntimeOptions = {}): Promise<{ rt: DistributedRuntime; url: string }> {
  const rt = await DistributedRuntime.create({ systemPort: 0, systemHost: '127.0.0.1', ...options })
  runtimes.push(rt)
  const s = rt.systemStatusServer
  if (s === null) throw new Error('status server did not start')
  return { rt, url: `http://127.0.0.1:${s.port}` }
}


async function createError(options: RuntimeOptions): Promise<unknown> {
  try {
    const rt = await DistributedRuntime.create(options)
    runtimes.push(rt)
  } catch (e) {
    return e
  }
  throw new Error(`create(${JSON.stringify(options)}) did not fail`)
}

// ---- child processes: the environment is read by a fresh process ----

interface ChildResponse {
  status: number
  contentType?: string
  body: string
}
interface ChildResult {
  ok: boolean
  server?: { host: string; port: number } | null
  responses?: Record<string, ChildResponse>
  error?: {
    name: string
    code: string
    message: string
    isConfigError: boolean
    isServerError: boolean
    isMetricsError: boolean
  }
}

/** Runs the env fixture with only `env` as DYN_* variables (the rest of the environment kept). */
function runWithEnv(env: Record<string, string>, options: RuntimeOptions = {}, paths: string[] = []): Promise<ChildResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DYN_')))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, JSON.stringify(options), JSON.stringify(paths)], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`fixture timed out; stdout=${out} stderr=${err}`))
    }, 15_000)
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line) as ChildResult)
      } catch {
        reject(new Error(`fixture exit ${code}; stdout=${out} stderr=${err}`))
      }
    })
  })
}

const LOCAL = { DYN_SYSTEM_HOST: '127.0.0.1' }

describe('server enablement (environment, in child processes)', () => {
  it('is off in an empty environment', async () => {
    const r = await runWithEnv({})
    expect(r.ok).toBe(true)
    expect(r.server).toBeNull()
  })

  it('DYN_SYSTEM_PORT=0 enables it on a free port; /metrics answers', async () => {
    const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0' }, {}, ['/metrics'])
    expect(r.ok).toBe(true)
    expect(r.server?.host).toBe('127.0.0.1')
    expect(r.server?.port).toBeGreaterThan(0)
    expect(r.responses?.['/metrics']?.status).toBe(200)
    expect(r.responses?.['/metrics']?.body).toContain(`# TYPE ${UPTIME} gauge`)
  })

  it('DYN_SYSTEM_PORT=<port> binds that port', async () => {
    const port = await freePort()
    const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: String(port) }, {}, ['/live'])
    expect(r.ok).toBe(true)
    expect(r.server).toEqual({ host: '127.0.0.1', port })
    expect(r.responses?.['/live']?.status).toBe(503)
  })

  it('DYN_SYSTEM_ENABLED truthy (1/true/on/yes, any case) enables it on the default port 9090', async () => {
    for (const v of ['1', 'true', 'TRUE', 'On', 'yes', 'YES']) {
      const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_ENABLED: v })
      if (r.ok) {
        expect(r.server, v).toEqual({ host: '127.0.0.1', port: 9090 })
      } else {
        // 9090 taken by something else on this machine: still proves the server was enabled.
        expect(r.error?.isServerError, `${v}: ${r.error?.message}`).toBe(true)
        expect(r.error?.message).toContain('9090')
      }
    }
  })

  it('an explicitly falsy DYN_SYSTEM_ENABLED (0/false/off/no, any case) wins over DYN_SYSTEM_PORT', async () => {
    for (const v of ['0', 'false', 'FALSE', 'Off', 'no', 'NO']) {
      const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_ENABLED: v })
      expect(r.ok, v).toBe(true)
      expect(r.server, v).toBeNull()
    }
  })

  it('DYN_SYSTEM_ENABLED=true with DYN_SYSTEM_PORT=0 uses a free port', async () => {
    const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_ENABLED: 'true' })
    expect(r.ok).toBe(true)
    expect(r.server?.port).toBeGreaterThan(0)
  })

  it('options override the environment', async () => {
    // systemEnabled: true over DYN_SYSTEM_ENABLED=false
    let r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_ENABLED: 'false' }, { systemEnabled: true })
    expect(r.ok).toBe(true)
    expect(r.server?.port).toBeGreaterThan(0)

    // systemEnabled: false over DYN_SYSTEM_PORT / DYN_SYSTEM_ENABLED=1
    r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_ENABLED: '1' }, { systemEnabled: false })
    expect(r.ok).toBe(true)
    expect(r.server).toBeNull()

    // systemPort over DYN_SYSTEM_PORT, and it enables the server despite DYN_SYSTEM_ENABLED=0
    const envPort = await freePort()
    r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: String(envPort), DYN_SYSTEM_ENABLED: '0' }, { systemPort: 0 })
    expect(r.ok).toBe(true)
    expect(r.server?.port).toBeGreaterThan(0)
    expect(r.server?.port).not.toBe(envPort)

    // systemHost over DYN_SYSTEM_HOST
    r = await runWithEnv({ DYN_SYSTEM_HOST: '0.0.0.0', DYN_SYSTEM_PORT: '0' }, { systemHost: '127.0.0.1' })
    expect(r.ok).toBe(true)
    expect(r.server?.host).toBe('127.0.0.1')

    // startingHealthStatus over DYN_SYSTEM_STARTING_HEALTH_STATUS
    r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_STARTING_HEALTH_STATUS: 'ready' }, { startingHealthStatus: 'notready' }, ['/health'])
    expect(r.responses?.['/health']?.status).toBe(503)

    // healthPath over DYN_SYSTEM_HEALTH_PATH
    r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_HEALTH_PATH: '/env/health' }, { healthPath: '/opt/health' }, [
      '/opt/health',
      '/env/health',
    ])
    expect(r.responses?.['/opt/health']?.status).toBe(503)
    expect(r.responses?.['/env/health']?.status).toBe(404)
  })

  it('DYN_SYSTEM_HOST sets the bound address', async () => {
    const r = await runWithEnv({ DYN_SYSTEM_HOST: '127.0.0.1', DYN_SYSTEM_PORT: '0' })
    expect(r.server?.host).toBe('127.0.0.1')
  })

  it('DYN_SYSTEM_STARTING_HEALTH_STATUS=ready gives 200 on /health and /live', async () => {
    const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '0', DYN_SYSTEM_STARTING_HEALTH_STATUS: 'ready' }, {}, ['/health', '/live'])
    for (const p of ['/health', '/live']) {
      expect(r.responses?.[p]?.status, p).toBe(200)
      expect(JSON.parse(r.responses?.[p]?.body ?? '{}').status, p).toBe('ready')
    }
  })

  it('DYN_SYSTEM_HEALTH_PATH / DYN_SYSTEM_LIVE_PATH replace the defaults', async () => {
    const r = await runWithEnv(
      {
        ...LOCAL,
        DYN_SYSTEM_PORT: '0',
        DYN_SYSTEM_STARTING_HEALTH_STATUS: 'ready',
        DYN_SYSTEM_HEALTH_PATH: '/custom/health',
        DYN_SYSTEM_LIVE_PATH: '/custom/live',
      },
      {},
      ['/custom/health', '/custom/live', '/health', '/live'],
    )
    expect(r.ok).toBe(true)
    const res = r.responses ?? {}
    expect(res['/custom/health']?.status).toBe(200)
    expect(JSON.parse(res['/custom/health']?.body ?? '{}').status).toBe('ready')
    expect(res['/custom/live']?.status).toBe(200)
    for (const p of ['/health', '/live']) {
      expect(res[p]?.status, p).toBe(404)
      expect(res[p]?.body, p).toBe('Route not found')
    }
  })

  it('DYN_SYSTEM_PORT=abc is a ConfigError naming the variable and the value', async () => {
    const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: 'abc' })
    expect(r.ok).toBe(false)
    expect(r.error?.isConfigError).toBe(true)
    expect(r.error?.isMetricsError).toBe(true)
    expect(r.error?.code).toBe('ERR_DYNAMO_CONFIG')
    expect(r.error?.name).toBe('ConfigError')
    expect(r.error?.message).toContain('DYN_SYSTEM_PORT')
    expect(r.error?.message).toContain('abc')
  })

  it('DYN_SYSTEM_PORT=70000 is a ConfigError naming the variable and the value', async () => {
    const r = await runWithEnv({ ...LOCAL, DYN_SYSTEM_PORT: '70000' })
    expect(r.ok).toBe(false)
    expect(r.error?.isConfigError).toBe(true)
    expect(r.error?.code).toBe('ERR_DYNAMO_CONFIG')
    expect(r.error?.message).toContain('DYN_SYSTEM_PORT')
    expect(r.error?.message).toContain('70000')
  })

  it('DYN_SYSTEM_STARTING_HEALTH_STATUS=maybe is a ConfigError', async () => {
    const r = await runWithEnv({ DYN_SYSTEM_STARTING_HEALTH_STATUS: 'maybe' })
    expect(r.ok).toBe(false)
    expect(r.error?.isConfigError).toBe(true)
    expect(r.error?.message).toContain('DYN_SYSTEM_STARTING_HEALTH_STATUS')
    expect(r.error?.message).toContain('maybe')
  })
})

describe('server enablement (options)', () => {
  it('systemEnabled + systemPort + systemHost start it; systemStatusServer reports the bound address', async () => {
    const port = await freePort()
    const rt = await DistributedRuntime.create({ systemEnabled: true, systemPort: port, systemHost: '127.0.0.1' })
    runtimes.push(rt)
    expect(rt.systemStatusServer).toEqual({ host: '127.0.0.1', port })
    const r = await httpGet(`http://127.0.0.1:${port}/metrics`)
    expect(r.status).toBe(200)
  })

  it('systemPort alone enables it; 0 picks a free port', async () => {
    const { rt, url } = await serving()
    expect(rt.systemStatusServer?.port).toBeGreaterThan(0)
    expect((await httpGet(`${url}/metrics`)).status).toBe(200)
  })

  it('systemEnabled: false keeps it off even with a port; systemStatusServer is null', async () => {
    const rt = await DistributedRuntime.create({ systemEnabled: false, systemPort: 0 })
    runtimes.push(rt)
    expect(rt.systemStatusServer).toBeNull()
  })
})

describe('routes', () => {
  it('GET /metrics: 200, Prometheus text content type, runtime and user metrics', async () => {
    const { rt, url } = await serving()
    rt.namespace('ns').component('backend').endpoint('generate').metrics.createIntGauge('slots', 'Slots').set(8)
    const r = await httpGet(`${url}/metrics`)
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe(METRICS_CT)
    expect(r.body).toContain(`# TYPE ${UPTIME} gauge`)
    expect(r.body).toContain(
      'dynamo_component_slots{dynamo_component="backend",dynamo_endpoint="generate",dynamo_namespace="ns"} 8\n',
    )
  })

  it('/health and /live: JSON {status, uptime, endpoints}, 503 when notready (the default)', async () => {
    const { url } = await serving()
    for (const p of ['/health', '/live']) {
      const r = await httpGet(`${url}${p}`)
      expect(r.status, p).toBe(503)
      const body = JSON.parse(r.body) as Record<string, unknown>
      expect(body.status, p).toBe('notready')
      expect(body).toHaveProperty('uptime')
      expect(body).toHaveProperty('endpoints')
      expect(typeof body.endpoints).toBe('object')
    }
  })

  it('startingHealthStatus: ready gives 200; setHealthStatus flips both routes', async () => {
    const { rt, url } = await serving({ startingHealthStatus: 'ready' })
    for (const p of ['/health', '/live']) {
      const r = await httpGet(`${url}${p}`)
      expect(r.status, p).toBe(200)
      expect(JSON.parse(r.body).status, p).toBe('ready')
    }
    rt.setHealthStatus('notready')
    for (const p of ['/health', '/live']) {
      const r = await httpGet(`${url}${p}`)
      expect(r.status, p).toBe(503)
      expect(JSON.parse(r.body).status, p).toBe('notready')
    }
    rt.setHealthStatus('ready')
    expect((await httpGet(`${url}/health`)).status).toBe(200)
    expect((await httpGet(`${url}/live`)).status).toBe(200)
  })

  it('setHealthStatus("ready") makes a notready runtime healthy', async () => {
    const { rt, url } = await serving({ startingHealthStatus: 'notready' })
    expect((await httpGet(`${url}/health`)).status).toBe(503)
    rt.setHealthStatus('ready')
    const r = await httpGet(`${url}/health`)
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).status).toBe('ready')
  })

  it('healthPath / livePath options replace the defaults, which then 404', async () => {
    const { url } = await serving({ healthPath: '/custom/health', livePath: '/custom/live', startingHealthStatus: 'ready' })
    expect((await httpGet(`${url}/custom/health`)).status).toBe(200)
    expect((await httpGet(`${url}/custom/live`)).status).toBe(200)
    for (const p of ['/health', '/live']) {
      const r = await httpGet(`${url}${p}`)
      expect(r.status, p).toBe(404)
      expect(r.body, p).toBe('Route not found')
    }
  })

  it('anything else is 404 "Route not found"', async () => {
    const { url } = await serving()
    for (const p of ['/', '/nope', '/metrics/extra', '/healthz', '/v1/models']) {
      const r = await httpGet(`${url}${p}`)
      expect(r.status, p).toBe(404)
      expect(r.body, p).toBe('Route not found')
    }
  })

  it('dynamo_component_uptime_seconds is refreshed on every scrape', async () => {
    const { rt, url } = await serving()
    const a = sample((await httpGet(`${url}/metrics`)).body, UPTIME)
    await new Promise((r) => setTimeout(r, 50))
    const b = sample((await httpGet(`${url}/metrics`)).body, UPTIME)
    await new Promise((r) => setTimeout(r, 50))
    const c = sample(await rt.prometheusMetricsFmt(), UPTIME)
    expect(a).toBeGreaterThan(0)
    expect(b! - a!).toBeGreaterThanOrEqual(0.04)
    expect(c! - b!).toBeGreaterThanOrEqual(0.04)
    expect(c!).toBeLessThan(60)
  })
})

describe('create() and setHealthStatus() errors', () => {
  it('a taken port is a ServerError naming the port', async () => {
    const blocker = createServer()
    blockers.push(blocker)
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as { port: number }).port
    const e = await createError({ systemPort: port, systemHost: '127.0.0.1' })
    expect(e).toBeInstanceOf(ServerError)
    expect(e).toBeInstanceOf(MetricsError)
    expect((e as ServerError).code).toBe('ERR_DYNAMO_SERVER')
    expect((e as ServerError).message).toContain(String(port))
  })

  it('systemPort: 70000 is a ConfigError naming the option and the value', async () => {
    const e = await createError({ systemPort: 70000, systemHost: '127.0.0.1' })
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as ConfigError).code).toBe('ERR_DYNAMO_CONFIG')
    expect((e as ConfigError).message).toContain('systemPort')
    expect((e as ConfigError).message).toContain('70000')
  })

  it("startingHealthStatus: 'maybe' is a ConfigError", async () => {
    const e = await createError({ systemEnabled: false, startingHealthStatus: 'maybe' as never })
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as ConfigError).code).toBe('ERR_DYNAMO_CONFIG')
    expect((e as ConfigError).message).toContain('maybe')
    expect((e as ConfigError).message).toContain('startingHealthStatus')
  })

  it("setHealthStatus('maybe') throws a ConfigError and leaves the status unchanged", async () => {
    const { rt, url } = await serving({ startingHealthStatus: 'ready' })
    let e: unknown
    try {
      rt.setHealthStatus('maybe' as never)
    } catch (err) {
      e = err
    }
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as ConfigError).code).toBe('ERR_DYNAMO_CONFIG')
    expect((e as ConfigError).message).toContain('maybe')
    expect((await httpGet(`${url}/health`)).status).toBe(200)
  })
})
