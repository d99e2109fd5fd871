// Fuzzing the public API: at least 100,000 generated calls per run through every constructor and
// method (names, help, label names and values with unicode, NUL, lone surrogates and megabyte
// strings; NaN, ±Infinity, -0, 2^53+1, strings, objects, symbols, bigints, null, undefined,
// arrays, functions as values), in a child process (fixtures/fuzz-api-run.mjs) so an abort or a
// hang is seen from here. Asserted: the child exits by itself within the bound, every rejection
// is a typed error (`MetricsError`, code `ERR_DYNAMO_*`) whose message names the argument, every
// accepted value reads back exactly (get/getSum/getCount, help text, const labels and the parsed
// scrape against a model), and promtool finds no parse error in the final scrape text.
// Seed: FUZZ_SEED reproduces a run (printed on every run and in every failure); FUZZ_CALLS
// changes the count. Figures of the last run: docs/reliability.md.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const BODY = join(__dirname, 'fixtures', 'fuzz-api-run.mjs')
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0
const CALLS = Number(process.env.FUZZ_CALLS ?? 100_000)
/** The bound on one run: past it the child is killed and the run counts as a hang. */
const BOUND_MS = 150_000

const hasPromtool = spawnSync('promtool', ['--version']).status === 0
if (!hasPromtool && process.env.CI === 'true') throw new Error('promtool is required in CI: apt-get install prometheus')

interface Report {
  seed: number
  calls: number
  accepted: number
  rejected: number
  byCode: Record<string, number>
  violations: string[]
  elapsedMs: number
  scrapeBytes: number
  samplesCompared: number
}

it(`${CALLS} generated calls through the public API (seed ${SEED}; FUZZ_SEED=${SEED} reproduces)`, { timeout: BOUND_MS + 30_000 }, async () => {
  console.log(`fuzz-api: seed ${SEED} (FUZZ_SEED=${SEED} reproduces), ${CALLS} calls`)
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-api-'))
  const scrape = join(dir, 'scrape.txt')
  try {
    // The child never inherits DYN_* or NATS_SERVER: the run is the seed's alone.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DYN_') && k !== 'NATS_SERVER'))
    const child = spawn(process.execPath, [BODY], {
      env: { ...env, FUZZ_SEED: String(SEED), FUZZ_CALLS: String(CALLS), FUZZ_OUT: scrape },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    let hung = false
    const timer = setTimeout(() => {
      hung = true
      child.kill('SIGKILL')
    }, BOUND_MS)
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    )
    clearTimeout(timer)
    const context = `seed ${SEED}; stderr: ${err.slice(-2000)}`
    expect(hung, `no hang: the run ended within ${BOUND_MS} ms (${context})`).toBe(false)
    expect(exit, `no crash or abort (${context})`).toEqual({ code: 0, signal: null })
    const line = out.split('\n').find((l) => l.startsWith('REPORT '))
    expect(line, `the run reported (${context})`).toBeDefined()
    const report = JSON.parse(line!.slice('REPORT '.length)) as Report
    console.log(
      `fuzz-api: seed ${SEED}: ${report.calls} calls in ${report.elapsedMs} ms, ${report.accepted} accepted, ${report.rejected} rejected ` +
        `${JSON.stringify(report.byCode)}; final scrape ${report.scrapeBytes} bytes, ${report.samplesCompared} samples compared`,
    )
    expect(report.violations, `seed ${SEED}`).toEqual([])
    expect(report.calls).toBeGreaterThanOrEqual(CALLS)
    // Both outcomes were exercised, and rejections came from every main rule.
    expect(report.accepted).toBeGreaterThan(CALLS / 4)
    expect(report.rejected).toBeGreaterThan(CALLS / 10)
    for (const code of ['ERR_DYNAMO_INVALID_NAME', 'ERR_DYNAMO_INVALID_LABEL', 'ERR_DYNAMO_INVALID_VALUE', 'ERR_DYNAMO_CONFIG', 'ERR_DYNAMO_INVALID_ARGUMENT']) {
      expect(report.byCode[code] ?? 0, `${code} (seed ${SEED})`).toBeGreaterThan(0)
    }
    if (hasPromtool) {
      // promtool reads the text from stdin; the file goes there by redirection (it can be tens of MB).
      const checked = spawnSync('sh', ['-c', 'promtool check metrics < "$1"', 'sh', scrape], { encoding: 'utf8', maxBuffer: 1 << 26 })
      // Exit 0 is clean, 3 is lint hints only (e.g. counter names without _total): only a parse
      // error (exit 1) or a crash fails.
      expect(checked.stderr + checked.stdout, `seed ${SEED}`).not.toMatch(/error while linting|text format parsing error/)
      expect([0, 3], `promtool exit (seed ${SEED}): ${checked.stderr.slice(0, 500)}`).toContain(checked.status)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
