// The benchmark harness runs: every case of every library at tiny sizes, each reading its value
// back through the library's API (the harness exits non-zero when a read-back check fails).
// No timing is asserted here; figures live in docs/benchmarks.md.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const bench = join(__dirname, '..', 'bench')
const installed = existsSync(join(bench, 'node_modules', 'prom-client'))
if (!installed && process.env.CI === 'true') {
  throw new Error('the benchmark peers are required in CI: npm install --prefix bench')
}
if (!installed) console.warn('skipping the benchmark smoke test: run `npm install --prefix bench` first')

describe.runIf(installed)('benchmark harness', () => {
  it('runs every case for every library and checks the read-back values', () => {
    const r = spawnSync(process.execPath, [join(bench, 'run.mjs'), '--smoke'], { encoding: 'utf8', timeout: 120_000 })
    expect(r.stderr + r.stdout).toMatch(/smoke: (\d+)\/\1 passed/)
    expect(r.status).toBe(0)
  }, 150_000)
})
