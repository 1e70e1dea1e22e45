/**
 * Child processes and loopback ports for the benches and tests that run real servers (nats-server,
 * `optmargin worker`, the coordinator): a process with its stderr collected and its exit awaited,
 * and a free port on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Proc {
  proc: ChildProcess;
  err: () => string;
  exit: Promise<number | null>;
}

/** Starts `cmd` (stdout drained, stderr kept); `live`, when given, holds it until it exits. */
export function start(cmd: string, args: string[], env: Record<string, string> = {}, live?: Set<ChildProcess>): Proc {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live?.add(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => (live?.delete(proc), resolve(code))));
  return { proc, err: () => err, exit };
}

/** A port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
