/**
 * The playground's engine, in a Web Worker: the package's own core (WASM kernels loaded from
 * their URL, presets and the default market as bundled data), so every figure the page shows is
 * the figure `optmargin margin` computes for the same account. A second instance of this worker
 * holds the book, so a book recompute never delays the account views.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { initKernels } from '../wasm/module.js';
import { resolveMarket } from '../market/resolved.js';
import { defaultMarket, marketHash } from '../market/snapshot.js';
import { marketFromBookSummary, marketFromDeribitCsv, looksLikeDeribitCsv } from '../market/deribit.js';
import { formatExpiryCode, parseInstrument } from '../market/instruments.js';
import type { MarketSnapshot, ResolvedMarket } from '../market/types.js';
import { listModels } from '../measures/models.js';
import type { AccountInput, PositionChange } from '../measures/types.js';
import { createMarginEngine, type MarginEngine } from '../runner/account/runner.js';
import { BookEngine } from '../runner/book/runner.js';
import { generateBook } from '../io/gen-book.js';
import { summarize, type BookAccountResult } from '../io/results.js';
import { movedMarket } from '../market/margin-market.js';
import { pinEntries } from '../liquidation/pin-entries.js';
import { planLiquidation } from '../liquidation/plan.js';
import { loadMechanism } from '../liquidation/mechanism.js';
import { MECHANISM_DATA } from '../liquidation/mechanism-presets.js';
import { loadHistory } from '../risk/history.js';
import { backtest } from '../risk/backtest.js';
import { runCascade } from './cascade.js';
import type { Answers, BookView, Catalog, PriceProfile, Request, Response } from './protocol.js';

interface State {
  snapshot: MarketSnapshot;
  market: ResolvedMarket;
  hash: string;
  engines: Map<string, MarginEngine>;
  book: BookEngine | null;
  /** the book's accounts as loaded (the cascade replay starts from them) */
  bookAccounts: readonly unknown[];
  bookSpot: Record<string, number>;
}

let state: State | null = null;

function setMarket(snapshot: MarketSnapshot): State {
  state = { snapshot, market: resolveMarket(snapshot), hash: marketHash(snapshot), engines: new Map(), book: null, bookAccounts: [], bookSpot: {} };
  return state;
}

function st(): State {
  if (!state) throw new OptmarginError(ErrorCodes.INVALID_OPTION, 'the engine is not initialised');
  return state;
}

function engineFor(model: string): MarginEngine {
  const s = st();
  let e = s.engines.get(model);
  if (!e) s.engines.set(model, (e = createMarginEngine({ market: s.market, model })));
  return e;
}

function catalog(): Catalog {
  const s = st();
  const snap = s.snapshot;
  const names = new Set((snap.instruments ?? []).map((q) => q.name));
  return {
    source: snap.source ?? 'market',
    valuationTime: snap.valuationTime,
    marketHash: s.hash,
    models: listModels().map((m) => ({ id: m.id, mechanism: m.mechanism, description: m.description })),
    mechanisms: Object.keys(MECHANISM_DATA),
    underlyings: snap.underlyings.map((u) => {
      const futures = [`${u.underlying}-PERPETUAL`];
      const options = [];
      for (const e of u.expiries) {
        if (s.market.timeToExpiry(e.expiry) <= 0) continue;
        const code = formatExpiryCode(e.expiry);
        if (e.futureName && !e.futureName.startsWith('SYN.')) futures.push(e.futureName);
        if (!e.smile) continue;
        const strikes = e.listedStrikes ?? [];
        const list: string[] = [];
        for (const k of strikes) for (const cp of ['C', 'P']) list.push(`${u.underlying}-${code}-${k}-${cp}`);
        // a dropped chain lists its own names (including USDC-settled ones)
        options.push({ expiry: code, forward: e.forward, names: names.size ? list.filter((n) => names.has(n)).concat([...names].filter((n) => n.includes(`-${code}-`) && n.startsWith(`${u.underlying}_`))) : list });
      }
      return { underlying: u.underlying, index: u.index, options, futures };
    }),
  };
}

