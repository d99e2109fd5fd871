// Dynamo's frontend metrics through the public entry: names, types, help texts, labels and
// buckets as Dynamo's frontend emits them, the prefix rules, and the per-request tracker on every
// exit path (success, thrown error, client gone, double finish) with typed errors for bad input.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ConfigError,
  DistributedRuntime,
  FrontendMetrics,
  InvalidLabelError,
  InvalidValueError,
  RequestTracker,
} from '../dist/cjs/index.js'
import { httpGet, sample } from './util'

const P = 'dynamo_frontend'
const REQ = (model: string, status: string, errorType = '', requestType = 'stream', endpoint = 'chat_completions'): string =>
  `{endpoint="${endpoint}",error_type="${errorType}",model="${model}",request_type="${requestType}",status="${status}"}`

/** Every family line `# TYPE name type` of an exposition. */
function types(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const l of text.split('\n')) {
    const r = /^# TYPE (\S+) (\S+)$/.exec(l)
    if (r) m.set(r[1], r[2])
  }
  return m
}

function help(text: string, name: string): string | undefined {
  const l = text.split('\n').find((x) => x.startsWith(`# HELP ${name} `))
  return l?.slice(`# HELP ${name} `.length)
}

function bucketsOf(text: string, name: string, model: string): string[] {
  const re = new RegExp(`^${name}_bucket\\{model="${model}",le="([^"]+)"\\}`)
  return text
    .split('\n')
    .map((l) => re.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
}

let rt: DistributedRuntime
beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
})
afterEach(async () => {
  await rt.shutdown()
})

