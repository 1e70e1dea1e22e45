/**
 * A loopback cluster for the distributed-run tests: Debian's nats-server (JetStream, storage in a
 * temp dir, a random port on 127.0.0.1) and `optmargin worker` processes from dist/src/cli.js,
 * every process killed at the end. `hasNats` is false (and the tests skip with a message) where
 * nats-server is absent.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { findPackageRoot } from '../../src/wasm/module.js';
import { freePort, start as startProc, type Proc } from '../../bench/procs.js';

export const cli = join(findPackageRoot(), 'dist', 'src', 'cli.js');
export const hasNats = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;

export async function until(what: string, ok: () => boolean, ms = 15_000, detail: () => string = () => ''): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stopProc(p: Proc | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill(signal);
  await p.exit;
}

export class LoopbackCluster {
  readonly children = new Set<ChildProcess>();
  port = 0;
  url = '';
  broker: Proc | null = null;

  constructor(private readonly store: string) {}

  start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
    return startProc(cmd, args, env, this.children);
  }

  /** nats-server on 127.0.0.1 (the same port and storage on a restart). */
  async startBroker(): Promise<void> {
    if (!this.port) {
      this.port = await freePort();
      this.url = `nats://127.0.0.1:${this.port}`;
    }
    const b = this.start('nats-server', ['-js', '-sd', this.store, '-a', '127.0.0.1', '-p', String(this.port)]);
    this.broker = b;
    await until('nats-server', () => /Server is ready/.test(b.err()));
  }

  /** A worker (1 thread, ack wait 2 s, a line per shard), once it has joined. */
  async worker(env: Record<string, string> = {}): Promise<Proc> {
    const w = this.start(process.execPath, [cli, 'worker', '--nats', this.url, '--threads', '1', '--ack-wait', '2', '--verbose'], env);
    await until('a worker to join', () => /joined nats:/.test(w.err()));
    return w;
  }

  /** A CLI run with its stdout collected. */
  run(args: string[]): Proc & { out: () => string } {
    const p = this.start(process.execPath, [cli, ...args]);
    let out = '';
    p.proc.stdout!.removeAllListeners('data');
    p.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    return { ...p, out: () => out };
  }

  killAll(): void {
    for (const c of [...this.children]) c.kill('SIGKILL');
  }
}
