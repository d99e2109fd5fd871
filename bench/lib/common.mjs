// Shared helpers of the benchmark cases: timing, statistics, data sets, read-back checks, HTTP.
import http from 'node:http'

export const hr = process.hrtime.bigint

export function gc() {
  if (typeof globalThis.gc !== 'function') throw new Error('run the case with node --expose-gc')
  globalThis.gc()
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function stats(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

/** Throws (the child then exits non-zero) unless `got === want`. */
export function expectEq(got, want, what) {
  if (got !== want) {
    throw new Error(`read-back check failed: ${what}: got ${got}, expected ${want}`)
  }
}

/** The 4 x 4 label combinations of the labeled hot-path cases. */
export const M = ['GET', 'POST', 'PUT', 'DELETE']
export const S = ['200', '404', '500', '503']
export const COMBOS = []
for (let i = 0; i < 16; i++) COMBOS.push({ method: M[i & 3], status: S[(i >> 2) & 3] })

/** 1,024 log-uniform values over 1 ms - 20 s (seeded), so every default bucket and +Inf is hit. */
export const V = (() => {
  let seed = 0x9e3779b9
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const lo = Math.log(0.001)
  const hi = Math.log(20)
  const out = new Float64Array(1024)
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(lo + (hi - lo) * rnd())
  return out
})()

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Three observations per histogram series in the scrape cases: a low bucket, a middle one, +Inf. */
export const HIST_OBS = [0.003, 0.3, 15]

/** Route label values `r0 ... r<n-1>`, built outside any timed region. */
export function routes(n) {
  const r = new Array(n)
  for (let i = 0; i < n; i++) r[i] = 'r' + i
  return r
}

/**
 * Parses Prometheus text and sums the samples whose name starts with `base` and ends with
 * `suffix` ('' = exact metric lines). Returns { lines, sum }.
 */
export function sampleStats(text, base, suffix) {
  let lines = 0
  let sum = 0
  let pos = 0
  while (pos < text.length) {
    let end = text.indexOf('\n', pos)
    if (end < 0) end = text.length
    if (text.charCodeAt(pos) !== 35 /* # */ && text.startsWith(base, pos)) {
      let nameEnd = pos + base.length
      while (nameEnd < end) {
        const c = text.charCodeAt(nameEnd)
        if (c === 123 /* { */ || c === 32) break
        nameEnd++
      }
      const name = text.slice(pos, nameEnd)
      if (name === base + suffix) {
        // the value is the token after the label set (a trailing timestamp is not expected)
        const close = text.lastIndexOf('}', end)
        const from = close > pos ? close + 1 : nameEnd
        const tok = text.slice(from, end).trim().split(' ')[0]
        lines++
        sum += Number(tok)
      }
    }
    pos = end + 1
  }
  return { lines, sum }
}

/** Checks a counter scrape: exactly `n` series named `name`, values summing to `n`. */
export function checkCounterText(text, name, n, what) {
  const s = sampleStats(text, name, '')
  expectEq(s.lines, n, `${what}: series lines of ${name}`)
  expectEq(s.sum, n, `${what}: sum of ${name}`)
}

/** Checks a histogram scrape: `n` series with 12 bucket lines each and 3 observations each. */
export function checkHistogramText(text, name, n, what) {
  const b = sampleStats(text, name, '_bucket')
  expectEq(b.lines, 12 * n, `${what}: bucket lines of ${name}`)
  const c = sampleStats(text, name, '_count')
  expectEq(c.lines, n, `${what}: _count lines of ${name}`)
  expectEq(c.sum, HIST_OBS.length * n, `${what}: total _count of ${name}`)
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

/**
 * GET over a keep-alive connection; resolves when the whole body was read, with the time the
 * last byte arrived (so decoding the body for checks is outside the timing).
 */
export function httpGet(port, path = '/metrics') {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks = []
      let bytes = 0
      res.on('data', (c) => {
        chunks.push(c)
        bytes += c.length
      })
      res.on('end', () => {
        const done = hr()
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))
        else resolve({ done, bytes, body: () => Buffer.concat(chunks, bytes).toString('utf8') })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

export function closeAgent() {
  agent.destroy()
}
