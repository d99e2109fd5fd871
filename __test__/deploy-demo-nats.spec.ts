// The demo with NATS_SERVER set (as the compose `metrics` profile runs it): the frontend's runtime
// reaches the worker over a real nats-server, and both /metrics count the request once.
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findNatsServer, NatsServer } from './nats-server'
import { httpGet, killProgram, type Program, sample, startProgram } from './util'

const NATS_BIN = findNatsServer()
if (NATS_BIN === null && process.env.CI === 'true') throw new Error('nats-server is required in CI: apt-get install nats-server')
if (NATS_BIN === null) console.warn('skipping the demo-over-NATS test: apt-get install nats-server')

function chat(port: number, stream: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent: false }, (res) => {
      let b = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (b += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }))
    })
    req.on('error', reject)
    req.end(JSON.stringify({ model: 'toy', stream, max_tokens: 5, messages: [{ role: 'user', content: 'over nats' }] }))
  })
}

describe.skipIf(NATS_BIN === null)('the demo over NATS', () => {
  let nats: NatsServer | undefined
  let demo: Program | undefined
  afterAll(async () => {
    if (demo) await killProgram(demo)
    await nats?.stop()
  })

  it('serves streaming and unary chat completions through the NATS request plane', async () => {
    nats = await NatsServer.start()
    demo = startProgram(join(__dirname, '..', 'examples', 'dist', 'demo.js'), ['--load', '0'], {
      NATS_SERVER: nats.url,
      DEMO_FRONTEND_PORT: '0',
      DYN_SYSTEM_PORT: '0',
      DEMO_HOST: '127.0.0.1',
    })
    const front = (await demo.line('frontend http://')).line
    expect(front).toContain(`(request plane: ${nats.url})`)
    const fPort = Number(/:(\d+) /.exec(front)?.[1])
    const wPort = Number(/:(\d+)$/.exec((await demo.line('worker http://')).line)?.[1])
    const s = await chat(fPort, true)
    expect(s.status).toBe(200)
    expect(s.body.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(s.body.split('\n\n').filter((e) => e.includes('"content"'))).toHaveLength(5)
    const u = await chat(fPort, false)
    expect(u.status).toBe(200)
    expect((JSON.parse(u.body) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(5)

    const f = (await httpGet(`http://127.0.0.1:${fPort}/metrics`)).body
    const base = '{endpoint="chat_completions",error_type="",model="toy",request_type="'
    expect(sample(f, 'dynamo_frontend_requests_total', `${base}stream",status="success"}`)).toBe(1)
    expect(sample(f, 'dynamo_frontend_requests_total', `${base}unary",status="success"}`)).toBe(1)
    expect(sample(f, 'dynamo_frontend_output_tokens_total', '{model="toy"}')).toBe(10)
    expect(f).not.toContain('dynamo_component_requests_total')
    const w = (await httpGet(`http://127.0.0.1:${wPort}/metrics`)).body
    expect(sample(w, 'dynamo_component_requests_total', '{dynamo_component="backend",dynamo_endpoint="generate",dynamo_namespace="dynamo"}')).toBe(2)
    expect(w).not.toContain('dynamo_frontend_')
  }, 60_000)
})
