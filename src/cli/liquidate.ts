/**
 * Registration of `optmargin liquidate` and `optmargin mechanisms` (docs/liquidation.md). The work
 * is in liquidate-run.ts, imported when a command runs (CLI start-up stays light).
 */
import type { Command } from 'commander';
import type { LiquidateCommandOptions } from './liquidate-run.js';

export function registerLiquidateCommands(program: Command): void {
  program
    .command('liquidate')
    .description('liquidation plan of one account: the positions to close, in order, with price, fee and the margin after each step')
    .argument('<account>', 'account file (JSON or msgpack), or - for standard input')
    .option('--market <file>', 'market snapshot or Deribit CSV (default: the shipped default market)')
    .option('--model <id|file>', 'margin model preset id or parameter file')
    .option('--mechanism <id|file>', 'liquidation mechanism: a preset of presets/liquidation (`optmargin mechanisms`) or a parameter file', 'deribit-incremental')
    .option('--strategy <s>', 'venue-order | greedy | largest-release | proportional (default: the mechanism\'s)')
    .option('--target <t>', 'mm-buffer | im | lyra-buffer (default: the mechanism\'s)')
    .option('--buffer <x>', 'buffer of the mm-buffer / lyra-buffer target (0.1 = MM x 1.1)')
    .option('--step <f>', 'step size as a fraction of each position (0 < f <= 1)')
    .option('--time <s>', 'Dutch auction: seconds after the start at which bids are placed (default 0)')
    .option('--json', 'print the plan as JSON: { steps, after: { account, margin }, ... }')
    .action(async (file: string, opts: LiquidateCommandOptions) => {
      const { runLiquidateCommand } = await import('./liquidate-run.js');
      const code = runLiquidateCommand(file, opts);
      if (code !== 0) process.exitCode = code;
    });
  program
    .command('mechanisms')
    .description('list the liquidation mechanisms (presets/liquidation), or print one')
    .argument('[id]', 'mechanism id or file')
    .option('--json', 'print as JSON')
    .action(async (id: string | undefined, opts: { json?: boolean }) => {
      const { runMechanismsCommand } = await import('./liquidate-run.js');
      runMechanismsCommand(id, opts);
    });
}
