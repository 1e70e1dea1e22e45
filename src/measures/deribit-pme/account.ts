/**
 * One account under a Deribit PME model (src/margin/deribit-pme.ts holds the arithmetic).
 *
 * Segregated (S:PM, `deribit-pm`): the account holds ONE settlement currency C (set by
 * `account.currency`, or inferred from the positions' settlement currency and the balances).
 * C is the numeraire: its balance is not a risk position (it is worth 1 C in every scenario),
 * every scenario P&L is in C, and equity, IM, MM and available funds are in C, with USD
 * equivalents at the index beside them. Positions settled in another currency, balances of
 * another currency and spot pairs are rejected naming the field.
 *
 * Cross (X:PM, `deribit-xpm`): every settlement currency's requirement is computed in that
 * currency as above, then converted to USD at its index and summed; collateral is valued in USD
 * after haircuts; a coin balance whose equity_side_impact is both/up/down is shocked with its
 * own price (it enters its coin's vector as b·m/(1+m): its USD P&L expressed in coin).
 */
import { ErrorCodes, OptmarginError, invalidInput } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { AccountResolver, Resolved } from '../../instruments/resolve.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { MarginMarket } from '../../market/margin-market.js';
import { greeksOf } from '../greeks.js';
import { marginFigures } from '../health.js';
import type { MarginOutcome } from '../outcome.js';
import type { AccountInput, CurrencyFigures, DeribitPmeModel, MarginFigures, PmeCurrencyBreakdown, PmePairBreakdown, PositionBreakdown } from '../types.js';
import { pmeCurrency, pmeDeltaShock, pmePair, pmeReduce, pmeRollShock, PmeRiskVectors, type PmeLayout, type PmeWorst } from './arithmetic.js';

/** What the measure reads: the runner's instrument table, market and resolver. */
export interface PmeContext {
  table: InstrumentTable;
  market: MarginMarket;
  resolver: AccountResolver;
}

const vectors = new WeakMap<InstrumentTable, PmeRiskVectors>();

/** The PME risk vectors of an instrument table (a table belongs to one runner: one market × one model). */
export function pmeVectorsOf(table: InstrumentTable, model: DeribitPmeModel): PmeRiskVectors {
  let v = vectors.get(table);
  if (!v || v.model !== model) {
    v = new PmeRiskVectors(table, model);
    vectors.set(table, v);
  }
  return v;
}

export interface PairAcc {
  underlying: string;
  /** Σ size × unit P&L of the pair's positions (raw: reductions work on a copy) */
  vec: Float64Array;
  delta: number;
}

export interface CurrencyAcc {
  currency: string;
  pairs: Map<string, PairAcc>;
  roll: number;
}

export function priceOf(engine: PmeContext, model: DeribitPmeModel, currency: string): number {
  return model.collateral.usdPegged.includes(currency) ? 1 : engine.market.spot(currency);
}

/** The settlement currency of a segregated account (see the module comment). */
function accountCurrency(engine: PmeContext, a: AccountInput, model: DeribitPmeModel): string {
  const tb = engine.table;
  let cur = a.currency;
  let origin = 'currency';
  const mismatch = (c: string, path: string, value: unknown): OptmarginError =>
    invalidInput(
      path,
      `settles in ${c} but the segregated account is in ${cur} (from ${origin}); a ${model.id} sub-account holds one settlement currency — split it, or use deribit-xpm for cross-collateral`,
      value,
    );
  for (let k = 0; k < a.positions.length; k++) {
    const p = a.positions[k];
    const i = engine.resolver.instrumentIndex(`positions[${k}].instrument`, p.instrument);
    if (tb.kind[i] === Kind.Spot) {
      throw invalidInput(
        `positions[${k}].instrument`,
        `is a spot pair, which a segregated ${model.id} sub-account cannot hold (hold the coin as the balance of its own sub-account, or use deribit-xpm)`,
        p.instrument,
      );
    }
    const c = tb.instruments[i]!.settlementCurrency;
    if (cur === undefined) {
      cur = c;
      origin = `positions[${k}].instrument`;
    } else if (c !== cur) throw mismatch(c, `positions[${k}].instrument`, p.instrument);
  }
  for (const c of Object.keys(a.collateral)) {
    if (a.collateral[c] === 0) continue;
    if (cur === undefined) {
      cur = c;
      origin = `collateral.${c}`;
    } else if (c !== cur) throw mismatch(c, `collateral.${c}`, a.collateral[c]);
  }
  // nothing held and no currency given: an empty account, reported in USD (all zero)
  return cur ?? 'USD';
}

function pairAcc(model: DeribitPmeModel, accs: Map<string, CurrencyAcc>, settle: string, u: string, n: number): PairAcc {
  let c = accs.get(settle);
  if (!c) {
    pmeCurrency(model, settle);
    c = { currency: settle, pairs: new Map(), roll: 0 };
    accs.set(settle, c);
  }
  let p = c.pairs.get(u);
  if (!p) {
    pmePair(model, u);
    p = { underlying: u, vec: new Float64Array(n), delta: 0 };
    c.pairs.set(u, p);
  }
  return p;
}

