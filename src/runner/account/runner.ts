/**
 * The margin engine: one market × one model. Data flow (DESIGN.md §1):
 *   resolve   account → instrument indices + sizes (InstrumentTable: each distinct instrument
 *             parsed and valued once per engine)
 *   risk arrays (grid models) nInstruments × nScenarios, cached per engine, filled lazily
 *   aggregate per account and underlying: P&L vector = Σ size × risk array
 *   reduce    worst weighted loss, add-ons, collateral, IM / MM, health, Greeks
 * Per-account work is O(positions × scenarios); the scratch vectors are preallocated.
 *
 * Accounts: collateral balances count at amount × price × (1 − haircut) (negative balances at
 * full value); options at mark; futures at their unrealised P&L from the entry price.
 * Health (DESIGN.md §3.4): equity < 0 bankrupt; < MM liquidatable; < IM margin call; else healthy.
 */
import { finiteOrError } from '../../measures/finite.js';
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { validateAccount, validateChanges } from '../../instruments/account.js';
import { addPositionInto, aggregateInto, worstScenario } from '../../scenarios/aggregate.js';
import { InstrumentTable, Kind } from '../../instruments/table.js';
import { lyraMargin } from '../../measures/lyra/pmrm.js';
import { marketHashOf, movedMarket, type MarginMarket } from '../../market/margin-market.js';
import { loadModel } from '../../measures/models.js';
import { RiskArrays } from '../../scenarios/revaluation.js';
import { standardPositionMargin } from '../../measures/standard.js';
import type {
  AccountInput,
  AccountMode,
  CurrencyFigures,
  GridModel,
  Health,
  LiquidationPrices,
  LoadedModel,
  MarginFigures,
  MarginModel,
  MarginResult,
  MarginResultError,
  MarginResultOk,
  PositionBreakdown,
  PositionChange,
  RuleBasedModel,
  UnderlyingGreeks,
  UnderlyingGridBreakdown,
  WhatIfResult,
} from '../../measures/types.js';

export function healthOf(equity: number, im: number, mm: number): Health {
  if (equity < 0) return 'bankrupt';
  if (equity < mm) return 'liquidatable';
  if (equity < im) return 'margin call';
  return 'healthy';
}

const HEALTH_RANK: Record<Health, number> = { healthy: 0, 'margin call': 1, liquidatable: 2, bankrupt: 3 };
export function worseHealth(a: Health, b: Health): Health {
  return HEALTH_RANK[a] >= HEALTH_RANK[b] ? a : b;
}

function figures(equity: number, im: number, mm: number, available = equity - im, health = healthOf(equity, im, mm)): MarginFigures {
  return { equity, initialMargin: im, maintenanceMargin: mm, marginRatio: equity > 0 ? mm / equity : null, availableFunds: available, health };
}

export function errorResult(id: string, e: unknown): MarginResultError {
  if (e instanceof OptmarginError) {
    const error: MarginResultError['error'] = { code: e.code, message: e.message };
    if (e.path !== undefined) error.path = e.path;
    return { id, ok: false, error };
  }
  // not an OptmarginError: a bug in optmargin, never reported as bad input
  return { id, ok: false, error: { code: ErrorCodes.INTERNAL, message: `internal error: ${String((e as Error)?.message ?? e)}` } };
}

/** Collateral of one currency valued in USD: value after haircut, price, and the coin slot it moves with. */
interface CollateralLine {
  currency: string;
  amount: number;
  price: number;
  haircut: number;
  value: number;
  /** table index of the coin pseudo-instrument, −1 for USD-pegged */
  coin: number;
}

/** Holdings of an account after resolve: net size per instrument, collateral, entry legs. */
interface Resolved {
  account: AccountInput;
  /** number of positions (the arrays may be longer) */
  n: number;
  /** position → instrument index */
  instr: Int32Array;
  size: Float64Array;
  collateral: CollateralLine[];
  collateralValue: number;
  /** mark value of each position (USD) */
  posValue: Float64Array;
  /** coin held through inverse futures' entry legs, per position */
  posCoin: Float64Array;
}

interface GridState {
  resolved: Resolved;
  /** underlying slots present, in order */
  slots: number[];
  /** P&L vectors, one row of nScen per entry of `slots` */
  pnl: Float64Array;
  /** net size per distinct instrument (for add-ons): netIdx[k] instrument, netSize[k] size, k < nNet */
  netIdx: Int32Array;
  netSize: Float64Array;
  nNet: number;
  equity: number;
  figures: MarginFigures | null;
  /** the positions array object and length this state was computed from (cheap staleness check) */
  positionsRef: unknown;
  positionsLen: number;
}

