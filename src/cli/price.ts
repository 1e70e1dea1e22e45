/** `optmargin price` and `optmargin iv`: the stable pricing contract other tools call. */
import type { Command } from 'commander';
import { priceOptions } from '../pricing/index.js';
import { impliedVolBatchFromInputs } from './iv.js';
import { readDocument, writeJson } from './io.js';

export function registerPricingCommands(program: Command): void {
  program
    .command('price')
    .description(
      'price options with Black-76: reads a JSON (or msgpack) array of { type, forward, strike, vol, t, rate?, settlement? } ' +
        'and writes [{ price, delta, gamma, vega, theta, rho, vanna, volga }] in raw units (USD for linear, coin for inverse)',
    )
    .argument('[file]', 'input file, or - for standard input')
    .option('--scalar', 'use the scalar WASM build instead of SIMD')
    .action((file: string | undefined, opts: { scalar?: boolean }) => {
      const input = readDocument(file);
      const out = priceOptions(input, { simd: opts.scalar ? false : undefined });
      writeJson(out);
    });

  program
    .command('iv')
    .description(
      'implied volatility: reads [{ type, forward, strike, t, rate?, price, settlement? }] and writes [{ vol }] ' +
        '(or { vol: null, error } for a price outside the no-arbitrage bounds)',
    )
    .argument('[file]', 'input file, or - for standard input')
    .action((file: string | undefined) => {
      const input = readDocument(file);
      writeJson(impliedVolBatchFromInputs(input));
    });
}
