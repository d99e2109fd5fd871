// After tsc: (1) point the binding's type import at the package root from dist/cjs, and (2) write
// the ESM entry as a thin re-export of the CommonJS build, so `import` and `require` share one
// instance of the package (no dual-package state).
import { createRequire } from 'node:module'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// src-ts/binding/ imports the loader's types as '../../index'; from dist/cjs/binding/ that is one level more.
for (const f of ['native.d.ts', 'options.d.ts']) {
  const dts = new URL(`../dist/cjs/binding/${f}`, import.meta.url)
  writeFileSync(dts, readFileSync(dts, 'utf8').replaceAll("'../../index'", "'../../../index'"))
}

// Loading the CJS build needs an addon: the root's (release) one, else the test addon `build:debug` writes.
const addons = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')) : [])
const testDir = new URL('../target/test-addon/', import.meta.url)
if (!process.env.NAPI_RS_NATIVE_LIBRARY_PATH && addons(new URL('..', import.meta.url)).length === 0) {
  const [test] = addons(testDir)
  if (test) process.env.NAPI_RS_NATIVE_LIBRARY_PATH = fileURLToPath(new URL(test, testDir))
}
const require = createRequire(import.meta.url)
const cjs = require('../dist/cjs/index.js')
const names = Object.keys(cjs).filter((k) => k !== '__esModule' && k !== 'default')
mkdirSync(new URL('../dist/esm/', import.meta.url), { recursive: true })
const js = [
  "import cjs from '../cjs/index.js'",
  ...names.map((n) => `export const ${n} = cjs.${n}`),
  'export default cjs',
  '',
].join('\n')
writeFileSync(new URL('../dist/esm/index.mjs', import.meta.url), js)
writeFileSync(
  new URL('../dist/esm/index.d.mts', import.meta.url),
  "export * from '../cjs/index.js'\nimport * as all from '../cjs/index.js'\nexport default all\n",
)