export interface MarginEngineOptions {
  market: MarginMarket;
  /** A LoadedModel, a preset id / file path, or a parameter object. */
  model: LoadedModel | MarginModel | string;
  /** Lyra/Derive feeds the market model does not carry (per-expiry rates, fixed forward portions, confidences). */
  lyraFeeds?: import('../../measures/lyra/pmrm.js').LyraFeeds;
}

export class MarginEngine {
  readonly market: MarginMarket;
  readonly model: LoadedModel;
  readonly marketHash: string;
  readonly table: InstrumentTable;
  /** grid models only */
  readonly risk: RiskArrays | null;
  readonly lyraFeeds: import('../../measures/lyra/pmrm.js').LyraFeeds | undefined;
  private readonly states = new WeakMap<object, GridState>();
  private readonly pair = new Float64Array(2);
  // preallocated scratch (grown by doubling): the per-account grid path allocates only its result
  private scratch = new Float64Array(0);
  private slotRow = new Int32Array(0);
  private instrNet = new Int32Array(0);
  private groupNet = new Float64Array(0);
  private rowAcc = new Float64Array(0);
  private fill = new Int32Array(0);
  private hInstr = new Int32Array(0);
  private hSize = new Float64Array(0);
  private hRow = new Int32Array(0);
  private sInstr = new Int32Array(0);
  private sSize = new Float64Array(0);
  private wNetIdx = new Int32Array(0);
  private wNetSize = new Float64Array(0);
  private wWorst = new Int32Array(0);
  private rInstr = new Int32Array(0);
  private rSize = new Float64Array(0);
  private rValue = new Float64Array(0);
  private rCoin = new Float64Array(0);

  constructor(opts: MarginEngineOptions) {
    this.market = opts.market;
    const m = opts.model;
    this.model = typeof m === 'string' ? loadModel(m) : 'params' in m && 'hash' in m ? (m as LoadedModel) : loadModel(m as MarginModel);
    this.marketHash = marketHashOf(opts.market);
    this.table = new InstrumentTable(opts.market);
    this.risk = this.model.params.mechanism === 'scenario-grid' ? new RiskArrays(this.table, this.model.params) : null;
    this.lyraFeeds = opts.lyraFeeds;
  }

  /** The success result, built as one literal (a fixed shape: object spreads cost more than the margin maths). */
  okResult(
    a: AccountInput,
    modeApplied: AccountMode,
    fig: MarginFigures,
    collateralValue: number,
    perCurrency: Record<string, CurrencyFigures>,
    greeks: Record<string, UnderlyingGreeks>,
    positions: PositionBreakdown[],
    grid?: UnderlyingGridBreakdown[],
    components?: Record<string, number>,
  ): MarginResultOk {
    const p = this.model.params;
    return {
      id: a.id,
      ok: true,
      mode: a.mode,
      modeApplied,
      model: { id: p.id, version: p.version, hash: this.model.hash, mechanism: p.mechanism },
      marketHash: this.marketHash,
      valuationTime: this.market.valuationTime,
      currency: 'USD',
      equity: fig.equity,
      initialMargin: fig.initialMargin,
      maintenanceMargin: fig.maintenanceMargin,
      marginRatio: fig.marginRatio,
      availableFunds: fig.availableFunds,
      health: fig.health,
      collateralValue,
      perCurrency,
      greeks,
      positions,
      grid,
      components,
    };
  }

  // ───────────── resolve ─────────────

  private valueCollateral(path: string, currency: string, amount: number): CollateralLine {
    const c = this.model.params.collateral;
    const haircut = c.haircuts[currency] ?? c.defaultHaircut;
    if (haircut === null || haircut === undefined) {
      throw new OptmarginError(
        ErrorCodes.INVALID_INPUT,
        `${path}.${currency} is not accepted as collateral by model ${this.model.params.id} (accepted: ${Object.keys(c.haircuts).join(', ')})`,
        `${path}.${currency}`,
      );
    }
    let price = 1;
    let coin = -1;
    if (!c.usdPegged.includes(currency)) {
      if (!this.market.hasUnderlying(currency)) {
        throw new OptmarginError(
          ErrorCodes.MISSING_MARKET_DATA,
          `${path}.${currency}: the market has no index price for ${currency}`,
          `${path}.${currency}`,
        );
      }
      price = this.market.spot(currency);
      coin = this.table.coinIndex(currency);
    }
    const value = amount > 0 ? amount * price * (1 - haircut) : amount * price;
    return { currency, amount, price, haircut, value, coin };
  }

