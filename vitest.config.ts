import { defineConfig } from 'vitest/config';

// `npm test` runs the suite twice (SIMD build, then OPTMARGIN_WASM=scalar). Under CI each run
// also writes a JSON report, which .ci/run sums into one closing "N passed, N failed" line.
const build = process.env.OPTMARGIN_WASM === 'scalar' ? 'scalar' : 'simd';

// The browser tests time what a user sees (the playground's first figure within 1 s of page
// load): they run after every other file has finished, one file at a time, so Chromium is not
// timed while other suites (book runs, worker pools) hold both cores.
const BROWSER = ['test/browser.test.ts', 'test/playground.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker-pool tests spawn their own threads; keep vitest's own fan-out modest on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // the skip reporter lists every skipped test with its reason and every count of reference rows left out
    reporters: process.env.CI
      ? ['default', './test/support/skip-reporter.ts', ['json', { outputFile: `.test-results/${build}.json` }]]
      : ['default', './test/support/skip-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'engine', include: ['test/**/*.test.ts'], exclude: BROWSER, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'browser', include: BROWSER, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
