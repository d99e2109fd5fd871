import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.spec.ts'],
    // Native addons and worker_threads pools do not mix well; each file gets its own process.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