  private collateralLines(path: string, balances: Record<string, number>): CollateralLine[] {
    const out: CollateralLine[] = [];
    for (const cur of Object.keys(balances)) {
      if (balances[cur] !== 0) out.push(this.valueCollateral(path, cur, balances[cur]));
    }
    return out;
  }

  private instrumentIndex(path: string, name: string): number {
    try {
      return this.table.indexOf(name);
    } catch (e) {
      if (e instanceof OptmarginError) throw new OptmarginError(e.code, `${path}: ${e.message}`, path);
      throw e;
    }
  }

  /**
   * Resolve step. The arrays of the returned record are engine scratch, valid until the next
   * resolve (nothing keeps them: states keep only the account).
   */
  private resolve(a: AccountInput): Resolved {
    const n = a.positions.length;
    if (this.rInstr.length < n) {
      const c = Math.max(n, 2 * this.rInstr.length);
      this.rInstr = new Int32Array(c);
      this.rSize = new Float64Array(c);
      this.rValue = new Float64Array(c);
      this.rCoin = new Float64Array(c);
    }
    const { rInstr: instr, rSize: size, rValue: posValue, rCoin: posCoin } = this;
    const pv = this.pair;
    for (let p = 0; p < n; p++) {
      const pos = a.positions[p];
      const i = this.instrumentIndex(`positions[${p}].instrument`, pos.instrument);
      instr[p] = i;
      size[p] = pos.size;
      this.table.positionValueInto(i, pos.size, pos.entryPrice, pv);
      posValue[p] = pv[0];
      posCoin[p] = pv[1];
    }
    const collateral = this.collateralLines('collateral', a.collateral);
    let collateralValue = 0;
    for (const c of collateral) collateralValue += c.value;
    return { account: a, n, instr, size, collateral, collateralValue, posValue, posCoin };
  }

  private greeks(r: Resolved, from = 0, to = r.n): Record<string, UnderlyingGreeks> {
    const tb = this.table;
    const out: Record<string, UnderlyingGreeks> = {};
    for (let p = from; p < to; p++) {
      const i = r.instr[p];
      const u = tb.underlyings[tb.underlyingOf[i]];
      const g = (out[u] ??= { delta: 0, gamma: 0, vega: 0, theta: 0 });
      const q = r.size[p];
      g.delta += q * tb.delta[i] + r.posCoin[p];
      g.gamma += q * tb.gamma[i];
      g.vega += q * tb.vega[i];
      g.theta += q * tb.theta[i];
    }
    return out;
  }

  // ───────────── public API ─────────────

  /** Margin of one account. Never throws for a bad account: the result carries the error instead. */
  margin(input: AccountInput | unknown): MarginResult {
    const id = typeof (input as AccountInput)?.id === 'string' ? (input as AccountInput).id : String((input as AccountInput)?.id ?? '?');
    try {
      const a = validateAccount(input);
      const p = this.model.params;
      if (p.mechanism === 'rule-based') return finiteOrError(this.ruleBased(a, p)) as MarginResult;
      if (p.mechanism === 'scenario-grid') return finiteOrError(this.grid(a, p, input as object)) as MarginResult;
      return finiteOrError(lyraMargin(this, a, p)) as MarginResult;
    } catch (e) {
      return errorResult(id, e);
    }
  }

  /**
   * Margin before and after adding `changes` (trades at mark unless entryPrice is given).
   * Portfolio/cross accounts on a grid model reuse the account's cached P&L vectors (computed
   * by margin() on the same account object): the change costs O(changes × scenarios).
   * Other cases recompute the changed account.
   */
  whatIf(input: AccountInput, changesIn: PositionChange[] | unknown): WhatIfResult {
    const changes = validateChanges(changesIn);
    const p = this.model.params;
    if (p.mechanism === 'scenario-grid' && input.mode !== 'isolated') {
      let st = this.states.get(input);
      if (!st || st.positionsRef !== input.positions || st.positionsLen !== input.positions.length) {
        const r = this.margin(input);
        if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
        st = this.states.get(input)!;
      }
      return this.gridWhatIf(st, p, changes);
    }
    const before = this.margin(input);
    if (!before.ok) throw new OptmarginError(before.error.code, before.error.message, before.error.path);
    const after = this.margin({ ...input, positions: [...input.positions, ...changes.filter((c) => c.size !== 0)] });
    if (!after.ok) throw new OptmarginError(after.error.code, after.error.message, after.error.path);
    return whatIfResult(pick(before), pick(after));
  }

