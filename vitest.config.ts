import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

// `npm run build:debug` writes the test addon here, so the root keeps the release addon `npm install` built;
// the generated loader loads NAPI_RS_NATIVE_LIBRARY_PATH first (child processes the tests start inherit it).
const dir = resolve(__dirname, 'target/test-addon')
const addon = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.node')) : undefined

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Native addons and worker_threads pools do not mix well; each file gets its own process.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    env: addon ? { NAPI_RS_NATIVE_LIBRARY_PATH: join(dir, addon) } : {},
  },
})
