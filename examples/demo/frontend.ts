// The frontend: an OpenAI-compatible POST /v1/chat/completions (streaming and not) on node:http,
// calling the worker through the request plane and recording Dynamo's frontend metrics with one
// tracker per request. GET /metrics serves the frontend runtime's metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Client, DistributedRuntime } from 'dynamo-metrics'
import type { GenerateChunk, GenerateRequest } from './worker'

export const MODEL = 'toy'

interface ChatRequest {
  model?: unknown
  messages?: { role?: unknown; content?: unknown }[]
  stream?: unknown
  max_tokens?: unknown
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => {
      body += c
      if (body.length > 1 << 20) req.destroy(new Error('body too large'))
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function countTokens(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length
}

export function startFrontend(runtime: DistributedRuntime, client: Client<GenerateRequest, GenerateChunk>): Server {
  const fm = runtime.frontendMetrics()
  fm.setModelConfig(MODEL, { contextLength: 4096, kvCacheBlockSize: 16, totalKvBlocks: 1024, maxNumSeqs: 64, maxNumBatchedTokens: 2048, migrationLimit: 0 })

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: ChatRequest
    try {
      body = JSON.parse(await readBody(req)) as ChatRequest
    } catch {
      return json(res, 400, { error: { message: 'the body is not JSON', type: 'invalid_request_error' } })
    }
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : MODEL
    const stream = body.stream === true
    const t = fm.startRequest({ model, endpoint: 'chat_completions', requestType: stream ? 'stream' : 'unary' })
    if (model !== MODEL) {
      t.finish({ status: 'error', errorType: 'not_found' })
      return json(res, 404, { error: { message: `model '${model}' not found`, type: 'not_found_error' } })
    }
    const prompt = (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join(' ')
    const inputTokens = countTokens(prompt)
    const maxTokens = typeof body.max_tokens === 'number' && body.max_tokens > 0 ? Math.floor(body.max_tokens) : 16
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
    let gone = false
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true
        t.disconnected({ inputTokens })
      }
    })
    const words: string[] = []
    try {
      if (stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      for await (const chunk of client.generate({ prompt, maxTokens })) {
        if (gone) break
        t.token()
        words.push(chunk.token)
        if (stream) {
          const delta = { id, object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content: chunk.token + ' ' }, finish_reason: null }] }
          res.write(`data: ${JSON.stringify(delta)}\n\n`)
        }
      }
      if (gone) return
      const usage = { prompt_tokens: inputTokens, completion_tokens: words.length, total_tokens: inputTokens + words.length }
      t.finish({ status: 'success', inputTokens, outputTokens: words.length })
      if (stream) {
        const last = { id, object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage }
        res.end(`data: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`)
      } else {
        json(res, 200, {
          id,
          object: 'chat.completion',
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: words.join(' ') }, finish_reason: 'stop' }],
          usage,
        })
      }
    } catch (e) {
      t.finish({ status: 'error', errorType: 'internal', inputTokens })
      const message = e instanceof Error ? e.message : String(e)
      if (!res.headersSent) json(res, 500, { error: { message, type: 'internal_error' } })
      else res.end(`data: ${JSON.stringify({ error: { message } })}\n\n`)
    }
  }

  return createServer((req, res) => {
    const url = req.url ?? '/'
    if (req.method === 'POST' && url === '/v1/chat/completions') {
      chat(req, res).catch((e: unknown) => {
        console.error('chat failed:', e)
        if (!res.headersSent) json(res, 500, { error: { message: 'internal error' } })
      })
    } else if (req.method === 'GET' && url === '/metrics') {
      runtime.prometheusMetricsFmt().then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
          res.end(text)
        },
        (e: unknown) => json(res, 500, { error: { message: String(e) } }),
      )
    } else if (req.method === 'GET' && url === '/v1/models') {
      json(res, 200, { object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'dynamo-metrics-demo' }] })
    } else if (req.method === 'GET' && url === '/health') {
      json(res, 200, { status: 'healthy' })
    } else {
      json(res, 404, { error: { message: `no route ${req.method} ${url}` } })
    }
  })
}