describe('frontendMetrics(): Dynamo families', () => {
  it('creates every family with Dynamo names, types, help texts, labels and buckets, no hierarchy labels', async () => {
    const fm = rt.frontendMetrics()
    expect(fm).toBeInstanceOf(FrontendMetrics)
    expect(fm.prefix).toBe(P)
    // Even with a namespace in the runtime, frontend series carry no dynamo_* label.
    rt.namespace('ns').component('c').endpoint('e').metrics.createIntCounter('x', 'x')
    fm.setModelConfig('toy', { totalKvBlocks: 1024, maxNumSeqs: 8, maxNumBatchedTokens: 2048, contextLength: 4096, kvCacheBlockSize: 16, migrationLimit: 3 })
    const t = fm.startRequest({ model: 'toy', endpoint: 'chat_completions', requestType: 'stream' })
    t.token()
    t.finish({ status: 'success', inputTokens: 10, outputTokens: 1, cachedTokens: 4 })
    const text = await rt.prometheusMetricsFmt()
    const ty = types(text)
    const expected: [string, string, string][] = [
      ['requests_total', 'counter', 'Total number of LLM requests processed'],
      ['inflight_requests', 'gauge', 'Number of inflight requests'],
      ['queued_requests', 'gauge', 'Number of requests in HTTP processing queue'],
      ['disconnected_clients', 'gauge', 'Number of disconnected clients'],
      ['request_duration_seconds', 'histogram', 'Duration of LLM requests'],
      ['input_sequence_tokens', 'histogram', 'Input sequence length in tokens'],
      ['output_sequence_tokens', 'histogram', 'Output sequence length in tokens'],
      ['time_to_first_token_seconds', 'histogram', 'Time to first token in seconds'],
      ['inter_token_latency_seconds', 'histogram', 'Inter-token latency in seconds'],
      ['cached_tokens', 'histogram', 'Number of cached tokens (prefix cache hits) per request'],
      ['output_tokens_total', 'counter', 'Total number of output tokens generated (updates in real-time)'],
      ['model_total_kv_blocks', 'gauge', 'Total KV cache blocks available for a worker serving the model'],
      ['model_max_num_seqs', 'gauge', 'Maximum number of sequences for a worker serving the model'],
      ['model_max_num_batched_tokens', 'gauge', 'Maximum number of batched tokens for a worker serving the model'],
      ['model_context_length', 'gauge', 'Maximum context length in tokens for a worker serving the model'],
      ['model_kv_cache_block_size', 'gauge', 'KV cache block size in tokens for a worker serving the model'],
      ['model_migration_limit', 'gauge', 'Maximum number of request migrations allowed for the model'],
    ]
    for (const [n, type, h] of expected) {
      expect(ty.get(`${P}_${n}`), n).toBe(type)
      expect(help(text, `${P}_${n}`), n).toBe(h)
    }
    const frontendLines = text.split('\n').filter((l) => l.startsWith(P))
    expect(frontendLines.length).toBeGreaterThan(50)
    for (const l of frontendLines) expect(l).not.toMatch(/dynamo_(namespace|component|endpoint)=/)
    expect(sample(text, `${P}_requests_total`, REQ('toy', 'success'))).toBe(1)
    expect(sample(text, `${P}_model_context_length`, '{model="toy"}')).toBe(4096)
    expect(sample(text, `${P}_model_migration_limit`, '{model="toy"}')).toBe(3)
    expect(sample(text, `${P}_disconnected_clients`)).toBe(0)
    // Dynamo's generate_log_buckets(1, 512, 10): 0 then 2^i rounded to 2 significant figures.
    expect(bucketsOf(text, `${P}_request_duration_seconds`, 'toy')).toEqual(['0', '2', '4', '8', '16', '32', '64', '130', '260', '510', '+Inf'])
    expect(bucketsOf(text, `${P}_time_to_first_token_seconds`, 'toy')).toHaveLength(18 + 1)
    expect(bucketsOf(text, `${P}_inter_token_latency_seconds`, 'toy').slice(-2)).toEqual(['2', '+Inf'])
    expect(bucketsOf(text, `${P}_input_sequence_tokens`, 'toy')).toEqual(bucketsOf(text, `${P}_cached_tokens`, 'toy'))
    expect(bucketsOf(text, `${P}_output_sequence_tokens`, 'toy').slice(-2)).toEqual(['32000', '+Inf'])
  })

  it('takes the prefix from the option, else DYN_METRICS_PREFIX, sanitized, falling back to dynamo_frontend', async () => {
    const nv = rt.frontendMetrics({ prefix: 'nv-llm/http service' })
    expect(nv.prefix).toBe('nv_llm_http_service')
    nv.startRequest({ model: 'm' }) // left open: inflight 1
    expect(rt.frontendMetrics({ prefix: 'custom_prefix' }).prefix).toBe('custom_prefix')
    expect(rt.frontendMetrics({ prefix: '123test' }).prefix).toBe('_123test')
    // Sanitizes to nothing: Dynamo's fallback.
    expect(rt.frontendMetrics({ prefix: '@#$%' }).prefix).toBe(P)
    const before = process.env.DYN_METRICS_PREFIX
    process.env.DYN_METRICS_PREFIX = 'test prefix'
    try {
      const fm = rt.frontendMetrics()
      expect(fm.prefix).toBe('test_prefix')
      fm.startRequest({ model: 'm' }).finish()
      expect(rt.frontendMetrics({ prefix: 'opt' }).prefix).toBe('opt')
    } finally {
      if (before === undefined) delete process.env.DYN_METRICS_PREFIX
      else process.env.DYN_METRICS_PREFIX = before
    }
    const text = await rt.prometheusMetricsFmt()
    expect(sample(text, 'test_prefix_requests_total', REQ('m', 'success'))).toBe(1)
    expect(sample(text, 'nv_llm_http_service_inflight_requests', '{model="m"}')).toBe(1)
  })

  it('returns the same set for the same prefix; other buckets for it are a ConfigError', () => {
    const a = rt.frontendMetrics()
    expect(rt.frontendMetrics()).toBe(a)
    expect(rt.frontendMetrics({ prefix: 'dynamo_frontend' })).toBe(a)
    expect(() => rt.frontendMetrics({ buckets: { ttft: { min: 1, max: 100, count: 3 } } })).toThrow(ConfigError)
  })

  it('takes bucket settings from options and DYN_METRICS_<X>_{MIN,MAX,COUNT}; bad ones are ConfigErrors', async () => {
    const fm = rt.frontendMetrics({ prefix: 'b', buckets: { ttft: { min: 1, max: 100, count: 3 } } })
    const env = { ...process.env }
    process.env.DYN_METRICS_ITL_COUNT = '3'
    try {
      const fe = rt.frontendMetrics({ prefix: 'e' })
      fe.startRequest({ model: 'm' }).finish()
      process.env.DYN_METRICS_TTFT_MIN = 'abc'
      expect(() => rt.frontendMetrics({ prefix: 'f' })).toThrow(/DYN_METRICS_TTFT_MIN='abc' is not a number/)
    } finally {
      delete process.env.DYN_METRICS_ITL_COUNT
      delete process.env.DYN_METRICS_TTFT_MIN
      expect(process.env).toEqual(env)
    }
    fm.startRequest({ model: 'm' }).finish()
    const text = await rt.prometheusMetricsFmt()
    expect(bucketsOf(text, 'b_time_to_first_token_seconds', 'm')).toEqual(['0', '10', '100', '+Inf'])
    expect(bucketsOf(text, 'e_inter_token_latency_seconds', 'm')).toEqual(['0', '0.045', '2', '+Inf'])
    for (const bad of [
      { itl: { min: 2, max: 1, count: 5 } },
      { itl: { min: 0, max: 1, count: 5 } },
      { itl: { min: 1, max: 2, count: 1.5 } },
      { nope: { min: 1, max: 2, count: 5 } },
    ]) {
      expect(() => rt.frontendMetrics({ prefix: 'bad', buckets: bad as never })).toThrow(ConfigError)
    }
  })
})

