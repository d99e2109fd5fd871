// bench/frontend.mjs runs and its read-backs hold (every token counted, the clock moved under
// the loop). No timing assertion here: the 50 ns bar is checked with --check by hand.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('bench/frontend.mjs', () => {
  for (const args of [[], ['--precise']]) {
    it(`runs with its read-back checks ${args.join(' ')}`, () => {
      const r = spawnSync(process.execPath, [join(__dirname, '..', 'bench', 'frontend.mjs'), ...args], { encoding: 'utf8', timeout: 60_000 })
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^token\(\) \[clock: (coarse|precise)\]: median [\d.]+ ns/)
    })
  }
})
