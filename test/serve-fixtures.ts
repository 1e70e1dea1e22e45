/** Shared by the server tests: a BTC sub-account of three positions, an untyped JSON reader, a server per test file. */
import { afterAll, beforeAll } from 'vitest';
import { defaultMarket } from '../src/market/snapshot.js';
import { startServer, type Server } from '../src/serve/server.js';

export const ACCOUNT = {
  id: 'desk-1',
  mode: 'portfolio',
  collateral: { BTC: 10 },
  positions: [
    { instrument: 'BTC-25SEP26-60000-P', size: -5 },
    { instrument: 'BTC-25SEP26-80000-C', size: 2 },
    { instrument: 'BTC-PERPETUAL', size: 50000 },
  ],
};

/** A response's JSON body, untyped (the tests assert its fields). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const jsonOf = (r: Response): Promise<any> => r.json();

/** A server on loopback for a test file: started before its tests, closed after them (`.server`). */
export function serverForFile(): { readonly server: Server } {
  const held = { server: null as unknown as Server };
  beforeAll(async () => {
    held.server = await startServer({ market: defaultMarket(), port: 0, version: 'test' });
  });
  afterAll(async () => {
    await held.server?.close();
  });
  return held;
}
