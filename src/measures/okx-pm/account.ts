/**
 * One account under OKX portfolio margin (`okx-pm`, presets/okx-pm.json; arithmetic.ts holds
 * the formulas). Figures are USD.
 *
 * Risk units: every derivative of one underlying (inverse = OKX's coin-margined "USD" contracts,
 * linear = USDC-margined) joins that underlying's unit. A coin balance of the underlying joins
 * the unit as spot in use, up to the part that offsets the derivatives' delta; the rest of it is
 * collateral only. Per unit: MR1 (spot shocks), MR4 (basis), MR6 (extreme move), MR7 (minimum
 * charge with its multiplier tiers), MR9 (USD–USDC hedge); MR2, MR3, MR5 are options-only and
 * 0 here (options are rejected: see the preset's source). MR8: borrowed balances. Equity:
 * positive balances at their tiered discount rates, negative ones at full value, plus the
 * positions' values (futures' unrealised P&L).
 */
import { invalidInput } from '../../errors.js';
import { Kind } from '../../instruments/kind.js';
import type { AccountResolver, Resolved } from '../../instruments/resolve.js';
import type { InstrumentTable } from '../../instruments/table.js';
import type { MarginMarket } from '../../market/margin-market.js';
import { greeksOf } from '../greeks.js';
import { marginFigures } from '../health.js';
import type { MarginOutcome } from '../outcome.js';
import type { AccountInput, CurrencyFigures, OkxPmModel, OkxRiskUnitBreakdown, PositionBreakdown } from '../types.js';
import { basisRate, discountedAmount, hedgingVolume, mr1Of, mr6Of, mr7Adjusted, mr9Of, riskUnitMmr, spotInUse } from './arithmetic.js';

/** What the measure reads: the runner's instrument table, market and resolver. */
export interface OkxContext {
  table: InstrumentTable;
  market: MarginMarket;
  resolver: AccountResolver;
}

/** A risk unit's exposures gathered from the positions. */
interface UnitAcc {
  underlying: string;
  /** coin of the underlying held through derivatives (USD value moves by coin × index × m) */
  coin: number;
  /** Σ |cash delta| and Σ |cash delta| × basis rate (USD) */
  grossDelta: number;
  basis: number;
  /** signed cash delta of USD-margined (inverse) and USDC-margined (linear) derivatives */
  usdDelta: number;
  usdcDelta: number;
  /** the first position of each margin kind (named in MR9 errors) */
  firstInverse: number;
}

function unitParams(model: OkxPmModel, u: string, path: string, value: unknown) {
  const p = model.riskUnits[u];
  if (!p) throw invalidInput(path, `has underlying ${u}, for which ${model.id} has no risk-unit parameters (units: ${Object.keys(model.riskUnits).join(', ')})`, value);
  return p;
}

/** Positions gathered into risk units (options and spot pairs rejected, naming the position). */
function gather(engine: OkxContext, model: OkxPmModel, a: AccountInput, r: Resolved): Map<string, UnitAcc> {
  const tb = engine.table;
  const units = new Map<string, UnitAcc>();
  for (let p = 0; p < r.n; p++) {
    const i = r.instr[p];
    const path = `positions[${p}].instrument`;
    const name = a.positions[p].instrument;
    const k = tb.kind[i];
    if (k === Kind.Option) throw invalidInput(path, `is an option, which ${model.id} does not model (OKX's MR2, MR3, MR5 formulas and implied-vol shocks are not in the sources the preset cites)`, name);
    if (k !== Kind.Future && k !== Kind.Perpetual) throw invalidInput(path, `is a spot pair; under ${model.id} hold the coin as a collateral balance (it joins its risk unit as spot in use)`, name);
    const inst = tb.instruments[i]!;
    const u = inst.underlying;
    const params = unitParams(model, u, path, name);
    let acc = units.get(u);
    if (!acc) {
      acc = { underlying: u, coin: 0, grossDelta: 0, basis: 0, usdDelta: 0, usdcDelta: 0, firstInverse: -1 };
      units.set(u, acc);
    }
    const inverse = tb.inverse[i] === 1;
    const coin = inverse ? r.posCoin[p] : r.size[p] * inst.contractSize;
    const cash = coin * tb.forward[i];
    acc.coin += coin;
    acc.grossDelta += Math.abs(cash);
    acc.basis += Math.abs(cash) * basisRate(k === Kind.Future ? tb.t[i] : 0, params.basis.annualizedMoveRisk, params.basis.minRate);
    if (inverse) {
      acc.usdDelta += cash;
      if (acc.firstInverse < 0) acc.firstInverse = p;
    } else acc.usdcDelta += cash;
  }
  return units;
}

