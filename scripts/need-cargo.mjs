// Runs before every `napi build`: without cargo, napi-rs fails with "cargo metadata failed to run" and a
// stack trace; this says in one line what is missing instead.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const manifest = readFileSync(new URL('../Cargo.toml', import.meta.url), 'utf8')
const rust = /^rust-version\s*=\s*"([^"]+)"/m.exec(manifest)?.[1] ?? '?'
const probe = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
if (probe.error || probe.status !== 0) {
  console.error(
    `dynamo-metrics: building the native addon needs Rust >= ${rust} (cargo was not found on PATH; install it from ` +
      'https://rustup.rs), or install the published package, whose prebuilt binaries need no Rust: npm install dynamo-metrics',
  )
  process.exit(1)
}
