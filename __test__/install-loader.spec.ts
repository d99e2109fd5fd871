// Fast checks of what a newcomer meets before the package runs: the loader's error for each way the
// native addon can be missing, the one-line message without cargo, and the versions the README states
// being the ones the manifests declare.
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RUST_VERSION, currentPlatformSuffix, loadNative, missingBindingError, suffixOfTriple } from '../dist/cjs/native-loader.js'

const ROOT = join(__dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const generic = Object.assign(new Error('Cannot find native binding. npm has a bug related to optional dependencies (https://github.com/npm/cli/issues/4828).'), {
  cause: new Error("Cannot find module 'dynamo-metrics-wasm32-wasi'"),
})

describe('native loader errors', () => {
  it('names the missing platform package, its version and the command that installs it', () => {
    const e = missingBindingError(generic, pkg, () => false) as Error & { code: string }
    const wanted = `${pkg.name}-${currentPlatformSuffix()}@${pkg.version}`
    expect(e.code).toBe('ERR_DYNAMO_NATIVE_BINDING')
    expect(e.message).toContain(`its package ${wanted} (an optional dependency of ${pkg.name}) is not installed`)
    expect(e.message).toContain(`npm install ${wanted}`)
    expect(e.message).toContain(`needs Rust >= ${RUST_VERSION}`)
    expect(e.message).not.toContain('wasm32')
    expect(e.cause).toBeUndefined()
  })

  it('says when the platform has no prebuilt binary at all', () => {
    const e = missingBindingError(generic, { ...pkg, napi: { targets: ['riscv64gc-unknown-linux-gnu'] } }, () => false)
    expect(e.message).toContain(`no prebuilt native addon exists for this platform (${currentPlatformSuffix()}; published: linux-riscv64gc-gnu)`)
    expect(e.message).toContain(`needs Rust >= ${RUST_VERSION}`)
  })

  it('keeps the load error when the platform package is there but its addon does not load', () => {
    const broken = Object.assign(new Error('Cannot find native binding.'), { cause: new Error('libc.so.6: version GLIBC_2.99 not found') })
    const e = missingBindingError(broken, pkg, () => true)
    expect(e.message).toContain('is installed but its addon failed to load (libc.so.6: version GLIBC_2.99 not found)')
    expect(e.cause).toBe(broken)
  })

  it('rethrows any other error of the generated loader unchanged', () => {
    const other = new TypeError('boom')
    expect(() => loadNative(() => { throw other }, () => pkg)).toThrow(other)
    expect(() => loadNative(() => { throw generic }, () => pkg)).toThrow(/ERR_DYNAMO_NATIVE_BINDING|native addon/)
    expect(loadNative(() => 42, () => pkg)).toBe(42)
  })

  it('maps each napi target to its npm/<platform> package, as napi create-npm-dirs named them', () => {
    const suffixes = (pkg.napi.targets as string[]).map(suffixOfTriple)
    expect([...suffixes].sort()).toEqual(readdirSync(join(ROOT, 'npm')).sort())
    for (const s of suffixes) {
      expect(JSON.parse(readFileSync(join(ROOT, 'npm', s, 'package.json'), 'utf8')).name).toBe(`${pkg.name}-${s}`)
    }
  })
})

describe('building from source', () => {
  it('says in one line that Rust is needed when cargo is not on PATH', () => {
    const bin = mkdtempSync(join(tmpdir(), 'dynamo-metrics-nocargo-'))
    try {
      symlinkSync(process.execPath, join(bin, 'node'))
      const r = spawnSync(join(bin, 'node'), [join(ROOT, 'scripts', 'need-cargo.mjs')], { env: { PATH: bin }, encoding: 'utf8' })
      expect(r.status).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain(`building the native addon needs Rust >= ${RUST_VERSION}`)
      expect(r.stderr).not.toContain('cargo metadata')
    } finally {
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it('states the versions the manifests declare', () => {
    const cargo = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8')
    expect(cargo).toMatch(new RegExp(`^rust-version = "${RUST_VERSION.replace('.', '\\.')}"$`, 'm'))
    for (const c of ['dynamo-metrics-core', 'dynamo-metrics-node']) {
      expect(readFileSync(join(ROOT, 'crates', c, 'Cargo.toml'), 'utf8')).toContain('rust-version.workspace = true')
    }
    expect(readme).toContain(`Rust ${RUST_VERSION} or newer`)
    expect(pkg.engines.node).toBe('>=20')
    expect(readme).toContain('Node.js 20 or newer')
  })

  it('keeps the platform packages out of the tree, so the lock file pins only the dev tools', () => {
    expect(pkg.optionalDependencies).toBeUndefined()
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
    expect(Object.keys(lock.packages).filter((k) => k.includes(`node_modules/${pkg.name}-`))).toEqual([])
    expect(pkg.scripts.prepare).toBe('npm run build')
    expect(pkg.scripts.prepublishOnly).toContain('napi prepublish')
  })
})
