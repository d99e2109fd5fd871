// Shared helpers for the tests: they use the package as a user does (the built entry points).
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { request } from 'node:http'
import { join } from 'node:path'

export const PKG = join(__dirname, '../dist/cjs/index.js')
export const PKG_ESM = join(__dirname, '../dist/esm/index.mjs')

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface HttpResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** GET over a fresh connection (no keep-alive), so a test never leaves a socket behind. */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Polls `fn` until it returns a value that is not undefined, or throws after `ms`. */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() >= end) {
      throw new Error(`${what} did not hold within ${ms} ms${last === undefined ? '' : `: ${String(last)}`}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** `p`'s value, or undefined when `ms` pass first. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(undefined), ms)
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(t)
        reject(e)
      },
    )
  })
}

export interface Program {
  child: ChildProcess
  /** The first stdout line that starts with `prefix`, and when it arrived. */
  line(prefix: string): Promise<{ line: string; at: number }>
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  send(line: string): void
  stdout(): string
  stderr(): string
}

/** Starts `node <file> ...args` with `env` (never inheriting DYN_* or NATS_SERVER). */
export function startProgram(file: string, args: string[], env: Record<string, string> = {}): Program {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('DYN_') && k !== 'NATS_SERVER'),
  )
  const child = spawn(process.execPath, [file, ...args], {
    env: { ...base, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let partial = ''
  const seen: { line: string; at: number }[] = []
  const waiters: { prefix: string; resolve: (v: { line: string; at: number }) => void }[] = []
  child.stdout!.on('data', (c: Buffer) => {
    const at = performance.now()
    out += c.toString()
    partial += c.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      seen.push({ line, at })
      for (const w of waiters.splice(0)) {
        if (line.startsWith(w.prefix)) w.resolve({ line, at })
        else waiters.push(w)
      }
    }
  })
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  child.stdin!.on('error', () => {})
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
  )
  return {
    child,
    exit,
    stdout: () => out,
    stderr: () => err,
    send: (line) => void child.stdin!.write(line + '\n'),
    line(prefix) {
      const hit = seen.find((s) => s.line.startsWith(prefix))
      if (hit) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        waiters.push({ prefix, resolve })
        void exit.then(() => {
          const late = seen.find((s) => s.line.startsWith(prefix))
          if (late) resolve(late)
          else reject(new Error(`exited without printing ${prefix}; stdout=${out} stderr=${err}`))
        })
      })
    },
  }
}

/** Kills a program that is still running and waits for it to go. */
export async function killProgram(p: Program): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGKILL')
    await p.exit
  }
}

/** The value of the sample `name` + `labels` (e.g. `{a="b"}`) in exposition text, or undefined. */
export function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    if (line.slice(0, sp) === name + labels) return Number(line.slice(sp + 1))
  }
  return undefined
}
