// The metric classes read constants such as SLAB_SHIFT from other modules on every inc/observe.
// V8 folds such a read only while the exporting module's `exports` is a fast object; tsc's
// `export { x } from` defines a getter over an existing property, which turns `exports` into a
// dictionary, and each read then calls a generic lookup. A child process with
// --allow-natives-syntax lists the package's modules whose exports went that way.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const dist = join(__dirname, '..', 'dist', 'cjs')

// The folders' index.js files re-export by design; code inside the package does not read
// anything from them on an update path.
const script = `
require(${JSON.stringify(join(dist, 'index.js'))})
const slow = []
for (const [file, mod] of Object.entries(require.cache)) {
  if (file.startsWith(${JSON.stringify(dist)}) && !file.endsWith('/index.js') && !%HasFastProperties(mod.exports)) {
    slow.push(file.slice(${dist.length + 1}))
  }
}
console.log(JSON.stringify({ loaded: Object.keys(require.cache).filter((f) => f.startsWith(${JSON.stringify(dist)})).length, slow }))
`

describe('module exports of the package', () => {
  it('stay fast objects (no re-export outside the index files)', () => {
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8', timeout: 60_000 })
    expect(r.stderr).toBe('')
    const { loaded, slow } = JSON.parse(r.stdout) as { loaded: number; slow: string[] }
    expect(loaded).toBeGreaterThan(20)
    expect(slow).toEqual([])
  })
})
