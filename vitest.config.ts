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
    // the skip reporter lists every skipped test with its reason and every count of reference rows left out
    reporters: process.env.CI
      ? ['default', './test/support/skip-reporter.ts', ['json', { outputFile: `.test-results/${build}.json` }]]
      : ['default', './test/support/skip-reporter.ts'],
  },
});
