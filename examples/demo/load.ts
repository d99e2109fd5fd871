// `--load N`: N chat requests per second to the frontend over HTTP, alternating streaming and
// not, so every panel of the dashboards moves.
import { request } from 'node:http'

export function startLoad(host: string, port: number, perSecond: number): () => void {
  if (!(perSecond > 0)) return () => {}
  let n = 0
  const send = (): void => {
    const stream = n % 2 === 0
    const body = JSON.stringify({
      model: 'toy',
      stream,
      max_tokens: 4 + (n % 12),
      messages: [{ role: 'user', content: `request ${n} asks the toy model for a few words` }],
    })
    n++
    const req = request({ host, port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      res.resume()
    })
    req.on('error', (e) => console.error('load request failed:', e.message))
    req.end(body)
  }
  const timer = setInterval(send, 1000 / perSecond)
  return () => clearInterval(timer)
}
