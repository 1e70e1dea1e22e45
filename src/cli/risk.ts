/**
 * The risk commands: var, backtest, stress, var-margin. Their options are declared here; each
 * action loads its implementation on first use, so the CLI's start-up does not pay for modules
 * a command does not run.
 */
import type { Command } from 'commander';

/** The options every scenario-based risk command takes. */
function addScenarioOptions(c: Command): Command {
  return c
    .requiredOption('--history <files>', 'daily CSVs (date, close; DVOL or ATM-IV files for vols), comma-separated; U=FILE names the underlying')
    .option('--method <m>', 'hs | fhs | mc', 'hs')
    .option('--lookback <n>', 'returns in the window (hs, fhs)', '250')
    .option('--alpha <a>', 'confidence level, e.g. 0.99', '0.99')
    .option('--quantile <q>', 'lower | empirical | linear (docs/risk.md)', 'empirical')
    .option('--horizon <days>', 'horizon in days', '1')
    .option('--horizon-method <m>', 'sqrt (√h scaling) | overlapping (h-day returns, hs only)', 'sqrt')
    .option('--lambda <l>', 'EWMA decay (fhs, mc, vol fallback)', '0.94')
    .option('--scenarios <n>', 'Monte Carlo scenarios', '10000')
    .option('--seed <n>', 'Monte Carlo seed', '1')
    .option('--distribution <d>', 'Monte Carlo: normal | student-t', 'normal')
    .option('--dof <nu>', 'Student-t degrees of freedom', '5')
    .option('--json', 'print JSON');
}

function registerVarCommand(program: Command): void {
  addScenarioOptions(
    program
      .command('var')
      .description('Value at Risk and Expected Shortfall of an account (or a JSON array of accounts) from price history (docs/risk.md)')
      .argument('<account>', 'account file (JSON or msgpack), or - for standard input'),
  )
    .option('--as-of <date>', 'YYYY-MM-DD: window end and (without --market) the closes that price the account (default: the last date)')
    .option('--market <file>', 'market snapshot to revalue on (default: the history as of --as-of)')
    .option('--components', 'per-position Euler (component) and incremental VaR/ES')
    .option('--threads <n>', 'book: worker threads for the WASM tail kernel (default: min(2, cores))')
    .option('--timings', 'book: stage timings on stderr')
    .option('--nats <url>', 'book: run on the workers of this NATS JetStream broker (nats://HOST:PORT; docs/scale-out.md)')
    .option('--nats-book <path>', "with --nats: the book's path on the workers (default: its absolute path here; JSON lines)")
    .option('--nats-inline', 'with --nats: send the accounts in the shards instead of the workers reading the book file')
    .option('--shard-accounts <n>', 'with --nats: accounts per shard (default 5000, fewer with --scenario-blocks)')
    .option('--scenario-blocks <n>', 'with --nats: split the scenarios into N blocks too (a shard = accounts × a block; default 1)')
    .option('--nats-timeout <s>', 'with --nats: fail when no shard result arrives for this many seconds (default 120)')
    .action(async (file: string, opts: import('./var.js').VarCliOptions) => {
      const code = await (await import('./var.js')).runVarCommand(file, opts);
      if (code !== 0) process.exitCode = code;
    });
}

function registerBacktestCommand(program: Command): void {
  addScenarioOptions(
    program
      .command('backtest')
      .description('rolling VaR backtest of an account: exceptions, Kupiec, Christoffersen, conditional coverage, Basel zone (docs/risk.md)')
      .argument('<account>', 'account file (JSON or msgpack), or - for standard input; `atm` positions are re-struck daily'),
  )
    .requiredOption('--from <date>', 'first day whose P&L is tested (YYYY-MM-DD)')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD)')
    .option('--csv', 'print the day-by-day series as CSV (date,var,es,pnl,exception)')
    .option('--out <file>', 'also write the result (JSON, or CSV when FILE ends in .csv), atomically')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (file: string, opts: import('./backtest.js').BacktestCliOptions) => {
      const code = (await import('./backtest.js')).runBacktestCommand(file, opts);
      if (code !== 0) process.exitCode = code;
    });
}

function registerStressCommand(program: Command): void {
  program
    .command('stress')
    .description('re-margin accounts under stress scenarios: per-account and book P&L, accounts liquidatable or bankrupt after the shock')
    .argument('[book]', 'an account or a book: JSON, JSON lines, msgpack or columnar (file, or - for stdin)')
    .option('--scenario <names>', 'shipped episode (YYYY-MM-DD), `all`, or a scenario file; comma-separated')
    .option('--market <file>', 'base market snapshot (default: the shipped default market)')
    .option('--model <id|file>', 'margin model for every account (default: deribit-pm-2024.1, as `optmargin book`)')
    .option('--history <files>', 'var-es models: daily price histories, FILE[,FILE…] (docs/risk.md)')
    .option('--as-of <date>', 'var-es models: the history date of the scenario sets (default: the last close at or before the market time)')
    .option('--threads <n>', 'worker threads of the book engine (default: 2, or fewer cores)')
    .option('--list', 'list the shipped episodes with their moves and sources')
    .option('--json', 'print JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (file: string | undefined, opts: import('./stress.js').StressCliOptions) => {
      const code = await (await import('./stress.js')).runStressCommand(file, opts);
      if (code !== 0) process.exitCode = code;
    });
}

function registerVarMarginCommand(program: Command): void {
  program
    .command('var-margin')
    .description('risk-based (var-es) initial and maintenance margin of an account from history; with --from/--to the daily re-run beside a grid preset')
    .argument('<account>', 'account file, or - for standard input')
    .requiredOption('--history <files>', 'daily CSVs (date, close), comma-separated; U=FILE names the underlying')
    .option('--as-of <date>', 'YYYY-MM-DD (default: the last date)')
    .option('--model <id|file>', 'var-es-975 (default) | var-es-var99 | a parameter file')
    .option('--from <date>', 'dynamic: first date')
    .option('--to <date>', 'dynamic: last date')
    .option('--compare <preset>', 'dynamic: a grid preset margined on the same market each day (e.g. span-16)')
    .option('--json', 'print JSON')
    .option('--csv', 'dynamic: print the series as CSV')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (file: string, opts: import('./var-margin.js').VarMarginCliOptions) => {
      const code = (await import('./var-margin.js')).runVarMarginCommand(file, opts);
      if (code !== 0) process.exitCode = code;
    });
}

export function registerRiskCommands(program: Command): void {
  registerVarCommand(program);
  registerBacktestCommand(program);
  registerStressCommand(program);
  registerVarMarginCommand(program);
}