function loadMarketFile(file: { name: string; text: string }): MarketSnapshot {
  const t = file.text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    let doc: unknown;
    try {
      doc = JSON.parse(t);
    } catch (e) {
      throw new OptmarginError(ErrorCodes.INVALID_FILE, `${file.name} is not valid JSON: ${(e as Error).message}`);
    }
    return marketFromBookSummary(doc, { source: file.name });
  }
  if (!looksLikeDeribitCsv(t)) throw new OptmarginError(ErrorCodes.INVALID_FILE, `${file.name} is neither a Deribit chain CSV nor a get_book_summary_by_currency JSON`);
  return marketFromDeribitCsv(t, { source: file.name });
}

/** Equity, IM and MM at prices from −60 % to +60 % of the index, futures held at their entry. */
function profile(account: AccountInput, model: string, underlying: string): PriceProfile {
  const engine = engineFor(model);
  const s = st();
  const spot = s.market.spot(underlying);
  const ctx = { market: s.market, marketHash: s.hash, table: engine.table, remargin: (m: never, a: AccountInput) => createMarginEngine({ market: m, model: engine.model }).margin(a) };
  const pinned = pinEntries(ctx as never, account);
  const out: PriceProfile = { underlying, spot, prices: [], equity: [], initialMargin: [], maintenanceMargin: [], liquidation: engine.liquidationPrice(account, underlying) };
  for (let k = -30; k <= 30; k++) {
    const move = k / 50;
    const r = createMarginEngine({ market: movedMarket(s.market, underlying, move, s.hash), model: engine.model }).margin(pinned);
    out.prices.push(spot * (1 + move));
    out.equity.push(r.ok ? r.equity : null);
    out.initialMargin.push(r.ok ? r.initialMargin : null);
    out.maintenanceMargin.push(r.ok ? r.maintenanceMargin : null);
  }
  return out;
}

const RATIO_EDGES = [0, 0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, Infinity];

function bookView(results: BookAccountResult[], ms: number, extra: Partial<BookView> = {}): BookView {
  const hist = new Array(RATIO_EDGES.length - 1).fill(0);
  for (const r of results) {
    if (!r.ok) continue;
    const x = r.marginRatio === null ? Infinity : r.marginRatio;
    let b = 0;
    while (b < hist.length - 1 && x >= RATIO_EDGES[b + 1]) b++;
    hist[b]++;
  }
  const b = st().book!;
  return { accounts: b.n, positions: 0, summary: summarize(results, 12), ratioHistogram: hist, ratioEdges: RATIO_EDGES, ms, ...extra };
}

async function loadBook(accounts: unknown[], model: string): Promise<BookView> {
  const s = st();
  await s.book?.close();
  s.book = BookEngine.create({ market: s.market, model, threads: 1 });
  const t0 = performance.now();
  s.book.load(accounts);
  await s.book.recompute();
  s.bookSpot = {};
  s.bookAccounts = accounts;
  const v = bookView(s.book.results(), performance.now() - t0);
  v.positions = accounts.reduce<number>((n, a) => n + ((a as AccountInput).positions?.length ?? 0), 0);
  return v;
}

