// A process that exits while scrapes are running: every log line it writes about the callbacks
// it could not run says why (it used to end in an empty reason).
import { join } from 'node:path'
import { request } from 'node:http'
import { expect, it } from 'vitest'
import { startProgram } from './util'

const FIXTURE = join(__dirname, 'fixtures', 'exit-mid-scrape.mjs')

function scrape(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      res.resume()
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    req.on('error', () => resolve())
    req.end()
  })
}

it('logs a reason for every callback run the teardown prevented', async () => {
  const lines: string[] = []
  for (let round = 0; round < 3; round++) {
    const p = startProgram(FIXTURE, ['400'])
    const port = Number((await p.line('port ')).line.slice(5))
    let exited = false
    void p.exit.then(() => (exited = true))
    // Scrape from 8 connections at once until the process is gone.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (!exited) await scrape(port)
      }),
    )
    const { code } = await p.exit
    expect(code).toBe(0)
    lines.push(...p.stderr().split('\n').filter((l) => l.includes('could not run the metrics callbacks')))
  }
  for (const l of lines) expect(l).toMatch(/could not run the metrics callbacks: \S/)
})
