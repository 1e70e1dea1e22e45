/**
 * The layout's invariants: no import cycle among the sources (runtime imports; `import type`
 * is erased), no file over 500 lines in src, assembly, bench or test, and layers that an account's walk goes down
 * without coming back: a lower layer never imports a higher one (docs/architecture.md).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPackageRoot } from '../src/platform/files.js';

const src = join(findPackageRoot(), 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
}

/** Runtime imports (relative) of each file, as paths relative to src/. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of sources(src)) {
    const text = readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      if (m[1].endsWith('.json')) continue;
      deps.push(relative(src, resolve(dirname(f), m[1].replace(/\.js$/, '.ts'))));
    }
    g.set(relative(src, f), deps);
  }
  return g;
}

/** Strongly connected components with more than one file (or a self-import). */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Layer rank of a source file: a file may import only files of the same or a lower rank. */
const LAYERS: [RegExp, number][] = [
  // the batch layouts (pricing/types.ts) are data shared by the kernels' wrappers and the pricers
  [/^(errors|limits)\.ts$|^platform\/|^pricing\/types\.ts$/, 0],
  [/^wasm\//, 1],
  [/^pricing\//, 2],
  [/^market\//, 3],
  [/^instruments\//, 4],
  [/^scenarios\//, 5],
  [/^measures\//, 6],
  [/^liquidation\/(price|pin-entries)\.ts$/, 7],
  [/^runner\//, 8],
  [/^(liquidation|risk)\//, 9],
  [/^(io|api|cluster)\//, 10],
  [/^(cli|serve)\/|^(cli|index|browser)\.ts$/, 11],
];
const rank = (f: string): number => LAYERS.find(([re]) => re.test(f))?.[1] ?? 99;

describe('layout', () => {
  const g = graph();
  test('no import cycle', () => {
    expect(cycles(g)).toEqual([]);
  });
  test('no source file over 500 lines (src, assembly, bench, test)', () => {
    const root = findPackageRoot();
    const big = ['src', 'assembly', 'bench', 'test']
      .flatMap((d) => sources(join(root, d)))
      .map((f) => [relative(root, f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, n]) => n > 500);
    expect(big).toEqual([]);
  });
  test('layers: the core never imports a higher layer', () => {
    const up: string[] = [];
    for (const [f, deps] of g) {
      // io/ holds leaf helpers (decoders, result types, result bytes) the lower layers may use
      for (const d of deps) if (rank(d) > rank(f) && !/^io\/(decode|results|byte-rows|number-text)\.ts$/.test(d)) up.push(`${f} → ${d}`);
    }
    expect(up).toEqual([]);
  });
});
