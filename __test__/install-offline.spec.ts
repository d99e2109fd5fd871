// An install with no Rust, as a user gets it from npm: the release addon goes into its platform package
// the napi-rs way (`napi artifacts`), `napi prepublish` (what `npm publish` runs) writes the root's
// optionalDependencies, both packages are packed, then installed offline with an empty cache into an
// empty project with no cargo/rustc on PATH, where the README's quick start runs (ESM and CJS) and is
// scraped. Last, without the platform package, loading fails with an error naming it.
//
// The release build is the slow part (minutes on 2 shared cores): it runs when a release build exists
// already (`npm install` or `npm run build:native` made one; cargo then only checks it is fresh), or
// in CI, or with DYNAMO_METRICS_INSTALL_TEST=1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { freePort, httpGet } from './util'

const ROOT = join(__dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const HOST_TRIPLE = 'x86_64-unknown-linux-gnu'
const SUFFIX = 'linux-x64-gnu'
const PLATFORM_PKG = `${pkg.name}-${SUFFIX}`
const releaseLib = join(ROOT, 'target', HOST_TRIPLE, 'release', 'libdynamo_metrics_node.so')
const onHost = process.platform === 'linux' && process.arch === 'x64'
const enabled =
  onHost && (existsSync(releaseLib) || process.env.CI === 'true' || process.env.DYNAMO_METRICS_INSTALL_TEST === '1')
if (!enabled) {
  console.warn(
    onHost
      ? 'install-offline.spec: skipped (no release build yet): run `npm run build:native` first, or set DYNAMO_METRICS_INSTALL_TEST=1'
      : `install-offline.spec: skipped: it packs the ${SUFFIX} package, and this machine is ${process.platform}-${process.arch}`,
  )
}

const napi = join(ROOT, 'node_modules', '.bin', 'napi')
const npmCli =
  process.env.npm_execpath && process.env.npm_execpath.endsWith('.js')
    ? process.env.npm_execpath
    : join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')

let tmp = ''
let app = ''
let noRustPath = ''

/** The environment of a user without Rust: node (and npm through it) only, no addon override. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: noRustPath, ...extra }
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  for (const k of Object.keys(env)) if (k.startsWith('npm_') || k.startsWith('CARGO') || k.startsWith('RUST')) delete env[k]
  return env
}

/**
 * Runs a command to completion, asynchronously: a synchronous spawn would block the test worker for
 * minutes (the release build, npm install), and vitest's worker RPC times out meanwhile.
 */
function run(cmd: string, args: string[], opts: SpawnOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out)
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}):\n${out}\n${err}`))
    })
  })
}

/** The README's quick start, literally (the ```js block after "## Quick start"). */
function quickStart(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Quick start'))
  const m = /```js\n([\s\S]*?)```/.exec(section)
  if (!m) throw new Error('README: no ```js block in the Quick start section')
  return m[1]
}

/** The CJS form the README describes: `require` instead of the import, the rest in an async main(). */
function quickStartCjs(esm: string): string {
  const importLine = "import { DistributedRuntime } from 'dynamo-metrics'\n"
  expect(esm.startsWith(importLine)).toBe(true)
  return `const { DistributedRuntime } = require('dynamo-metrics')\nasync function main() {\n${esm.slice(importLine.length)}}\nmain()\n`
}

