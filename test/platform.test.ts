/**
 * The platform seam of the core: portable SHA-256 (against node:crypto and the FIPS 180-4
 * examples), the one canonical JSON, presets as importable data that agree with the presets
 * folder, typed preset validation that rejects unknown keys, and no `node:*` import in the
 * core's sources outside the Node adapters.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { canonicalJson, sha256Hex } from '../src/platform/hash.js';
import { PRESET_DATA } from '../src/measures/presets.js';
import { loadModel, validateModel } from '../src/measures/models.js';
import { findPackageRoot } from '../src/platform/files.js';
import { rng } from './helpers.js';

const utf8 = new TextEncoder();
const root = findPackageRoot();

describe('portable SHA-256', () => {
  test('FIPS 180-4 examples', () => {
    expect(sha256Hex(utf8.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(utf8.encode(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(utf8.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  test('equals node:crypto on 300 random byte strings of every length around the block boundaries', () => {
    const r = rng(11);
    for (let k = 0; k < 300; k++) {
      const n = k < 140 ? k : Math.floor(r() * 5000);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
      expect(sha256Hex(b)).toBe(createHash('sha256').update(b).digest('hex'));
    }
  });
});

describe('canonical JSON', () => {
  test('keys sorted at every level, undefined keys left out, arrays keep order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });
  test('a non-finite number is an error naming its path, never hashed as null', () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(/\(root\)\.a\[1\] must be a finite number to be hashed, got NaN/);
  });
});

describe('presets', () => {
  test('the importable index lists exactly the files of presets/', () => {
    const files = readdirSync(join(root, 'presets')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
    expect(Object.keys(PRESET_DATA).sort()).toEqual(files);
    for (const id of files) expect(PRESET_DATA[id]).toEqual(JSON.parse(readFileSync(join(root, 'presets', `${id}.json`), 'utf8')));
  });
  test('unknown keys are rejected at every level, naming the field', () => {
    const pm = JSON.parse(readFileSync(join(root, 'presets', 'deribit-pm-2024.1.json'), 'utf8'));
    expect(() => validateModel({ ...pm, mmFractoin: 0.8 }, 'x.json')).toThrow(/x\.json: \(root\)\.mmFractoin is not a known field/);
    expect(() => validateModel({ ...pm, addOns: { ...pm.addOns, futures: { ...pm.addOns.futures, basis: 'gross', extra: 1 } } })).toThrow(/addOns\.futures\.extra is not a known field/);
    expect(() => validateModel({ ...pm, scenarios: [{ ...pm.scenarios[0], wieght: 1 }] })).toThrow(/scenarios\[0\]\.wieght is not a known field/);
    expect(() => validateModel({ ...pm, crossUnderlying: { rule: 'sum', credit: 0.5 } })).toThrow(/crossUnderlying\.credit is only allowed with rule "credit"/);
  });
  test('the typed model holds the validated fields only, and its hash is the hash of the file content', () => {
    for (const id of Object.keys(PRESET_DATA)) {
      const m = loadModel(id);
      expect(m.params).toEqual(PRESET_DATA[id]);
      expect(m.hash).toBe(createHash('sha256').update(canonicalJson(PRESET_DATA[id])).digest('hex').slice(0, 16));
    }
  });
});

describe('platform seam', () => {
  test('node:* is imported only by the Node adapters (CLI, server, worker pools, files, book files, atomic writes, streaming ingestion, cluster)', () => {
    const allowed = /^(cli\.ts|cli\/|serve\/|runner\/book\/pool\.ts|io\/book-file\.ts|io\/atomic\.ts|io\/ingest\.ts|io\/block-source\.ts|market\/fit-default\.ts|platform\/files\.ts|platform\/workers\.ts|risk\/pool\.ts|cluster\/)/;
    const offenders: string[] = [];
    const walk = (dir: string, rel: string): void => {
      for (const e of readdirSync(join(dir), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(join(dir, e.name), r);
        else if (r.endsWith('.ts') && /from ['"]node:/.test(readFileSync(join(dir, e.name), 'utf8')) && !allowed.test(r)) offenders.push(r);
      }
    };
    walk(join(root, 'src'), '');
    expect(offenders).toEqual([]);
  });
});
