#!/usr/bin/env node
/**
 * optmargin command line. Data goes to stdout; progress and logs to stderr.
 * Exit codes (README "Exit codes"): 0 success; 1 internal failure; 2 invalid input or usage
 * (nothing is written to stdout then); 3 partial failure (some accounts failed in workers or
 * gave non-finite figures); 4 an output could not be written (EPIPE on stdout: quiet);
 * 130 / 143 interrupted. Errors are one line on stderr; the stack trace only with --debug.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, guardStdout, reportError, setDebug } from './cli/io.js';
import { ErrorCodes, OptmarginError } from './errors.js';
import { registerPricingCommands } from './cli/price.js';
import { registerMarketCommand } from './cli/market.js';
import { registerBookCommands } from './cli/book.js';
import { registerMarginCommands } from './cli/margin.js';
import { registerDemoCommand } from './cli/demo.js';
import { registerRiskCommands } from './cli/risk.js';
import { registerServeCommands } from './cli/serve.js';
import { registerLiquidateCommands } from './cli/liquidate.js';
import { registerSimulateCommand } from './cli/simulate.js';
import { registerClusterCommands } from './cli/cluster.js';
import { findPackageRoot } from './wasm/module.js';

function version(): string {
  try {
    return JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')).version;
  } catch (e) {
    void e; // a package.json that cannot be read is not worth failing the CLI
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('optmargin')
    .description('Margin engine for crypto options, futures and perpetuals')
    .version(version())
    .option('--debug', 'print the stack trace of an error')
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
  registerSimulateCommand(program);
  registerClusterCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  guardStdout();
  setDebug(argv.includes('--debug'));
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

let finished = false;
main(process.argv).then((code) => {
  finished = true;
  process.exitCode = code;
});
// the event loop emptied while the command was still waiting (a stalled pool): never a silent exit 0
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.exitCode = reportError(new OptmarginError(ErrorCodes.INTERNAL, 'the work stalled: nothing was left running but the command had not finished'));
});