describe('RequestTracker', () => {
  it('counts a streamed request: TTFT once, ITL per later token, output tokens live, queued until the first token', async () => {
    const fm = rt.frontendMetrics()
    const f = fm.families
    const t = fm.startRequest({ model: 'toy', requestType: 'stream' })
    expect(t).toBeInstanceOf(RequestTracker)
    expect(f.inflightRequests.get({ model: 'toy' })).toBe(1)
    expect(f.queuedRequests.get({ model: 'toy' })).toBe(1)
    t.token()
    expect(f.queuedRequests.get({ model: 'toy' })).toBe(0)
    await new Promise((r) => setTimeout(r, 20))
    t.token()
    t.token(3)
    expect(f.outputTokensTotal.get({ model: 'toy' })).toBe(5)
    expect(f.timeToFirstToken.getCount({ model: 'toy' })).toBe(1)
    // The 2nd call is one gap; the 3rd call's gap is split over its 3 tokens.
    expect(f.interTokenLatency.getCount({ model: 'toy' })).toBe(4)
    expect(f.interTokenLatency.getSum({ model: 'toy' })).toBeGreaterThanOrEqual(0.015)
    expect(t.finish({ status: 'success', inputTokens: 7 })).toBe(true)
    expect(f.inflightRequests.get({ model: 'toy' })).toBe(0)
    expect(f.requestDuration.getCount({ model: 'toy' })).toBe(1)
    expect(f.requestDuration.getSum({ model: 'toy' })).toBeGreaterThanOrEqual(0.015)
    expect(f.outputSequenceTokens.getSum({ model: 'toy' })).toBe(5)
    expect(f.inputSequenceTokens.getSum({ model: 'toy' })).toBe(7)
    expect(f.cachedTokens.getCount({ model: 'toy' })).toBe(0)
    const text = await rt.prometheusMetricsFmt()
    expect(sample(text, `${P}_requests_total`, REQ('toy', 'success'))).toBe(1)
    expect(sample(text, `${P}_output_tokens_total`, '{model="toy"}')).toBe(5)
  })

  it('counts a unary request finished without tokens: queued and inflight back to 0, outputTokens into the counter', () => {
    const fm = rt.frontendMetrics()
    const f = fm.families
    const t = fm.startRequest({ model: 'toy', endpoint: 'completions', requestType: 'unary' })
    t.finish({ inputTokens: 3, outputTokens: 9 })
    expect(f.queuedRequests.get({ model: 'toy' })).toBe(0)
    expect(f.inflightRequests.get({ model: 'toy' })).toBe(0)
    expect(f.outputTokensTotal.get({ model: 'toy' })).toBe(9)
    expect(f.timeToFirstToken.getCount({ model: 'toy' })).toBe(0)
    expect(f.requestsTotal.get({ model: 'toy', endpoint: 'completions', request_type: 'unary', status: 'success', error_type: '' })).toBe(1)
  })

  it('finish() twice and token() after finish() are no-ops counted nowhere twice', () => {
    const fm = rt.frontendMetrics()
    const f = fm.families
    const t = fm.startRequest({ model: 'toy' })
    t.token(2)
    expect(t.finish()).toBe(true)
    expect(t.finished).toBe(true)
    expect(t.finish({ status: 'error', errorType: 'internal' })).toBe(false)
    expect(t.disconnected()).toBe(false)
    t.token()
    t.token(10)
    expect(f.outputTokensTotal.get({ model: 'toy' })).toBe(2)
    expect(f.inflightRequests.get({ model: 'toy' })).toBe(0)
    expect(f.queuedRequests.get({ model: 'toy' })).toBe(0)
    expect(f.requestDuration.getCount({ model: 'toy' })).toBe(1)
    expect(f.outputSequenceTokens.getCount({ model: 'toy' })).toBe(1)
    expect(f.timeToFirstToken.getCount({ model: 'toy' })).toBe(1)
    expect(f.interTokenLatency.getCount({ model: 'toy' })).toBe(0)
    expect(f.disconnectedClients.get()).toBe(0)
    const labels = { model: 'toy', endpoint: 'chat_completions', request_type: 'stream' }
    expect(f.requestsTotal.get({ ...labels, status: 'success', error_type: '' })).toBe(1)
    expect(f.requestsTotal.get({ ...labels, status: 'error', error_type: 'internal' })).toBe(0)
  })

  it('a client that went away: disconnected_clients + error/cancelled, once', () => {
    const fm = rt.frontendMetrics()
    const f = fm.families
    const t = fm.startRequest({ model: 'toy' })
    t.token()
    expect(t.disconnected()).toBe(true)
    expect(t.disconnected()).toBe(false)
    expect(t.finish()).toBe(false)
    expect(f.disconnectedClients.get()).toBe(1)
    expect(f.inflightRequests.get({ model: 'toy' })).toBe(0)
    expect(f.requestsTotal.get({ model: 'toy', endpoint: 'chat_completions', request_type: 'stream', status: 'error', error_type: 'cancelled' })).toBe(1)
    expect(f.requestDuration.getCount({ model: 'toy' })).toBe(1)
  })

  it('track(): a throw or rejection ends the request as error/internal, a return as success', async () => {
    const fm = rt.frontendMetrics()
    const f = fm.families
    await expect(
      fm.track({ model: 'toy' }, async (t) => {
        t.token()
        await new Promise((r) => setTimeout(r, 5))
        throw new Error('worker died')
      }),
    ).rejects.toThrow('worker died')
    // A synchronous throw rejects the returned promise too.
    await expect(
      fm.track({ model: 'toy' }, () => {
        throw new Error('sync')
      }),
    ).rejects.toThrow('sync')
    expect(await fm.track({ model: 'toy' }, (t) => (t.token(), 42))).toBe(42)
    // A tracker the function ended itself is not ended again.
    await fm.track({ model: 'toy' }, (t) => void t.finish({ status: 'error', errorType: 'overload' }))
    const l = { model: 'toy', endpoint: 'chat_completions', request_type: 'stream' }
    expect(f.requestsTotal.get({ ...l, status: 'error', error_type: 'internal' })).toBe(2)
    expect(f.requestsTotal.get({ ...l, status: 'success', error_type: '' })).toBe(1)
    expect(f.requestsTotal.get({ ...l, status: 'error', error_type: 'overload' })).toBe(1)
    expect(f.inflightRequests.get({ model: 'toy' })).toBe(0)
    expect(f.queuedRequests.get({ model: 'toy' })).toBe(0)
    expect(f.requestDuration.getCount({ model: 'toy' })).toBe(4)
  })

  it('bad model and label values are InvalidLabelErrors; bad token counts InvalidValueErrors; the request stays open', () => {
    const fm = rt.frontendMetrics()
    const f = fm.families
    for (const bad of [{ model: '' }, { model: 42 }, { model: undefined }, { model: 'm', endpoint: '' }, { model: 'm', requestType: 'batch' }]) {
      const e = (() => {
        try {
          fm.startRequest(bad as never)
        } catch (x) {
          return x
        }
      })()
      expect(e).toBeInstanceOf(InvalidLabelError)
      expect((e as InvalidLabelError).code).toBe('ERR_DYNAMO_INVALID_LABEL')
    }
    expect(() => fm.startRequest(null as never)).toThrow(InvalidLabelError)
    expect(() => fm.setModelConfig('', { contextLength: 1 })).toThrow(InvalidLabelError)
    expect(() => fm.setModelConfig('m', { contextLength: 1.5 })).toThrow(InvalidValueError)
    expect(() => fm.setModelConfig('m', { bogus: 1 } as never)).toThrow(ConfigError)
    expect(f.inflightRequests.get({ model: 'm' })).toBe(0)

    const t = fm.startRequest({ model: 'm' })
    expect(() => t.token(-1)).toThrow(InvalidValueError)
    expect(() => t.token(1.5)).toThrow(InvalidValueError)
    expect(() => t.token(Number.NaN)).toThrow(InvalidValueError)
    expect(() => t.finish({ status: 'ok' as never })).toThrow(/status "ok": must be one of success, error/)
    expect(() => t.finish({ status: 'error', errorType: 'weird' as never })).toThrow(InvalidLabelError)
    expect(() => t.finish({ status: 'success', errorType: 'internal' })).toThrow(/must be '' when status is success/)
    expect(() => t.finish({ inputTokens: -1 })).toThrow(InvalidValueError)
    expect(() => t.finish({ outputTokens: 2.5 })).toThrow(InvalidValueError)
    // None of that ended or counted the request.
    expect(t.finished).toBe(false)
    expect(f.inflightRequests.get({ model: 'm' })).toBe(1)
    expect(f.outputTokensTotal.get({ model: 'm' })).toBe(0)
    t.token(0)
    expect(f.timeToFirstToken.getCount({ model: 'm' })).toBe(0)
    expect(t.finish({ status: 'error' })).toBe(true)
    expect(f.requestsTotal.get({ model: 'm', endpoint: 'chat_completions', request_type: 'stream', status: 'error', error_type: 'internal' })).toBe(1)
    expect(f.inflightRequests.get({ model: 'm' })).toBe(0)
  })

  it("is served on the status server's /metrics", async () => {
    const srv = await DistributedRuntime.create({ systemPort: 0, systemHost: '127.0.0.1' })
    try {
      const fm = srv.frontendMetrics()
      for (let i = 0; i < 3; i++) {
        const t = fm.startRequest({ model: 'toy' })
        t.token()
        t.token()
        t.finish({ inputTokens: 4 })
      }
      const r = await httpGet(`http://127.0.0.1:${srv.systemStatusServer?.port}/metrics`)
      expect(r.status).toBe(200)
      expect(sample(r.body, `${P}_requests_total`, REQ('toy', 'success'))).toBe(3)
      expect(sample(r.body, `${P}_output_tokens_total`, '{model="toy"}')).toBe(6)
      expect(sample(r.body, `${P}_time_to_first_token_seconds_count`, '{model="toy"}')).toBe(3)
    } finally {
      await srv.shutdown()
    }
  })
})
