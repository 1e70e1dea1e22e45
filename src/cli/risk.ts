/** The risk commands: var, backtest, stress (registered together in src/cli.ts). */
import type { Command } from 'commander';
import { registerVarCommand } from './var.js';
import { registerBacktestCommand } from './backtest.js';
import { registerStressCommand } from './stress.js';

export function registerRiskCommands(program: Command): void {
  registerVarCommand(program);
  registerBacktestCommand(program);
  registerStressCommand(program);
}
