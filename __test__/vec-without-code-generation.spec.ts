// A process that forbids code generation from strings (`node --disallow-code-generation-from-strings`,
// which prom-client works under) gets working Vecs: the label index falls back from its generated
// resolver to a closure. The same cases run here (generated resolver) and in a child with the flag.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as pkg from '../dist/cjs/index.js'
import { cases } from './fixtures/vec-cases.mjs'

const RUNNER = join(__dirname, 'fixtures', 'run-vec-cases.mjs')
const names = Object.keys(cases)

describe('Vec cases with code generation allowed', () => {
  it.each(names)('%s', async (name) => {
    const rt = await pkg.DistributedRuntime.create({ systemEnabled: false })
    try {
      await cases[name](rt, pkg)
    } finally {
      await rt.shutdown()
    }
  })
})

describe('Vec cases under node --disallow-code-generation-from-strings', () => {
  it('every case passes, with code generation really disallowed', () => {
    const r = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', RUNNER], {
      encoding: 'utf8',
      timeout: 120_000,
    })
    expect(r.stderr).not.toMatch(/EvalError/)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('CODEGEN false')
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([])
    expect(lines.slice(1, -1)).toEqual(names.map((n) => `PASS ${n}`))
    expect(lines.at(-1)).toBe('DONE')
    expect(r.status).toBe(0)
  }, 150_000)
})
