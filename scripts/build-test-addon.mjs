// `npm run build:debug`: the debug addon (100 MB, unoptimised) for the tests, kept out of the package root
// where the release addon `npm install` built lives. napi build writes next to the generated loader
// (index.js / index.d.ts, regenerated here too: with another output dir it would embed that dir's path),
// so the release addon is moved aside for the build and back after; renames leave running processes
// that mapped it unharmed. The tests load target/test-addon/ through NAPI_RS_NATIVE_LIBRARY_PATH.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const testDir = join(root, 'target', 'test-addon')
const stash = join(root, 'target', 'release-addon-stash')
const addons = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => /^dynamo-metrics\..*\.node$/.test(f)) : [])

mkdirSync(testDir, { recursive: true })
mkdirSync(stash, { recursive: true })
// A stash left by an interrupted run holds the release addon: put it back first.
for (const f of addons(stash)) renameSync(join(stash, f), join(root, f))
const kept = addons(root)
for (const f of kept) renameSync(join(root, f), join(stash, f))
let status = 1
try {
  const napi = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
  const args = ['build', '--platform', '--manifest-path', 'crates/dynamo-metrics-node/Cargo.toml', '-o', '.', ...process.argv.slice(2)]
  status = spawnSync(napi, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' }).status ?? 1
  if (status === 0) {
    for (const f of addons(testDir)) rmSync(join(testDir, f))
    for (const f of addons(root)) renameSync(join(root, f), join(testDir, f))
  }
} finally {
  for (const f of addons(root)) if (kept.includes(f)) rmSync(join(root, f))
  for (const f of addons(stash)) renameSync(join(stash, f), join(root, f))
}
process.exit(status)
