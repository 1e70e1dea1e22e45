/**
 * Registration of `optmargin simulate` (the cascade simulator; docs/liquidation.md). The work is in
 * simulate-run.ts, imported when the command runs.
 */
import type { Command } from 'commander';
import type { SimulateCommandOptions } from './simulate-run.js';

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('cascade simulation: a book moved along a path, liquidated at every step, insurance fund then socialised loss / ADL; models and mechanisms side by side')
    .argument('<book>', 'book file, read as optmargin book reads it (JSON lines, JSON array, msgpack, columnar .ombook; - for stdin), or gen:N[:SEED] for a generated book')
    .requiredOption('--path <spec>', 'shocks:FILE | history:FILE[,FILE…][@FROM..TO] | snapshots:FILE[,FILE…]|DIR')
    .option('--model <ids>', 'margin model preset(s), comma-separated: run side by side (default deribit-pm-2024.1)')
    .option('--liquidation <ids>', 'liquidation mechanism(s): presets/liquidation ids or files, comma-separated: each model runs under each, side by side (default deribit-incremental)')
    .option('--market <file>', 'base market for shocks and history paths (default: the shipped default market)')
    .option('--threads <n>', 'worker threads of the book engine (default 1)')
    .option('--insurance-fund <usd>', 'starting insurance fund (default: the mechanism\'s)')
    .option('--max-rounds <n>', 'cascade rounds per step (default 5)')
    .option('--impact-tolerance <x>', 'a round whose impact moves no price by more than x (relative) ends the cascade; the move reaches the book at the next step (default 0.001)')
    .option('--pool-plans', "share each cascade round's plans with the worker threads (--threads 2 or more; fixed-price mechanisms without hedging): the same steps; faster on long paths of deep crashes, slower on a few shallow steps (docs/liquidation.md, Plans on the pool)")
    .option('--out <file>', 'write every step: JSON, or CSV when the name ends in .csv')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress on stderr')
    .option('--timings', "also write each step's wall-clock figures (ms, stages) into --out, and the command's stages (read, parse, load, recompute, summary, steps, write) into the --json summary and on stderr (default: left out, so that the same inputs give the same bytes; the stages line on stderr when it is a terminal)")
    .action(async (book: string, opts: SimulateCommandOptions) => {
      // the simulator and its dependencies load only when the command runs (CLI start-up stays light)
      const { runSimulateCommand } = await import('./simulate-run.js');
      await runSimulateCommand(book, opts);
    });
}
