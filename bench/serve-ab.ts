/**
 * Interleaved A/B of `optmargin serve` configurations under the bench's margin load (the serve
 * section's client: POST /v1/margin for the 20-option account at 5,000 requests/s, open loop,
 * 16 connections, a 2 s warm-up then the measured run), for choices the bench itself does not
 * print. Each variant is a fresh server; the variants run in turn, round after round, so that
 * the machine's drifting load falls on all alike. Run it under the shared lock:
 *
 *   node dist/bench/serve-ab.js [--rounds 3] [--seconds 6] 'NAME=NODE FLAGS|SERVE OPTIONS' ...
 *   node dist/bench/serve-ab.js 'default=|' 'single-threaded-gc=--single-threaded-gc|' 'pool-1=--v8-pool-size=1|'
 *
 * Per round and variant: the load average, p50 / p99 / p99.9 / max, the server's GC pauses and
 * its CPU per request.
 */
import { readFileSync } from 'node:fs';
import { cpuText, pausesText, rateRun, startServe, stop, twentyOptionAccount } from './serve.js';

function parse(argv: string[]): { rounds: number; seconds: number; variants: { name: string; node: string[]; serve: string[] }[] } {
  let rounds = 3;
  let seconds = 6;
  const variants: { name: string; node: string[]; serve: string[] }[] = [];
  const words = (s: string) => s.split(' ').filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') rounds = Number(argv[++i]);
    else if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else {
      const m = /^([^=]+)=([^|]*)\|(.*)$/.exec(argv[i]);
      if (!m) throw new Error(`a variant is NAME=NODE FLAGS|SERVE OPTIONS, got ${JSON.stringify(argv[i])}`);
      variants.push({ name: m[1], node: words(m[2]), serve: words(m[3]) });
    }
  }
  if (!(rounds >= 1 && seconds >= 1 && variants.length > 0)) throw new Error('usage: serve-ab.js [--rounds N] [--seconds S] NAME=NODE FLAGS|SERVE OPTIONS ...');
  return { rounds, seconds, variants };
}

const { rounds, seconds, variants } = parse(process.argv.slice(2));
const body = JSON.stringify(twentyOptionAccount());
for (let round = 1; round <= rounds; round++) {
  for (const v of variants) {
    const { proc, url } = await startServe(v.serve, v.node);
    try {
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      const { r, gc, serverUs } = await rateRun(proc, url, body, 2000, seconds * 1000);
      const l = r.latency;
      process.stdout.write(
        `round ${round} ${v.name}: load ${load}; p50 ${l.p50.toFixed(3)} / p99 ${l.p99.toFixed(3)} / p99.9 ${l.p999.toFixed(3)} / max ${l.max.toFixed(1)} ms (${r.errors} non-2xx); ${pausesText(gc)}; CPU ${cpuText(serverUs)}\n`,
      );
    } finally {
      await stop(proc);
    }
  }
}
