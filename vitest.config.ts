import { defineConfig } from 'vitest/config';

// `npm test` runs the suite twice (SIMD build, then OPTMARGIN_WASM=scalar). Under CI each run
// also writes a JSON report, which .ci/run sums into one closing "N passed, N failed" line.
const build = process.env.OPTMARGIN_WASM === 'scalar' ? 'scalar' : 'simd';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker-pool tests spawn their own threads; keep vitest's own fan-out modest on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    reporters: process.env.CI ? ['default', ['json', { outputFile: `.test-results/${build}.json` }]] : ['default'],
  },
});
