// A real `nats-server` (Debian package `nats-server`) on a free loopback port, for the NATS
// request-plane tests: start, wait until it accepts TCP connections, stop, restart on the same port.
// And a link to it that a test cuts and restores: an outage for the clients behind it only.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { delimiter, join } from 'node:path'
import { freePort } from './util'

/** Where `nats-server` is: on PATH, or in the sbin directories Debian installs it to. */
export function findNatsServer(): string | null {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '')
  for (const d of [...dirs, '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    const p = join(d, 'nats-server')
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return null
}

/** Resolves once a TCP connection to `port` succeeds and the server sent its INFO line. */
function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port })
    let got = ''
    const done = (ok: boolean): void => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(1000, () => done(false))
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1')
      if (got.includes('\r\n')) done(got.startsWith('INFO '))
    })
    s.on('error', () => done(false))
  })
}

export class NatsServer {
  private child: ChildProcess | undefined
  private exited: Promise<void> | undefined
  private log = ''

  private constructor(
    private readonly bin: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.child !== undefined
  }

  /** The server's stdout and stderr so far (for failure messages). */
  output(): string {
    return this.log
  }

  /** Starts a server on `port` (default: a free loopback port). */
  static async start(port?: number): Promise<NatsServer> {
    const bin = findNatsServer()
    if (bin === null) throw new Error('nats-server is not installed (apt-get install nats-server)')
    const s = new NatsServer(bin, port ?? (await freePort()))
    await s.launch()
    return s
  }

  private async launch(timeoutMs = 10_000): Promise<void> {
    if (this.child !== undefined) throw new Error('nats-server is already running')
    const end = Date.now() + timeoutMs
    // The port may still be held for a moment after a stop; retry the launch until the deadline.
    for (;;) {
      const child = spawn(this.bin, ['-a', '127.0.0.1', '-p', String(this.port)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child.stdout!.on('data', (c: Buffer) => (this.log += c.toString()))
      child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()))
      let dead = false
      const exited = new Promise<void>((resolve) => {
        child.on('exit', () => {
          dead = true
          resolve()
        })
        child.on('error', (e) => {
          this.log += `spawn error: ${e.message}\n`
          dead = true
          resolve()
        })
      })
      this.child = child
      this.exited = exited
      while (!dead && Date.now() < end) {
        if (await probe(this.port)) return
        await new Promise((r) => setTimeout(r, 50))
      }
      await this.stop()
      if (Date.now() >= end) {
        throw new Error(`nats-server did not accept connections on port ${this.port} within ${timeoutMs} ms:\n${this.log}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 3 s; `kill: true` sends SIGKILL at once). */
  async stop(opts: { kill?: boolean } = {}): Promise<void> {
    const child = this.child
    const exited = this.exited
    this.child = undefined
    this.exited = undefined
    if (child === undefined || exited === undefined) return
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(opts.kill === true ? 'SIGKILL' : 'SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(t)
    }
  }

  /** Starts the server again on the same port. */
  async restart(): Promise<void> {
    await this.stop()
    await this.launch()
  }

  /** Starts a stopped server on its port. */
  async resume(): Promise<void> {
    await this.launch()
  }
}

/**
 * A loopback TCP pass-through to a server's port: the clients connected through it lose NATS
 * while it is cut, and the others (connected directly) keep it.
 */
export class NatsLink {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  private constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  static async open(target: NatsServer): Promise<NatsLink> {
    const link = new NatsLink(await freePort(), target.port)
    await link.restore()
    return link
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: this.target })
      for (const s of [inbound, outbound]) {
        this.sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => {
          this.sockets.delete(s)
          inbound.destroy()
          outbound.destroy()
        })
      }
      inbound.pipe(outbound)
      outbound.pipe(inbound)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
  }

  /** Drops every connection through the link and refuses new ones until `restore()`. */
  async cut(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const s of this.sockets) s.destroy()
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()))
  }
}