/** Net delta (coin of the underlying) of q of instrument i holding `coinHeld` coin through its entry leg. */
export function positionDelta(tb: InstrumentTable, i: number, q: number, coinHeld: number): number {
  return q * tb.delta[i] + coinHeld;
}

/** Roll shock (settlement currency) of q of instrument i: futures and perpetuals only, else 0. */
export function positionRoll(tb: InstrumentTable, model: DeribitPmeModel, i: number, q: number): number {
  const k = tb.kind[i];
  if (k !== Kind.Future && k !== Kind.Perpetual) return 0;
  const inst = tb.instruments[i]!;
  const coin = tb.coinSize(i, q * inst.contractSize);
  const t = k === Kind.Future ? tb.t[i] : 0;
  return pmeRollShock(pmeCurrency(model, inst.settlementCurrency), tb.inverse[i] ? coin : coin * tb.forward[i], t);
}

/** Positions (and, when cross, shocked balances) summed into per-currency, per-pair vectors. */
function aggregate(engine: PmeContext, model: DeribitPmeModel, r: Resolved, risk: PmeRiskVectors): Map<string, CurrencyAcc> {
  const tb = engine.table;
  const accs = new Map<string, CurrencyAcc>();
  const n = risk.n;
  for (let p = 0; p < r.n; p++) {
    const i = r.instr[p];
    const inst = tb.instruments[i]!;
    const settle = inst.settlementCurrency;
    const acc = pairAcc(model, accs, settle, inst.underlying, n);
    const q = r.size[p];
    const row = i * n;
    for (let s = 0; s < n; s++) acc.vec[s] += q * risk.values[row + s];
    acc.delta += positionDelta(tb, i, q, r.posCoin[p]);
    accs.get(settle)!.roll += positionRoll(tb, model, i, q);
  }
  if (model.margining === 'cross') {
    for (const line of r.collateral) {
      if (line.coin < 0) continue;
      const impact = pmeCurrency(model, line.currency).equity_side_impact;
      if (impact === 'none') continue;
      const acc = pairAcc(model, accs, line.currency, line.currency, n);
      const l = risk.layoutOf(line.currency);
      const row = line.coin * n;
      for (let s = 0; s < n; s++) {
        const m = l.linearMoves[s];
        if (impact === 'both' || (impact === 'up' && m > 0) || (impact === 'down' && m < 0)) acc.vec[s] += line.amount * risk.values[row + s];
      }
    }
  }
  return accs;
}

/** A pair's worst case and delta shock (settlement currency `settle`, USD price `price`). */
export interface PairRisk {
  worst: PmeWorst;
  deltaShock: number;
}

/**
 * The worst case of a pair's aggregated vector `vec` (reduced into the risk vectors' scratch; `vec`
 * stays raw) and the delta shock of its net delta; `detail` receives the pair's breakdown.
 */
export function pairRisk(
  engine: PmeContext,
  model: DeribitPmeModel,
  settle: string,
  price: number,
  u: string,
  vec: Float64Array,
  delta: number,
  risk: PmeRiskVectors,
  detail: PmePairBreakdown[] | null,
): PairRisk {
  const pair = pmePair(model, u);
  const l: PmeLayout = risk.layoutOf(u);
  const x = risk.reduced;
  x.set(vec);
  const w = pmeReduce(x, 0, l, pair, pmeCurrency(model, settle), price);
  const spot = engine.market.spot(u);
  const ds = pmeDeltaShock(pair, delta, spot) * (u === settle ? 1 : spot / price);
  if (detail) {
    detail.push({
      pair: `${u.toLowerCase()}_${settle.toLowerCase()}`,
      underlying: u,
      delta,
      worstCase: w.worstCase,
      worstCaseBucket: { index: w.index, source: w.source, bucket: w.bucket, side: w.side },
      deltaShock: ds,
      aggregated: { standard: Array.from(x.subarray(0, l.nStd)), extended: Array.from(x.subarray(l.nStd, l.n)) },
    });
  }
  return { worst: w, deltaShock: ds };
}

/** risk_matrix_margin of a settlement currency = Σ worst case + roll shock + Σ delta shock (+ correlation contingency, 0); IM = it, MM = mm_factor × it. */
export function currencyRequirement(model: DeribitPmeModel, worst: number, roll: number, deltaShock: number): { rmm: number; im: number; mm: number } {
  const rmm = worst + roll + deltaShock;
  return { rmm, im: rmm, mm: model.general.mm_factor * rmm };
}

/** A segregated account's figures in its currency: its balance plus its positions' USD value at the currency's price. */
export function segregatedFigures(balance: number, posUsd: number, price: number, im: number, mm: number): MarginFigures {
  return marginFigures(balance + posUsd / price, im, mm);
}

