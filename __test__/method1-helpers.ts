// Shared by the Method 1 specs: program discovery (fail in CI, skip elsewhere), a Pushgateway on
// a free port, metrics builders. (The raw NATS client is fixtures/raw-nats.ts.)
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { findNatsServer } from './nats-server'
import { eventually, freePort, httpGet } from './util'

function findProgram(name: string): string | null {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '')
  for (const d of [...dirs, '/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin']) {
    try {
      accessSync(join(d, name), constants.X_OK)
      return join(d, name)
    } catch {
      // not here
    }
  }
  return null
}

/** The program's path; in CI a missing one fails the file, elsewhere its tests skip (with a message). */
export function requireProgram(name: string, what: string): string | null {
  const p = name === 'nats-server' ? findNatsServer() : findProgram(name)
  if (p === null && process.env.CI === 'true') throw new Error(`${name} is not installed, and CI=true requires ${what}: apt-get install ${name}`)
  if (p === null) console.warn(`Skipping ${what}: ${name} is not installed (apt-get install ${name}).`)
  return p
}

export const CLI = join(__dirname, '../dist/cjs/cli/main.js')
export const WORKER = join(__dirname, 'fixtures', 'method1-worker.mjs')

export interface Fpm {
  workerStats: { requestActiveSlots: number; requestTotalSlots: number; numRequestsWaiting: number; dataParallelRank?: number }
  kvStats: { kvActiveBlocks: number; kvTotalBlocks: number; gpuCacheUsagePerc: number; gpuPrefixCacheHitRate: number }
}

export function fpm(p: Partial<Fpm['workerStats'] & Fpm['kvStats']> = {}): Fpm {
  return {
    workerStats: {
      requestActiveSlots: p.requestActiveSlots ?? 0,
      requestTotalSlots: p.requestTotalSlots ?? 1024,
      numRequestsWaiting: p.numRequestsWaiting ?? 0,
    },
    kvStats: {
      kvActiveBlocks: p.kvActiveBlocks ?? 0,
      kvTotalBlocks: p.kvTotalBlocks ?? 777,
      gpuCacheUsagePerc: p.gpuCacheUsagePerc ?? 0,
      gpuPrefixCacheHitRate: p.gpuPrefixCacheHitRate ?? 0,
    },
  }
}

export function uniqueNs(tag: string): string {
  return `m1${tag}${process.pid}${Math.floor(Math.random() * 1e6)}`
}

/** `eventually` with the condition named first, as the Method 1 specs read. */
export function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  return eventually(check, ms, what)
}

/** A real `prometheus-pushgateway` on a loopback port. */
export class Pushgateway {
  private child: ChildProcess | undefined
  private constructor(
    private readonly bin: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  static async start(bin: string, port?: number): Promise<Pushgateway> {
    const g = new Pushgateway(bin, port ?? (await freePort()))
    await g.launch()
    return g
  }

  async launch(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-'))
    this.child = spawn(this.bin, [`--web.listen-address=127.0.0.1:${this.port}`, `--persistence.file=${join(dir, 'data')}`], {
      stdio: 'ignore',
    })
    await until('the Pushgateway to be ready', 10_000, async () => ((await httpGet(`${this.url}/-/ready`)).status === 200 ? true : undefined))
  }

  async stop(): Promise<void> {
    const c = this.child
    this.child = undefined
    if (c === undefined || c.exitCode !== null) return
    const gone = new Promise((r) => c.once('exit', r))
    c.kill('SIGKILL')
    await gone
  }
}
