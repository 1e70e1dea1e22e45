/**
 * The book before a path (Simulation.before): its margin in USD, its gross notional and the
 * capital efficiency the model gives it (Σ IM per unit of gross notional); and the underlyings
 * the book depends on — its positions' underlyings and its balances' coins — which a step ticks.
 * Read from the book's figures and its inputs (BookEngine.visitInput: an account loaded from
 * columns is not built), after the book's first margin.
 */
import type { BookEngine } from '../runner/book/runner.js';
import { MarginEngine } from '../runner/account/runner.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { LoadedModel } from '../measures/types.js';
import type { InputVisitor } from '../instruments/column-parts.js';
import { notionalUsd, positionFacts, type PositionFacts } from './execution.js';
import type { CurrencyLedger } from './ledger.js';
import { hashed } from './paths.js';

export interface BookSummaryBefore {
  accounts: number;
  accountsFailed: number;
  equity: number;
  initialMargin: number;
  maintenanceMargin: number;
  grossNotionalUsd: number;
  /** capital efficiency: Σ IM / Σ gross notional */
  imPerNotional: number;
  liquidatable: number;
}

/**
 * Gross notional of each account's positions (Σ |notional| in USD, position by position: two
 * positions in one instrument count both), and the underlyings they and the balances name. Each
 * instrument's facts are read once, at its first position in book order (an instrument that
 * cannot be liquidated is reported there, naming that position).
 */
class GrossNotional implements InputVisitor {
  gross = 0;
  /** the current account's Σ |notional| */
  account = 0;
  private index = 0;
  private readonly facts = new Map<string, PositionFacts>();

  constructor(
    private readonly engine: MarginEngine,
    private readonly market: MarginMarket,
    readonly underlyings: Set<string>,
  ) {}

  begin(): void {
    this.account = 0;
    this.index = 0;
  }

  position(instrument: string, size: number): void {
    let f = this.facts.get(instrument);
    if (!f) {
      f = positionFacts(this.engine.table, { instrument, size }, this.index);
      this.facts.set(instrument, f);
      this.underlyings.add(f.underlying);
    }
    this.index++;
    this.account += notionalUsd(f, size);
  }

  currency(c: string): void {
    if (this.market.hasUnderlying(c)) this.underlyings.add(c);
  }
}

/** The summary of a margined book (its figures at `market`, each currency at the ledger's index) and its underlyings, sorted. */
export function summarizeBook(book: BookEngine, ledger: CurrencyLedger, market: MarginMarket, model: LoadedModel, equityUsd: number): { before: BookSummaryBefore; underlyings: string[] } {
  const g = new GrossNotional(new MarginEngine({ market: hashed(market), model }), market, new Set<string>());
  const fig = new Float64Array(3);
  let im = 0;
  let mm = 0;
  let failed = 0;
  let liq = 0;
  for (let k = 0; k < book.n; k++) {
    const h = book.figuresInto(k, fig);
    if (h < 0) {
      failed++;
      continue;
    }
    const usd = ledger.price(ledger.of[k], market);
    im += fig[1] * usd;
    mm += fig[2] * usd;
    if (h >= 2) liq++;
    g.begin();
    book.visitInput(k, g);
    g.gross += g.account;
  }
  const gross = g.gross;
  const before = { accounts: book.n, accountsFailed: failed, equity: equityUsd, initialMargin: im, maintenanceMargin: mm, grossNotionalUsd: gross, imPerNotional: gross > 0 ? im / gross : 0, liquidatable: liq };
  return { before, underlyings: [...g.underlyings].sort() };
}
