// Shared by the Method 1 specs: program discovery (fail in CI, skip elsewhere), a raw NATS
// subscriber/publisher, a Pushgateway on a free port, metrics builders.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { findNatsServer } from './nats-server'
import { freePort, httpGet } from './util'

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

/** Polls `check` until it returns a value that is not undefined, or fails after `ms`. */
export async function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A plain NATS client (the text protocol): subscribes and publishes, nothing of ours involved. */
export class RawNats {
  private buf = Buffer.alloc(0)
  readonly messages: { subject: string; payload: string }[] = []
  private pongs: (() => void)[] = []

  private constructor(private readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c])
      this.parse()
    })
    sock.on('error', () => {})
  }

  static async connect(url: string): Promise<RawNats> {
    const port = Number(new URL(url).port)
    const sock = connect({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve())
      sock.once('error', reject)
    })
    const c = new RawNats(sock)
    sock.write('CONNECT {"verbose":false,"pedantic":false}\r\n')
    await c.ping()
    return c
  }

  private parse(): void {
    for (;;) {
      const eol = this.buf.indexOf('\r\n')
      if (eol < 0) return
      const line = this.buf.subarray(0, eol).toString('latin1')
      const parts = line.split(' ')
      if (parts[0] === 'MSG') {
        const size = Number(parts[parts.length - 1])
        if (this.buf.length < eol + 2 + size + 2) return
        const payload = this.buf.subarray(eol + 2, eol + 2 + size).toString('utf8')
        this.messages.push({ subject: parts[1], payload })
        this.buf = this.buf.subarray(eol + 2 + size + 2)
        continue
      }
      this.buf = this.buf.subarray(eol + 2)
      if (parts[0] === 'PING') this.sock.write('PONG\r\n')
      else if (parts[0] === 'PONG') this.pongs.shift()?.()
    }
  }

  /** Resolves when the server has processed everything sent before. */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve)
      this.sock.write('PING\r\n')
    })
  }

  async subscribe(subject: string): Promise<void> {
    this.sock.write(`SUB ${subject} ${Math.floor(Math.random() * 1e9)}\r\n`)
    await this.ping()
  }

  async publish(subject: string, payload: string | Buffer): Promise<void> {
    const b = Buffer.from(payload)
    this.sock.write(Buffer.concat([Buffer.from(`PUB ${subject} ${b.length}\r\n`), b, Buffer.from('\r\n')]))
    await this.ping()
  }

  close(): void {
    this.sock.destroy()
  }
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
