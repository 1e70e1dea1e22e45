#!/usr/bin/env node
/**
 * optmargin command line. Data goes to stdout; progress and logs to stderr.
 * Exit codes: 0 success; 1 unexpected failure; 2 invalid input or usage
 * (nothing is written to stdout then). See README "CLI".
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, reportError } from './cli/io.js';
import { registerPricingCommands } from './cli/price.js';
import { registerMarketCommand } from './cli/market.js';
import { registerBookCommands } from './cli/book.js';
import { registerMarginCommands } from './cli/margin.js';
import { registerDemoCommand } from './cli/demo.js';
import { registerRiskCommands } from './cli/risk.js';
import { registerServeCommands } from './cli/serve.js';
import { registerLiquidateCommands } from './cli/liquidate.js';
import { findPackageRoot } from './wasm/module.js';

function version(): string {
  try {
    return JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('optmargin')
    .description('Margin engine for crypto options, futures and perpetuals')
    .version(version())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerPricingCommands(program);
  registerMarketCommand(program);
  registerBookCommands(program);
  registerMarginCommands(program);
  registerDemoCommand(program);
  registerRiskCommands(program);
  registerServeCommands(program, version);
  registerLiquidateCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0
      return e.exitCode === 0 ? ExitCode.OK : ExitCode.INVALID_INPUT;
    }
    return reportError(e);
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