/** MR9 of a unit: its USD–USDC hedging volume through the preset's tiers (an error when the preset has none). */
function mr9(model: OkxPmModel, a: AccountInput, acc: UnitAcc): number {
  const volume = hedgingVolume(acc.usdDelta, acc.usdcDelta);
  if (volume === 0) return 0;
  if (model.stablecoinDepeg === null) {
    const p = acc.firstInverse;
    throw invalidInput(
      `positions[${p}].instrument`,
      `hedges USD-margined against USDC-margined ${acc.underlying} derivatives (${volume.toFixed(2)} USD), which needs MR9, whose tiers ${model.id} does not have (not in the sources it cites)`,
      a.positions[p].instrument,
    );
  }
  return mr9Of(volume, model.stablecoinDepeg);
}

function unitMargin(engine: OkxContext, model: OkxPmModel, a: AccountInput, acc: UnitAcc, balance: number): OkxRiskUnitBreakdown {
  const u = acc.underlying;
  const p = model.riskUnits[u];
  const index = engine.market.spot(u);
  const spot = spotInUse(balance, acc.coin);
  const coin = acc.coin + spot;
  const m1 = mr1Of(coin, index, p.spotShocks);
  const m6 = mr6Of(coin, index, p.extremeMove, p.extremeFactor);
  const mr7Raw = p.minimumChargeRate * acc.grossDelta;
  const c = { mr1: m1.value, mr2: 0, mr3: 0, mr4: acc.basis, mr5: 0, mr6: m6.value, mr7: mr7Adjusted(mr7Raw, p.minimumChargeTiers), mr9: mr9(model, a, acc) };
  const mmr = riskUnitMmr(c);
  return {
    riskUnit: u,
    delta: acc.usdDelta + acc.usdcDelta,
    spotInUse: spot,
    ...c,
    mr1Scenario: m1.at,
    mr1Scenarios: m1.grid,
    mr6Scenario: m6.at,
    mr7Raw,
    mmr,
    imr: model.imrFactor * mmr,
  };
}

/** Collateral: discounted value (USD) and the borrowing (MR8) requirements. */
function collateralOf(model: OkxPmModel, r: Resolved): { value: number; borrowMmr: number; borrowImr: number } {
  let value = 0;
  let liability = 0;
  for (const line of r.collateral) {
    if (line.amount < 0) {
      liability -= line.amount * line.price;
      value += line.amount * line.price;
      continue;
    }
    const tiers = model.discountTiers[line.currency];
    value += tiers ? discountedAmount(line.amount, tiers) * line.price : line.value;
  }
  return { value, borrowMmr: model.borrowing.mmrRate * liability, borrowImr: model.borrowing.imrRate * liability };
}

/** One account under OKX portfolio margin (see the module comment). */
export function okxPmMargin(engine: OkxContext, model: OkxPmModel, a: AccountInput): MarginOutcome {
  if (a.mode === 'isolated') throw invalidInput('mode', `is not available under ${model.id} (portfolio margin margins the whole account: use cross or portfolio)`, a.mode);
  const r = engine.resolver.resolve(a);
  const units = gather(engine, model, a, r);
  const okx = [...units.values()].map((acc) => unitMargin(engine, model, a, acc, a.collateral[acc.underlying] ?? 0));
  const col = collateralOf(model, r);
  const perCurrency: Record<string, CurrencyFigures> = {};
  let derivMmr = 0;
  let derivImr = 0;
  for (const x of okx) {
    derivMmr += x.mmr;
    derivImr += x.imr;
    const index = engine.market.spot(x.riskUnit);
    perCurrency[x.riskUnit] = { initialMargin: x.imr / index, maintenanceMargin: x.mmr / index };
  }
  const positions: PositionBreakdown[] = [];
  let posUsd = 0;
  for (let p = 0; p < r.n; p++) {
    positions.push({ index: p, instrument: a.positions[p].instrument, size: r.size[p], valueUsd: r.posValue[p] });
    posUsd += r.posValue[p];
  }
  const mmr = derivMmr + col.borrowMmr;
  const imr = derivImr + col.borrowImr;
  const components = { derivMmr, derivImr, borrowMmr: col.borrowMmr, borrowImr: col.borrowImr };
  const fig = marginFigures(col.value + posUsd, imr, mmr);
  return { modeApplied: 'portfolio', figures: fig, collateralValue: col.value, perCurrency, greeks: greeksOf(engine.table, r), positions, components, okx };
}