async function handle(req: Request): Promise<Answers[keyof Answers]> {
  switch (req.type) {
    case 'init':
      // one build only (the SIMD one when this browser validates it): half the bytes before the first figure
      try {
        await initKernels({ simd: new URL(req.wasm.simd, self.location.href) });
      } catch (e) {
        if (!(e instanceof OptmarginError)) throw e;
        await initKernels({ scalar: new URL(req.wasm.scalar, self.location.href) });
      }
      setMarket(defaultMarket());
      return catalog();
    case 'market':
      setMarket(req.file ? loadMarketFile(req.file) : defaultMarket());
      return catalog();
    case 'instrument': {
      const i = parseInstrument(req.name);
      if (!st().market.hasUnderlying(i.underlying)) throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no ${i.underlying}`);
      return { name: req.name, kind: i.kind };
    }
    case 'marginAll':
      return (req.models ?? listModels().map((m) => m.id)).map((model) => {
        const t0 = performance.now();
        const result = engineFor(model).margin(req.account);
        return { model, result, ms: performance.now() - t0 };
      });
    case 'profile':
      return profile(req.account, req.model, req.underlying);
    case 'whatif':
      return engineFor(req.model).whatIf(req.account, req.changes as PositionChange[]);
    case 'bookGenerate':
      return loadBook(generateBook({ accounts: req.accounts, seed: req.seed, market: st().market }).accounts, req.model);
    case 'bookLoad': {
      let doc: unknown;
      try {
        doc = JSON.parse(req.text);
      } catch (e) {
        throw new OptmarginError(ErrorCodes.INVALID_FILE, `the book is not valid JSON: ${(e as Error).message}`);
      }
      const accounts = Array.isArray(doc) ? doc : (doc as { accounts?: unknown })?.accounts;
      if (!Array.isArray(accounts)) throw new OptmarginError(ErrorCodes.INVALID_FILE, 'a book is an array of accounts, or { accounts: [...] }');
      return loadBook(accounts, req.model);
    }
    case 'liquidation': {
      // the account on a moved market (futures held at today's entry, as the liquidation price search does), then its plan
      const s = st();
      const base = engineFor(req.model);
      const mech = MECHANISM_DATA[req.mechanism];
      if (!mech) throw new OptmarginError(ErrorCodes.INVALID_MECHANISM, `unknown liquidation mechanism ${JSON.stringify(req.mechanism)}`);
      const pinned = pinEntries({ market: s.market, marketHash: s.hash, table: base.table } as never, req.account);
      const engine = req.move === 0 ? base : createMarginEngine({ market: movedMarket(s.market, req.underlying, req.move, s.hash), model: base.model });
      return planLiquidation(engine, pinned, { mechanism: loadMechanism(mech) });
    }
    case 'backtest': {
      // the CLI's defaults (src/cli/risk-args.ts) but for the options the page offers
      const h = loadHistory(req.files.map((f) => ({ file: f.name, text: f.text })));
      const last = h.dates.length - 1;
      const first = Math.max(req.lookback + 1, last - req.days + 1);
      if (first > last) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the history has ${h.dates.length} dates: too few for a lookback of ${req.lookback}`, 'lookback');
      return backtest(h, req.account, {
        from: h.dates[first],
        to: h.dates[last],
        alpha: req.alpha,
        quantile: 'empirical',
        scenario: { method: req.method, lookback: req.lookback, horizon: 1, horizonMethod: 'sqrt', lambda: 0.94 },
      });
    }
    case 'cascade': {
      const s = st();
      if (!s.book) throw new OptmarginError(ErrorCodes.INVALID_OPTION, 'generate or load a book first');
      return runCascade(s.bookAccounts, s.market, req);
    }
    case 'bookTick': {
      const s = st();
      const book = s.book;
      if (!book) throw new OptmarginError(ErrorCodes.INVALID_OPTION, 'generate or load a book first');
      s.bookSpot[req.underlying] = req.move;
      const t0 = performance.now();
      const u = await book.tick(req.underlying, s.market.shocked({ priceMove: { ...s.bookSpot } }));
      return bookView(book.results(), performance.now() - t0, { underlying: req.underlying, move: req.move, changed: u.indices.length });
    }
  }
}

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: Response): void };
scope.onmessage = (e: MessageEvent) => {
  const { id, req } = e.data as { id: number; req: Request };
  handle(req).then(
    (result) => scope.postMessage({ id, ok: true, result }),
    (err: unknown) => {
      const o = err instanceof OptmarginError ? { code: err.code, message: err.message, ...(err.path ? { path: err.path } : {}) } : { code: ErrorCodes.INTERNAL, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
      scope.postMessage({ id, ok: false, error: o });
    },
  );
};