function currencyMargin(engine: PmeContext, model: DeribitPmeModel, c: CurrencyAcc, risk: PmeRiskVectors, detail: boolean): { breakdown: PmeCurrencyBreakdown; pairs: PairRisk[] } {
  const price = priceOf(engine, model, c.currency);
  const cur = pmeCurrency(model, c.currency);
  if (cur.correlation_set) {
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${model.id}: currency.${c.currency}.correlation_set true is not modelled (Deribit publishes no correlation parameters)`);
  }
  const pairs: PmePairBreakdown[] = [];
  const risks: PairRisk[] = [];
  let worst = 0;
  let deltaShock = 0;
  for (const acc of c.pairs.values()) {
    const pr = pairRisk(engine, model, c.currency, price, acc.underlying, acc.vec, acc.delta, risk, detail ? pairs : null);
    worst += pr.worst.worstCase;
    deltaShock += pr.deltaShock;
    risks.push(pr);
  }
  const req = currencyRequirement(model, worst, c.roll, deltaShock);
  const breakdown = {
    currency: c.currency,
    price,
    riskMatrixMargin: req.rmm,
    worstCase: worst,
    rollShock: c.roll,
    deltaShock,
    correlationContingency: 0,
    initialMargin: req.im,
    maintenanceMargin: req.mm,
    pairs,
  };
  return { breakdown, pairs: risks };
}

/** What one PME margin computed: the aggregation and per-currency requirements behind the figures (what a what-if keeps). */
export interface PmeCore {
  /** the segregated account's currency; null under cross margining */
  segregatedCurrency: string | null;
  r: Resolved;
  accs: Map<string, CurrencyAcc>;
  currencies: { breakdown: PmeCurrencyBreakdown; pairs: PairRisk[] }[];
  posUsd: number;
  figures: MarginFigures;
}

/** The account's aggregation, requirements and figures; `detail` builds the pairs' breakdowns. */
export function pmeCore(engine: PmeContext, model: DeribitPmeModel, a: AccountInput, detail: boolean): PmeCore {
  if (a.mode === 'isolated') {
    throw invalidInput('mode', `is not available under ${model.id} (Deribit's portfolio margin margins a whole sub-account: use cross or portfolio)`, a.mode);
  }
  const segregatedCurrency = model.margining === 'segregated' ? accountCurrency(engine, a, model) : null;
  const r = engine.resolver.resolve(a);
  const risk = pmeVectorsOf(engine.table, model);
  risk.sync();
  const accs = aggregate(engine, model, r, risk);
  const currencies = [...accs.values()].map((c) => currencyMargin(engine, model, c, risk, detail));
  let posUsd = 0;
  for (let p = 0; p < r.n; p++) posUsd += r.posValue[p];
  let figures: MarginFigures;
  if (segregatedCurrency !== null) {
    const C = segregatedCurrency;
    const c = currencies.find((x) => x.breakdown.currency === C)?.breakdown;
    // positions' USD values (mark values, futures' unrealised P&L) in the account's currency
    figures = segregatedFigures(a.collateral[C] ?? 0, posUsd, priceOf(engine, model, C), c?.initialMargin ?? 0, c?.maintenanceMargin ?? 0);
  } else {
    let im = 0;
    let mm = 0;
    for (const { breakdown: c } of currencies) {
      im += c.initialMargin * c.price;
      mm += c.maintenanceMargin * c.price;
    }
    figures = marginFigures(r.collateralValue + posUsd, im, mm);
  }
  return { segregatedCurrency, r, accs, currencies, posUsd, figures };
}

/** One account under a Deribit PME model (see the module comment): its outcome, figures in its numeraire. */
export function pmeOutcome(engine: PmeContext, model: DeribitPmeModel, a: AccountInput, core: PmeCore): MarginOutcome {
  const { r, figures: fig } = core;
  const pme = core.currencies.map((c) => c.breakdown);
  const perCurrency: Record<string, CurrencyFigures> = {};
  for (const c of pme) perCurrency[c.currency] = { initialMargin: c.initialMargin, maintenanceMargin: c.maintenanceMargin };
  const positions: PositionBreakdown[] = [];
  for (let p = 0; p < r.n; p++) positions.push({ index: p, instrument: a.positions[p].instrument, size: r.size[p], valueUsd: r.posValue[p] });
  const greeks = greeksOf(engine.table, r);
  if (core.segregatedCurrency !== null) {
    const C = core.segregatedCurrency;
    const price = priceOf(engine, model, C);
    const usd = { price, equity: fig.equity * price, initialMargin: fig.initialMargin * price, maintenanceMargin: fig.maintenanceMargin * price, availableFunds: fig.availableFunds * price };
    return { modeApplied: 'portfolio', figures: fig, collateralValue: a.collateral[C] ?? 0, perCurrency, greeks, positions, currency: C, usd, pme };
  }
  return { modeApplied: 'portfolio', figures: fig, collateralValue: r.collateralValue, perCurrency, greeks, positions, pme };
}
