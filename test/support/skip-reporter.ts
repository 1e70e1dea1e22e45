/**
 * No silent skip (issue 15): after every run, list each skipped test with its reason (the test
 * or suite name carries it, e.g. "[SKIPPED: ../shared/data not found]", or the note given to
 * ctx.skip) and every test that left reference rows out of its comparison, with the count and
 * the reason it recorded (test/helpers.ts `recordSkippedRows`). Runs beside vitest's default
 * reporter (vitest.config.ts); prints to stdout after the summary.
 */
import type { Reporter, TestModule } from 'vitest/node';
import type { SkippedRows } from '../helpers.js';

export default class SkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    const rows: string[] = [];
    let rowTotal = 0;
    for (const m of testModules) {
      const file = m.moduleId.replace(/^.*\/test\//, 'test/');
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'skipped') {
          const why = r.note ? ` — ${r.note}` : t.options.mode === 'skip' ? '' : ` (${t.options.mode})`;
          skipped.push(`  ${file} > ${t.fullName}${why}`);
        }
        const meta = t.meta() as { skippedRows?: SkippedRows[] };
        for (const s of meta.skippedRows ?? []) {
          rowTotal += s.count;
          rows.push(`  ${file} > ${t.fullName}: ${s.count} of ${s.of} rows — ${s.reason}`);
        }
      }
    }
    const out: string[] = [];
    out.push(`skipped tests: ${skipped.length}${skipped.length ? ' (reasons in the names)' : ''}`);
    out.push(...skipped);
    out.push(`reference rows left out of a test's main comparison: ${rowTotal} in ${rows.length} test(s)`);
    out.push(...rows);
    process.stdout.write(`\n${out.join('\n')}\n`);
  }
}
