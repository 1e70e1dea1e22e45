/**
 * One WASM boundary: the kernel exports the TypeScript side declares (KernelExports in
 * src/wasm/module.ts) are exactly the functions asc emits for both builds (build/*.d.ts, with
 * the same parameters and return types) and the module's real exports; no pointer arithmetic or
 * raw kernel call happens outside src/wasm/.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compiledModule } from '../src/wasm/module.js';
import { findPackageRoot } from '../src/platform/files.js';

const root = findPackageRoot();

/** name → "(p1: t, p2: t): ret" with whitespace normalised. */
function signatures(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const flat = text.replace(/\/\*\*[\s\S]*?\*\//g, '').replace(/\s+/g, ' ');
  for (const m of flat.matchAll(/(?:export function )?(\w+)\s*\(([^)]*)\)\s*:\s*(\w+)\s*;/g)) {
    const params = m[2].split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.replace(/\s*:\s*/, ': '));
    out.set(m[1], `(${params.join(', ')}): ${m[3]}`);
  }
  return out;
}

const declared = (() => {
  const src = readFileSync(join(root, 'src', 'wasm', 'module.ts'), 'utf8');
  const body = /export interface KernelExports \{([\s\S]*?)\n\}/.exec(src);
  if (!body) throw new Error('KernelExports not found in src/wasm/module.ts');
  return signatures(body[1]);
})();

describe.each(['simd', 'scalar'] as const)('the %s build', (variant) => {
  test('asc-emitted declarations = KernelExports, function by function', () => {
    const emitted = signatures(readFileSync(join(root, 'build', `optmargin.${variant}.d.ts`), 'utf8').replace(/export declare function instantiate[\s\S]*$/, ''));
    expect([...declared.keys()].sort()).toEqual([...emitted.keys()].sort());
    for (const [name, sig] of emitted) expect(`${name}${declared.get(name)}`).toBe(`${name}${sig}`);
  });
  test('the module exports exactly those functions and its memory', () => {
    const exports = WebAssembly.Module.exports(compiledModule(variant) as WebAssembly.Module).map((e) => e.name).sort();
    expect(exports).toEqual([...declared.keys(), 'memory'].sort());
  });
});

test('no pointer and no raw kernel call outside src/wasm/', () => {
  const offenders: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (r !== 'src/wasm') walk(join(dir, e.name), r);
      } else if (r.endsWith('.ts')) {
        const text = readFileSync(join(dir, e.name), 'utf8');
        if (/\.ptr\b|\.exports\.\w+\(|new Region\(/.test(text)) offenders.push(r);
      }
    }
  };
  walk(join(root, 'src'), 'src');
  expect(offenders).toEqual([]);
});
