/**
 * The floor of a 2-thread `optmargin book` on this machine (bench/book-cli.ts): the book's two
 * halves (cut where the running count of positions reaches half) margined at once by two
 * independent 1-thread processes — no coordination, no shared memory, no merge: the most any
 * 2-thread design doing the same work per account could get from two cores. Its time against the
 * whole book on 1 thread bounds the 2-thread ratio that can be shown here.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BookWriter, type BookFormat } from '../src/io/book-file.js';
import type { AccountInput } from '../src/measures/types.js';

/** The halves of a JSON-lines book written in each format: format → [first half, second half]. */
export async function writeHalves(jsonl: string, dir: string): Promise<Record<'jsonl' | 'msgpack' | 'columns', [string, string]>> {
  const accounts = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as AccountInput);
  const total = accounts.reduce((n, a) => n + a.positions.length, 0);
  let cut = 0;
  for (let run = 0; cut < accounts.length && run < total / 2; cut++) run += accounts[cut].positions.length;
  const halves = [accounts.slice(0, cut), accounts.slice(cut)];
  const out = {} as Record<'jsonl' | 'msgpack' | 'columns', [string, string]>;
  for (const [fmt, ext] of [['jsonl', 'jsonl'], ['msgpack', 'msgpack'], ['columns', 'ombook']] as const) {
    const files = halves.map((_, i) => join(dir, `half${i}.${ext}`)) as [string, string];
    for (const [i, h] of halves.entries()) await writeBook(fmt, h, files[i]);
    out[fmt] = files;
  }
  return out;
}

async function writeBook(fmt: BookFormat, accounts: AccountInput[], file: string): Promise<void> {
  const fd = openSync(file, 'w');
  try {
    const w = new BookWriter(fmt, accounts.length, (c) => void writeSync(fd, c));
    for (const a of accounts) await w.add(a);
    await w.end();
  } finally {
    closeSync(fd);
  }
}

/** Both halves margined at once by two 1-thread processes: wall ms until both exit, and their CPU (every thread, from their --json reports). */
export async function runHalves(cli: string, halves: [string, string], outs: [string, string]): Promise<{ wallMs: number; cpuMs: number; ok: boolean }> {
  const one = (file: string, out: string): Promise<{ ok: boolean; cpuMs: number }> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [cli, 'book', file, '--threads', '1', '--out', out, '--json', '--timings', '--no-progress'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.on('close', (code) => {
        if (code !== 0) return resolve({ ok: false, cpuMs: 0 });
        const rep = JSON.parse(text) as { cpu: { userMs: number; systemMs: number } };
        resolve({ ok: true, cpuMs: rep.cpu.userMs + rep.cpu.systemMs });
      });
    });
  const t0 = performance.now();
  const [a, b] = await Promise.all([one(halves[0], outs[0]), one(halves[1], outs[1])]);
  return { wallMs: performance.now() - t0, cpuMs: a.cpuMs + b.cpuMs, ok: a.ok && b.ok };
}

/** Whether the halves' CSV results, the second's header dropped, are the whole book's bytes. */
export function halvesEqualWhole(outs: [string, string], whole: string): boolean {
  const a = readFileSync(outs[0]);
  const b = readFileSync(outs[1]);
  const body = b.subarray(b.indexOf(10) + 1);
  return Buffer.concat([a, body]).equals(readFileSync(whole));
}
