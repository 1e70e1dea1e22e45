import { defineConfig } from 'vitest/config';

// Test selection for `npm run mutation` (StrykerJS, scripts/mutation.mjs, scripts/stryker.config.json): the tests that exercise
// the margin measure code, without the CLI/book-file/browser suites that only re-run it through
// I/O. One fork, no file parallelism: Stryker runs its own workers.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: [
      'test/margin.test.ts',
      'test/margin-grid.test.ts',
      'test/grid-smile.test.ts',
      'test/standard-branches.test.ts',
      'test/standard-account.test.ts',
      'test/grid-addons.test.ts',
      'test/grid-account.test.ts',
      'test/grid-scenarios.test.ts',
      'test/span.test.ts',
      'test/lyra.test.ts',
      'test/aggregate-kernel.test.ts',
      'test/risk-measures.test.ts',
      'test/scenario-sets.test.ts',
      'test/deribit-pme.test.ts',
      'test/deribit-pme-arithmetic.test.ts',
      'test/grid-whatif.test.ts',
      'test/risk-history.test.ts',
      'test/var-es-model.test.ts',
      'test/liquidation-speed.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