async function scrapeQuickStart(file: string): Promise<void> {
  const port = await freePort()
  const child = spawn(process.execPath, [file], { cwd: app, env: userEnv({ DYN_SYSTEM_PORT: String(port) }) })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    let metrics = ''
    for (let i = 0; i < 200 && !metrics; i++) {
      if (child.exitCode !== null) throw new Error(`${file} exited (${child.exitCode}): ${stderr}`)
      try {
        const r = await httpGet(`http://127.0.0.1:${port}/metrics`)
        // The server is up before the script has created its metrics; wait for the last one.
        if (r.status === 200 && r.body.includes('worker_id="worker_2"')) metrics = r.body
      } catch {
        // not listening yet
      }
      if (!metrics) await new Promise((r) => setTimeout(r, 100))
    }
    expect(metrics, `no scrape of ${file}: ${stderr}`).not.toBe('')
    const labels = 'dynamo_component="cp556",dynamo_endpoint="ep556",dynamo_namespace="ns556"'
    expect(metrics).toContain(`dynamo_component_request_total_slots{${labels}} 1024\n`)
    expect(metrics).toContain(`dynamo_component_gpu_cache_usage_percent{${labels}} 42.5\n`)
    expect(metrics).toContain(`dynamo_component_internal_update_count{${labels},type="internal"} 1\n`)
    expect(metrics).toContain(`dynamo_component_worker_active_requests{${labels},model="llama-3",worker_id="worker_1"} 5\n`)
    expect(metrics).toContain(`dynamo_component_worker_active_requests{${labels},model="llama-3",worker_id="worker_2"} 3\n`)
    // The callback runs before every scrape.
    const again = await httpGet(`http://127.0.0.1:${port}/metrics`)
    expect(again.body).toContain(`dynamo_component_internal_update_count{${labels},type="internal"} 2\n`)
    for (const route of ['/health', '/live']) {
      const h = await httpGet(`http://127.0.0.1:${port}${route}`)
      expect(h.status, route).toBe(200)
      expect(JSON.parse(h.body).status).toBe('ready')
    }
    // The quick start's Ctrl-C handler shuts down; the process then exits on its own.
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

describe.skipIf(!enabled)('install without Rust, offline, from the packed packages', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'dynamo-metrics-install-'))
    // A PATH with node and nothing of Rust's.
    const bin = join(tmp, 'bin')
    mkdirSync(bin)
    symlinkSync(process.execPath, join(bin, 'node'))
    noRustPath = [bin, ...(process.env.PATH ?? '').split(delimiter)]
      .filter((d) => d === bin || !['cargo', 'rustc', 'rustup'].some((p) => existsSync(join(d, p))))
      .join(delimiter)
    expect(spawnSync('cargo', ['--version'], { env: { PATH: noRustPath } }).error).toBeTruthy()

    // 1. The release addon (cargo only checks it when it is fresh), as CI's build job makes it.
    const artifacts = join(tmp, 'artifacts')
    await run(napi, ['build', '--platform', '--release', '--manifest-path', 'crates/dynamo-metrics-node/Cargo.toml',
      '-o', artifacts, '--no-js', '--dts', 'index.d.ts'], { cwd: ROOT })
    rmSync(join(artifacts, 'index.d.ts'), { force: true }) // --dts is relative to -o

    // 2. What CI's publish job does, in a copy of the package: napi artifacts, then napi prepublish.
    // Only this machine's target was built, so the napi config names that one (CI's names all six).
    const stage = join(tmp, 'stage')
    mkdirSync(stage)
    for (const f of [...pkg.files.filter((f: string) => !f.includes('*')), 'package.json', 'npm']) {
      cpSync(join(ROOT, f), join(stage, f), { recursive: true })
    }
    for (const d of readdirSync(join(stage, 'npm'))) {
      for (const f of readdirSync(join(stage, 'npm', d))) if (f.endsWith('.node')) rmSync(join(stage, 'npm', d, f))
    }
    writeFileSync(join(stage, 'napi.local.json'), JSON.stringify({ ...pkg.napi, targets: [HOST_TRIPLE] }))
    await run(napi, ['artifacts', '-c', 'napi.local.json', '-d', artifacts, '--npm-dir', 'npm'], { cwd: stage })
    // The main package ships no binary of its own (napi artifacts also leaves a copy at the root).
    for (const f of readdirSync(stage)) if (f.endsWith('.node')) rmSync(join(stage, f))
    await run(napi, ['pre-publish', '-c', 'napi.local.json', '-t', 'npm', '--skip-optional-publish', '--no-gh-release'], { cwd: stage })
    const staged = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'))
    expect(staged.optionalDependencies).toEqual({ [PLATFORM_PKG]: pkg.version })

    // 3. npm pack both (no lifecycle scripts: packing must not build anything).
    const tarballs = join(tmp, 'tarballs')
    mkdirSync(tarballs)
    for (const dir of [stage, join(stage, 'npm', SUFFIX)]) {
      await run(process.execPath, [npmCli, 'pack', '--ignore-scripts', '--pack-destination', tarballs], { cwd: dir, env: userEnv() })
    }

    // 4. An empty project, an empty cache, no registry: npm install --offline.
    app = join(tmp, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    await run(process.execPath, [npmCli, 'install', '--offline', '--no-audit', '--no-fund', '--cache', join(tmp, 'empty-cache'),
      '--registry', 'http://127.0.0.1:9/', join(tarballs, `${pkg.name}-${pkg.version}.tgz`),
      join(tarballs, `${PLATFORM_PKG}-${pkg.version}.tgz`)], { cwd: app, env: userEnv() })
  }, 900_000)

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('installs the main package without a binary and the platform package with the release addon', () => {
    const main = join(app, 'node_modules', pkg.name)
    expect(readdirSync(main).filter((f) => f.endsWith('.node'))).toEqual([])
    const platform = join(app, 'node_modules', PLATFORM_PKG)
    const addon = readFileSync(join(platform, `${pkg.napi.binaryName}.${SUFFIX}.node`))
    expect(addon.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) // ELF
    // Release profile: stripped (strip = "symbols"), so no .symtab section name in the file.
    expect(addon.includes(Buffer.from('.symtab\0'))).toBe(false)
    expect(JSON.parse(readFileSync(join(main, 'package.json'), 'utf8')).optionalDependencies).toEqual({
      [PLATFORM_PKG]: pkg.version,
    })
  })

  it('runs the README quick start as ESM (app.mjs) and scrapes it', async () => {
    writeFileSync(join(app, 'app.mjs'), quickStart())
    await scrapeQuickStart('app.mjs')
  }, 60_000)

  it('runs the README quick start as CJS (app.cjs) and scrapes it', async () => {
    writeFileSync(join(app, 'app.cjs'), quickStartCjs(quickStart()))
    await scrapeQuickStart('app.cjs')
  }, 60_000)

  it('without the platform package, says which package is missing and how to get it', () => {
    rmSync(join(app, 'node_modules', PLATFORM_PKG), { recursive: true })
    for (const [flag, code] of [
      ['-e', "require('dynamo-metrics')"],
      ['--input-type=module', "import 'dynamo-metrics'"],
    ] as const) {
      const args = flag === '-e' ? ['-e', code] : [flag, '-e', code]
      const r = spawnSync(process.execPath, args, { cwd: app, env: userEnv(), encoding: 'utf8' })
      expect(r.status).not.toBe(0)
      expect(r.stderr).toContain(`the native addon for this platform is missing: its package ${PLATFORM_PKG}@${pkg.version}`)
      expect(r.stderr).toContain(`npm install ${PLATFORM_PKG}@${pkg.version}`)
      expect(r.stderr).toMatch(/needs Rust >= \d+\.\d+/)
      expect(r.stderr).toContain('ERR_DYNAMO_NATIVE_BINDING')
      expect(r.stderr).not.toContain('wasm32-wasi')
      expect(r.stderr).not.toContain('npm/cli#4828')
    }
  })
})
