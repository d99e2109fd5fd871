// The public types compile in a consumer that has no @types/node (no Buffer, no AbortSignal from Node) and
// checks library declarations (skipLibCheck: false), as ESM and as CJS; the consumer sees real types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(__dirname, '..')
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
let dir = ''

const consumer = `
import { DistributedRuntime, InvalidValueError, type RequestContext } from 'dynamo-metrics'

export async function main(): Promise<string> {
  const runtime = await DistributedRuntime.create({ systemEnabled: false })
  const endpoint = runtime.namespace('ns').component('cp').endpoint('ep')
  const slots = endpoint.metrics.createIntGauge('request_total_slots', 'Total request slots available')
  const workers = endpoint.metrics.createIntGaugeVec('worker_active_requests', 'Active requests per worker', ['worker_id', 'model'] as const)
  const latency = endpoint.metrics.createHistogram('latency_seconds', 'Latency', { buckets: [0.1, 1] })
  endpoint.registerMetricsCallback(() => slots.set(1024))
  workers.set(5, { worker_id: 'w1', model: 'llama-3' })
  const stop: () => number = latency.startTimer()
  stop()
  await endpoint.serveEndpoint(async function* (request: { prompt: string }, context: RequestContext) {
    if (!context.signal.aborted) yield request.prompt
  })
  const client = endpoint.client()
  const ids: string[] = await client.instanceIds()
  runtime.setHealthStatus('ready')
  const text: string = await endpoint.prometheusMetricsFmt()
  await runtime.shutdown()
  return text + ids.length
}

export function codeOf(e: unknown): string {
  return e instanceof InvalidValueError ? e.code : ''
}
`

/** tsc over `files` (asynchronously: a synchronous spawn would block the test worker for its whole run). */
function compile(files: Record<string, string>): Promise<{ status: number | null; out: string }> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', lib: ['ES2022'], module: 'nodenext', moduleResolution: 'nodenext',
        strict: true, skipLibCheck: false, noEmit: true, types: [],
      },
      files: Object.keys(files),
    }),
  )
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', dir, '--listFiles'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, out }))
  })
}

describe('public types without @types/node', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dynamo-metrics-types-'))
    mkdirSync(join(dir, 'node_modules'))
    symlinkSync(ROOT, join(dir, 'node_modules', 'dynamo-metrics'), 'dir')
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  })
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('compile as ESM and CJS with skipLibCheck: false', async () => {
    const r = await compile({ 'app.mts': consumer, 'app.cts': consumer })
    expect(r.out).not.toContain('error TS')
    expect(r.status).toBe(0)
    // The check covered the package's declarations, generated index.d.ts included, and no Node types.
    expect(r.out).toContain('/dist/cjs/index.d.ts')
    expect(r.out).toContain('/index.d.ts')
    expect(r.out).not.toContain('@types/node')
  }, 120_000)

  it('still reject a wrong call (the types are real, not any)', async () => {
    const r = await compile({ 'bad.mts': `${consumer}\nexport const bad = (g: import('dynamo-metrics').IntGauge) => g.set('5')\n` })
    expect(r.status).not.toBe(0)
    expect(r.out).toMatch(/bad\.mts\(\d+,\d+\): error TS2345/)
  }, 120_000)
})