  /**
   * Prices of `underlying` (below and above the index) at which equity would equal MM, the
   * market moved by the same relative amount in index, perpetual and forwards (smile sticky in
   * moneyness). Found by bracketing then bisection on the move, to 1e-7 relative; searched
   * over moves in [−99 %, +1000 %].
   */
  liquidationPrice(input: AccountInput, underlying: string): LiquidationPrices {
    const a0 = validateAccount(input);
    // Futures without an entry price were entered at today's mark: pin it, so a moved market
    // shows their P&L instead of re-entering them at the moved mark.
    const a: AccountInput = {
      ...a0,
      positions: a0.positions.map((p, k) => {
        if (p.entryPrice !== undefined) return p;
        const i = this.instrumentIndex(`positions[${k}].instrument`, p.instrument);
        const kind = this.table.kind[i];
        return kind === Kind.Future || kind === Kind.Perpetual ? { ...p, entryPrice: this.table.forward[i] } : p;
      }),
    };
    if (!this.market.hasUnderlying(underlying)) {
      throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `the market has no underlying ${JSON.stringify(underlying)}`);
    }
    const spot = this.market.spot(underlying);
    const gap = (m: number): number => {
      const eng = m === 0 ? this : new MarginEngine({ market: movedMarket(this.market, underlying, m, this.marketHash), model: this.model, lyraFeeds: this.lyraFeeds });
      const r = eng.margin(a);
      if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
      return r.equity - r.maintenanceMargin;
    };
    const g0 = gap(0);
    const search = (dir: 1 | -1): number | null => {
      const limit = dir > 0 ? 10 : 0.99;
      let prev = 0;
      let gPrev = g0;
      let step = 0.01;
      while (prev * dir < limit) {
        const m = dir * Math.min(Math.abs(prev) + step, limit);
        const g = gap(m);
        if ((gPrev >= 0) !== (g >= 0)) {
          // Root of the gap inside [prev, m] by the Illinois variant of regula falsi: it keeps
          // the bracket (the gap has kinks where the worst scenario switches) and converges
          // superlinearly, in ~8 evaluations where bisection needed ~25 to reach 1e-7.
          let lo = prev;
          let hi = m;
          let gLo = gPrev;
          let gHi = g;
          let side = 0;
          for (let k = 0; k < 60 && Math.abs(hi - lo) > 1e-7 * (1 + Math.abs(lo)); k++) {
            let x = (lo * gHi - hi * gLo) / (gHi - gLo);
            // keep strictly inside the bracket (falls back to bisection on a flat or degenerate step)
            if (!(x > Math.min(lo, hi) && x < Math.max(lo, hi))) x = 0.5 * (lo + hi);
            const gx = gap(x);
            if (gx === 0) return spot * (1 + x);
            if ((gx >= 0) === (gLo >= 0)) {
              lo = x;
              gLo = gx;
              if (side === 1) gHi *= 0.5;
              side = 1;
            } else {
              hi = x;
              gHi = gx;
              if (side === -1) gLo *= 0.5;
              side = -1;
            }
          }
          return spot * (1 + 0.5 * (lo + hi));
        }
        prev = m;
        gPrev = g;
        step = Math.min(step * 1.5, 0.25);
      }
      return null;
    };
    return { underlying, spot, below: search(-1), above: search(1), alreadyLiquidatable: g0 < 0 };
  }

  // ───────────── rule-based ─────────────

  private ruleBased(a: AccountInput, model: RuleBasedModel): MarginResultOk {
    const r = this.resolve(a);
    const tb = this.table;
    const n = r.n;
    const perCurrency: Record<string, CurrencyFigures> = {};
    const positions: PositionBreakdown[] = new Array(n);
    const isolated = a.mode === 'isolated';
    let im = 0;
    let mm = 0;
    let posTotal = 0;
    let health: Health = 'healthy';
    let isolatedFree = 0;
    for (let p = 0; p < n; p++) {
      const i = r.instr[p];
      standardPositionMargin(model, tb, i, r.size[p], this.pair);
      const pim = this.pair[0];
      const pmm = this.pair[1];
      im += pim;
      mm += pmm;
      posTotal += r.posValue[p];
      const inst = tb.instruments[i]!;
      const cur = inst.settlementCurrency;
      const toCur = inst.settlement === 'inverse' ? 1 / tb.market.spot(inst.underlying) : 1;
      const cf = (perCurrency[cur] ??= { initialMargin: 0, maintenanceMargin: 0 });
      cf.initialMargin += pim * toCur;
      cf.maintenanceMargin += pmm * toCur;
      const b: PositionBreakdown = {
        index: p,
        instrument: inst.name,
        size: r.size[p],
        valueUsd: r.posValue[p],
        initialMargin: pim,
        maintenanceMargin: pmm,
      };
      if (isolated) {
        const own = a.positions[p].collateral;
        let ownValue = 0;
        if (own) for (const c of this.collateralLines(`positions[${p}].collateral`, own)) ownValue += c.value;
        b.equity = ownValue + r.posValue[p];
        b.health = healthOf(b.equity, pim, pmm);
        health = worseHealth(health, b.health);
        isolatedFree += Math.max(0, b.equity - pim);
      }
      positions[p] = b;
    }
    let equity: number, available: number;
    if (isolated) {
      let own = 0;
      for (const b of positions) own += b.equity!;
      equity = r.collateralValue + own;
      available = r.collateralValue + isolatedFree;
    } else {
      equity = r.collateralValue + posTotal;
      available = equity - im;
      health = healthOf(equity, im, mm);
    }
    return this.okResult(a, isolated ? 'isolated' : 'cross', figures(equity, im, mm, available, health), r.collateralValue, perCurrency, this.greeks(r), positions);
  }

  // ───────────── scenario grid ─────────────

  private ensureScratch(n: number): Float64Array {
    if (this.scratch.length < n) this.scratch = new Float64Array(Math.max(n, this.scratch.length * 2));
    return this.scratch;
  }

  /** Scratch maps sized to the table (reset to their neutral value after each use). */
  private slotRowMap(): Int32Array {
    const n = this.table.underlyings.length;
    if (this.slotRow.length < n) {
      this.slotRow = new Int32Array(Math.max(n, 2 * this.slotRow.length));
      this.slotRow.fill(-1);
    }
    return this.slotRow;
  }
  private instrNetMap(): Int32Array {
    const n = this.table.count;
    if (this.instrNet.length < n) {
      this.instrNet = new Int32Array(Math.max(n, 2 * this.instrNet.length));
      this.instrNet.fill(-1);
    }
    return this.instrNet;
  }
  private holdingsScratch(n: number): void {
    if (this.hInstr.length < n) {
      const c = Math.max(n, 2 * this.hInstr.length);
      this.hInstr = new Int32Array(c);
      this.hSize = new Float64Array(c);
      this.hRow = new Int32Array(c);
      this.sInstr = new Int32Array(c);
      this.sSize = new Float64Array(c);
    }
  }

  /**
   * P&L vectors of a holding set (positions [from, to) of r plus collateral lines), grouped
   * per underlying slot (order of first appearance), and the net size per instrument.
   */
  private gridState(r: Resolved, from: number, to: number, collateral: CollateralLine[], collateralValue: number): GridState {
    const tb = this.table;
    const risk = this.risk!;
    const ns = risk.nScen;
    const slots: number[] = [];
    const slotRow = this.slotRowMap();
    const instrNet = this.instrNetMap();
    const nh = 2 * (to - from) + collateral.length;
    this.holdingsScratch(nh);
    const { hInstr, hSize, hRow } = this;
    const netIdx = new Int32Array(to - from);
    const netSize = new Float64Array(to - from);
    let nNet = 0;
    let h = 0;
    let equity = collateralValue;
    const rowOf = (slot: number): number => {
      let k = slotRow[slot];
      if (k < 0) {
        k = slots.length;
        slots.push(slot);
        slotRow[slot] = k;
      }
      return k;
    };
    for (let p = from; p < to; p++) {
      const i = r.instr[p];
      const q = r.size[p];
      hInstr[h] = i;
      hSize[h] = q;
      hRow[h++] = rowOf(tb.underlyingOf[i]);
      let k = instrNet[i];
      if (k < 0) {
        k = nNet++;
        instrNet[i] = k;
        netIdx[k] = i;
      }
      netSize[k] += q;
      equity += r.posValue[p];
      if (r.posCoin[p] !== 0) {
        const ci = tb.coinIndex(tb.underlyings[tb.underlyingOf[i]]);
        hInstr[h] = ci;
        hSize[h] = r.posCoin[p];
        hRow[h++] = rowOf(tb.underlyingOf[ci]);
      }
    }
    for (let k = 0; k < nNet; k++) instrNet[netIdx[k]] = -1;
    for (const c of collateral) {
      if (c.coin < 0) continue;
      hInstr[h] = c.coin;
      hSize[h] = c.amount > 0 ? c.amount * (1 - c.haircut) : c.amount;
      hRow[h++] = rowOf(tb.underlyingOf[c.coin]);
    }
    for (const s of slots) slotRow[s] = -1;
    risk.sync();
    for (const s of slots) risk.scenariosOf(s);
    // order holdings by row so each (account, underlying) owns a contiguous range (the kernel's layout)
    const nRows = slots.length;
    const start = new Int32Array(nRows + 1);
    for (let k = 0; k < h; k++) start[hRow[k] + 1]++;
    for (let k = 0; k < nRows; k++) start[k + 1] += start[k];
    const fill = this.ensureFill(nRows);
    for (let k = 0; k < nRows; k++) fill[k] = start[k];
    const { sInstr, sSize } = this;
    for (let k = 0; k < h; k++) {
      const d = fill[hRow[k]]++;
      sInstr[d] = hInstr[k];
      sSize[d] = hSize[k];
    }
    const pnl = new Float64Array(nRows * ns);
    aggregateInto(nRows, ns, start, sInstr, sSize, risk.values, pnl);
    return {
      resolved: r,
      slots,
      pnl,
      netIdx,
      netSize,
      nNet,
      equity,
      figures: null,
      positionsRef: null,
      positionsLen: -1,
    };
  }

  private ensureFill(n: number): Int32Array {
    if (this.fill.length < n) this.fill = new Int32Array(Math.max(n, 2 * this.fill.length));
    return this.fill;
  }

  /**
   * IM and MM from P&L vectors (rows in `slots` order) and net holdings: worst weighted loss
   * per underlying + add-ons (contingencies on net short options and futures), short option
   * minimum, combination across underlyings, minimum margin. `worst[row]` receives each row's
   * worst scenario; `detail` (when given) the readable breakdown.
   */
  private reduceGrid(
    model: GridModel,
    slots: number[],
    pnl: Float64Array,
    netIdx: Int32Array,
    netSize: Float64Array,
    nNet: number,
    worst: Int32Array,
    detail: UnderlyingGridBreakdown[] | null,
  ): { im: number; mm: number } {
    const tb = this.table;
    const risk = this.risk!;
    const ns = risk.nScen;
    const nRows = slots.length;
    const slotRow = this.slotRowMap();
    for (let k = 0; k < nRows; k++) slotRow[slots[k]] = k;
    // per row: [short options, long futures coin, short futures coin, short option contracts]
    if (this.rowAcc.length < 4 * nRows) this.rowAcc = new Float64Array(4 * nRows);
    const acc = this.rowAcc;
    acc.fill(0, 0, 4 * nRows);
    const add = model.addOns;
    const byGroup = add.shortOption !== undefined && add.shortOption.netting === 'expiry-strike';
    if (byGroup && this.groupNet.length < tb.groupCount) {
      this.groupNet = new Float64Array(Math.max(tb.groupCount, 2 * this.groupNet.length));
    }
    const groupNet = this.groupNet;
    for (let k = 0; k < nNet; k++) {
      const q = netSize[k];
      if (q === 0) continue;
      const i = netIdx[k];
      const row = slotRow[tb.underlyingOf[i]];
      const kind = tb.kind[i];
      if (kind === Kind.Option) {
        if (q < 0) acc[4 * row + 3] -= q;
        if (byGroup) groupNet[tb.group[i]] += q;
        else if (q < 0) acc[4 * row] -= q;
      } else if (kind === Kind.Future || kind === Kind.Perpetual) {
        const coin = tb.coinSize(i, q);
        if (coin > 0) acc[4 * row + 1] += coin;
        else acc[4 * row + 2] -= coin;
      }
    }
    if (byGroup) {
      for (let k = 0; k < nNet; k++) {
        const i = netIdx[k];
        if (tb.kind[i] !== Kind.Option) continue;
        const g = tb.group[i];
        const q = groupNet[g];
        if (q < 0) acc[4 * slotRow[tb.groupSlot[g]]] -= q;
        groupNet[g] = 0; // each group counted once, and the scratch left clean
      }
    }
    for (let k = 0; k < nRows; k++) slotRow[slots[k]] = -1;
    let sum = 0;
    let largest = 0;
    for (let k = 0; k < nRows; k++) {
      const sc = risk.scenariosOf(slots[k]);
      const w = worstScenario(ns, pnl, k * ns, sc.weights);
      worst[k] = w;
      const worstLoss = Math.max(0, -sc.weights[w] * pnl[k * ns + w]);
      const S = sc.spot;
      let rowIm = worstLoss;
      let shortOption = 0;
      let futures = 0;
      let som = 0;
      if (add.shortOption) rowIm += shortOption = acc[4 * k] * add.shortOption.fractionOfSpot * S;
      if (add.futures) {
        const base = add.futures.basis === 'gross' ? acc[4 * k + 1] + acc[4 * k + 2] : Math.min(acc[4 * k + 1], acc[4 * k + 2]);
        rowIm += futures = base * add.futures.fraction * S;
      }
      if (add.shortOptionMinimum) {
        som = acc[4 * k + 3] * add.shortOptionMinimum.fractionOfSpot * S;
        rowIm = Math.max(rowIm, som);
      }
      sum += rowIm;
      if (rowIm > largest) largest = rowIm;
      if (detail) {
        const losses = new Array<number>(ns);
        for (let s = 0; s < ns; s++) losses[s] = -sc.weights[s] * pnl[k * ns + s] + 0;
        const addOns: Record<string, number> = {};
        if (add.shortOption) addOns.shortOption = shortOption;
        if (add.futures) addOns.futures = futures;
        if (add.shortOptionMinimum) addOns.shortOptionMinimum = som;
        detail.push({
          underlying: sc.underlying,
          spot: S,
          worstScenario: sc.info[w],
          worstLoss,
          scenarioLosses: losses,
          scenarios: sc.info,
          addOns,
          initialMargin: rowIm,
        });
      }
    }
    let im = model.crossUnderlying.rule === 'sum' ? sum : sum - model.crossUnderlying.credit * (sum - largest);
    im = Math.max(im, model.minimumMarginUsd);
    return { im, mm: model.mmFraction * im };
  }

  private grid(a: AccountInput, model: GridModel, key: object): MarginResultOk {
    const r = this.resolve(a);
    const tb = this.table;
    const risk = this.risk!;
    const ns = risk.nScen;
    const n = r.n;
    if (a.mode === 'isolated') {
      const positions: PositionBreakdown[] = new Array(n);
      let im = 0;
      let mm = 0;
      let equity = r.collateralValue;
      let free = r.collateralValue;
      let health: Health = 'healthy';
      const grid: UnderlyingGridBreakdown[] = [];
      for (let p = 0; p < n; p++) {
        const own = a.positions[p].collateral ?? {};
        const lines = this.collateralLines(`positions[${p}].collateral`, own);
        let ownValue = 0;
        for (const c of lines) ownValue += c.value;
        const st = this.gridState(r, p, p + 1, lines, ownValue);
        const red = this.reduceGrid(model, st.slots, st.pnl, st.netIdx, st.netSize, st.nNet, new Int32Array(st.slots.length), grid);
        const h = healthOf(st.equity, red.im, red.mm);
        positions[p] = {
          index: p,
          instrument: tb.names[r.instr[p]],
          size: r.size[p],
          valueUsd: r.posValue[p],
          initialMargin: red.im,
          maintenanceMargin: red.mm,
          equity: st.equity,
          health: h,
        };
        im += red.im;
        mm += red.mm;
        equity += st.equity;
        free += Math.max(0, st.equity - red.im);
        health = worseHealth(health, h);
      }
      return this.okResult(a, 'isolated', figures(equity, im, mm, free, health), r.collateralValue, {}, this.greeks(r), positions, grid);
    }
    const st = this.gridState(r, 0, n, r.collateral, r.collateralValue);
    const grid: UnderlyingGridBreakdown[] = [];
    const worst = new Int32Array(st.slots.length);
    const red = this.reduceGrid(model, st.slots, st.pnl, st.netIdx, st.netSize, st.nNet, worst, grid);
    const fig = figures(st.equity, red.im, red.mm);
    st.figures = fig;
    st.positionsRef = (key as AccountInput).positions;
    st.positionsLen = a.positions.length;
    this.states.set(key, st);
    const positions: PositionBreakdown[] = new Array(n);
    for (let p = 0; p < n; p++) {
      const i = r.instr[p];
      const k = st.slots.indexOf(tb.underlyingOf[i]);
      positions[p] = {
        index: p,
        instrument: tb.names[i],
        size: r.size[p],
        valueUsd: r.posValue[p],
        // an inverse future's delta sits in its coin (entry) leg: count that leg's P&L too
        worstScenarioPnl:
          r.size[p] * risk.values[i * ns + worst[k]] +
          (r.posCoin[p] !== 0 ? r.posCoin[p] * risk.values[tb.coinIndex(tb.underlyings[tb.underlyingOf[i]]) * ns + worst[k]] : 0),
      };
    }
    const perCurrency: Record<string, CurrencyFigures> = {};
    for (const g of grid) {
      perCurrency[g.underlying] = { initialMargin: g.initialMargin / g.spot, maintenanceMargin: (model.mmFraction * g.initialMargin) / g.spot };
    }
    return this.okResult(a, a.mode === 'cross' ? 'cross' : 'portfolio', fig, r.collateralValue, perCurrency, this.greeks(r), positions, grid);
  }

  private gridWhatIf(st: GridState, model: GridModel, changes: PositionChange[]): WhatIfResult {
    const tb = this.table;
    const risk = this.risk!;
    const ns = risk.nScen;
    const slots = st.slots.slice();
    const nc = changes.length;
    const idx = new Int32Array(nc);
    let dEquity = 0;
    // coin exposure changes: inverse futures' entry legs and premiums paid/received in coin
    let coinMoves: number[] | null = null;
    let balances: Record<string, number> | null = null;
    for (let c = 0; c < nc; c++) {
      const ch = changes[c];
      const i = this.instrumentIndex(`changes[${c}].instrument`, ch.instrument);
      idx[c] = i;
      const s = tb.underlyingOf[i];
      if (!slots.includes(s)) slots.push(s);
      const v = tb.positionValue(i, ch.size, ch.entryPrice);
      dEquity += v.value;
      if (v.coinHeld !== 0) (coinMoves ??= []).push(tb.coinIndex(tb.underlyings[s]), v.coinHeld);
      if (tb.kind[i] === Kind.Option) {
        // the premium (at entry, else at mark) moves the settlement currency's balance
        balances ??= { ...st.resolved.account.collateral };
        const inst = tb.instruments[i]!;
        const cur = inst.settlementCurrency;
        const old = balances[cur] ?? 0;
        const next = old - ch.size * (ch.entryPrice ?? tb.mark[i]) * inst.contractSize;
        balances[cur] = next;
        const a = this.valueCollateral('collateral', cur, old);
        const b = this.valueCollateral('collateral', cur, next);
        dEquity += b.value - a.value;
        if (b.coin >= 0) {
          const expo = (l: CollateralLine) => (l.amount > 0 ? l.amount * (1 - l.haircut) : l.amount);
          (coinMoves ??= []).push(b.coin, expo(b) - expo(a));
          const cs = tb.underlyingOf[b.coin];
          if (!slots.includes(cs)) slots.push(cs);
        }
      }
    }
    risk.sync();
    for (const s of slots) risk.scenariosOf(s);
    const nRows = slots.length;
    const pnl = this.ensureScratch(nRows * ns);
    pnl.set(st.pnl);
    pnl.fill(0, st.pnl.length, nRows * ns);
    // net holdings after the changes (scratch copies)
    const cap = st.nNet + nc;
    if (this.wNetIdx.length < cap) {
      this.wNetIdx = new Int32Array(2 * cap);
      this.wNetSize = new Float64Array(2 * cap);
    }
    const netIdx = this.wNetIdx;
    const netSize = this.wNetSize;
    netIdx.set(st.netIdx.subarray(0, st.nNet));
    netSize.set(st.netSize.subarray(0, st.nNet));
    let nNet = st.nNet;
    for (let c = 0; c < nc; c++) {
      const i = idx[c];
      const q = changes[c].size;
      addPositionInto(ns, pnl, slots.indexOf(tb.underlyingOf[i]) * ns, risk.values, i, q);
      let k = 0;
      while (k < nNet && netIdx[k] !== i) k++;
      if (k === nNet) {
        netIdx[k] = i;
        netSize[k] = 0;
        nNet++;
      }
      netSize[k] += q;
    }
    if (coinMoves) {
      for (let k = 0; k < coinMoves.length; k += 2) {
        const ci = coinMoves[k];
        addPositionInto(ns, pnl, slots.indexOf(tb.underlyingOf[ci]) * ns, risk.values, ci, coinMoves[k + 1]);
      }
    }
    if (this.wWorst.length < nRows) this.wWorst = new Int32Array(2 * nRows);
    const red = this.reduceGrid(model, slots, pnl, netIdx, netSize, nNet, this.wWorst, null);
    return whatIfResult(st.figures!, figures(st.equity + dEquity, red.im, red.mm));
  }
}

function pick(r: MarginResultOk): MarginFigures {
  return {
    equity: r.equity,
    initialMargin: r.initialMargin,
    maintenanceMargin: r.maintenanceMargin,
    marginRatio: r.marginRatio,
    availableFunds: r.availableFunds,
    health: r.health,
  };
}

function whatIfResult(before: MarginFigures, after: MarginFigures): WhatIfResult {
  return {
    before,
    after,
    delta: {
      equity: after.equity - before.equity,
      initialMargin: after.initialMargin - before.initialMargin,
      maintenanceMargin: after.maintenanceMargin - before.maintenanceMargin,
      availableFunds: after.availableFunds - before.availableFunds,
    },
  };
}

export function createMarginEngine(opts: MarginEngineOptions): MarginEngine {
  return new MarginEngine(opts);
}
