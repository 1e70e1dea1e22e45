/**
 * Child processes and loopback ports for the benches and tests that run real servers (nats-server,
 * `optmargin worker`, the coordinator, `optmargin serve`): a process with its stderr collected and its
 * exit awaited, a free port on 127.0.0.1, and the CPU time a process has used.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

let clockTicks: number | null | undefined;

/**
 * CPU time (user + system, all threads) process `pid` has used so far, in ms, from
 * /proc/<pid>/stat (Linux); null where there is no /proc.
 */
export function cpuMsOf(pid: number): number | null {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = r.status === 0 && Number(r.stdout) > 0 ? Number(r.stdout) : null;
  }
  if (clockTicks === null || !existsSync(`/proc/${pid}/stat`)) return null;
  // fields after the ")" that closes the command name: state is field 3, utime 14, stime 15
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
}
