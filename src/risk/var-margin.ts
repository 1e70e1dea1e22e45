/**
 * The `var-es` risk-based margin family (issue 11 §3): a CCP-style model in the spirit of Eurex
 * Prisma / CME SPAN 2, with parameters in data/var-es/*.json.
 *
 *   base      = measure (ES at α, or VaR at α under `quantile`) of the account's P&L over the
 *               FHS scenario set as of T (lookback, λ), scaled to the margin period of risk
 *               (MPOR 1–3 days, √MPOR);
 *   stressed  = the same measure over the historical scenarios of the stressed period
 *               [stressFrom, stressTo] (unfiltered, √MPOR), revalued on today's market;
 *   APC (EMIR RTS 153/2013 art. 28(1), one of):
 *     'buffer'          IM = max(base × (1 + buffer), stressed)           (a) 25 % buffer
 *     'stressed-weight' IM = max((1 − w) base + w stressed, stressed)      (b) 25 % weight on stressed observations
 *     'ten-year'        IM = max(base, measure over a 10-year HS lookback, stressed)   (c) 10-year floor
 *   i.e. the stressed-period figure is a floor under every rule;
 *   IM ≥ 0; MM = mmFraction × IM; equity = the holdings' value (USD); health as every model.
 * "Dynamic": `dynamicMargin` re-runs it at the close of each day of a history, beside a fixed
 * grid preset on the same account and market — the procyclicality picture.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { createMarginEngine } from '../runner/account/runner.js';
import { figuresOf } from '../measures/health.js';
import { hashOf, loadModel, resolveModel, toLoadedModel, validateModel } from '../measures/models.js';
import type { LoadedModel, MarginFigures, MarginModel, VarEsBreakdown, VarEsModel, VarEsScenarioSets } from '../measures/types.js';
import type { MarginMarket } from '../market/margin-market.js';
import { closeInstant, dateIndex, type History } from './history.js';
import { fhsScenarios, historicalScenarios } from './historical.js';
import { seamSet } from './revalue.js';
import { riskEntry } from './rolling.js';
import { marketFromHistory } from './var.js';

export type { ApcRule, VarEsModel } from '../measures/types.js';
/** @deprecated name: the var-es parameters are a margin model (measures/types.ts VarEsModel) */
export type VarEsParams = VarEsModel;

export const VAR_ES_PRESETS = ['var-es-975', 'var-es-var99'] as const;

/** The parameters of a var-es model: a shipped preset id (data/var-es/ID.json), a parameter file or object. */
export function loadVarEsModel(idOrFile: string | LoadedModel | MarginModel): VarEsModel {
  const p = resolveModel(idOrFile).params;
  if (p.mechanism !== 'var-es') {
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${p.id} is a ${p.mechanism} model, not a var-es model (${VAR_ES_PRESETS.join(', ')} or a file with "mechanism": "var-es")`, 'model');
  }
  return p;
}

/** The validated parameters of a var-es model object (INVALID_MODEL naming the field). */
export function validateVarEsParams(v: unknown, where = 'model'): VarEsModel {
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) && !('mechanism' in v) ? { ...v, mechanism: 'var-es' } : v;
  return loadVarEsModel(toLoadedModel(validateModel(o, where)));
}

/** The model's scenario sets as of history index k: FHS on the lookback, the stressed period, the ten-year lookback (apc 'ten-year'). */
export function varEsScenarioSets(h: History, k: number, p: VarEsModel): VarEsScenarioSets {
  const fhs = fhsScenarios(h, { asOfIndex: k, lookback: p.lookback, lambda: p.lambda, horizon: p.mporDays });
  const sFrom = dateIndex(h, p.stressFrom, `${p.id}.stressFrom`);
  const sTo = dateIndex(h, p.stressTo, `${p.id}.stressTo`);
  if (sTo < sFrom) throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${p.id}.stressTo ${p.stressTo} is before stressFrom ${p.stressFrom}`, 'stressTo');
  const stressed = historicalScenarios(h, { asOfIndex: sTo, lookback: sTo - sFrom + 1, horizon: p.mporDays });
  const long = p.apc.rule === 'ten-year' ? historicalScenarios(h, { asOfIndex: k, lookback: Math.min(k, Math.round(p.apc.years! * 365)), horizon: p.mporDays }) : null;
  const risk = [fhs, stressed, ...(long ? [long] : [])];
  return {
    asOf: h.dates[k],
    base: seamSet(fhs),
    stressed: seamSet(stressed),
    tenYear: long ? seamSet(long) : null,
    dailyVol: fhs.params.dailyVolForecast as Record<string, number>,
    sets: risk.map((s) => ({ id: s.id, hash: s.hash })),
  };
}

/**
 * A var-es model resolved once against a history as of index k: the LoadedModel every runner takes
 * (account, book, what-if, liquidation price). Its hash covers the parameters, T and the sets' hashes.
 */
export function withHistory(model: string | LoadedModel | MarginModel, h: History, k: number): LoadedModel {
  const m = resolveModel(model);
  const p = loadVarEsModel(m);
  const riskScenarios = varEsScenarioSets(h, k, p);
  return { params: p, hash: hashOf({ params: m.hash, asOf: riskScenarios.asOf, sets: riskScenarios.sets }), riskScenarios };
}

/**
 * The as-of index of a var-es model on a market: `asOf` when given, else the last history date whose
 * close (D+1 00:00 UTC) is at or before the market's valuation time.
 */
export function asOfIndexFor(h: History, market: MarginMarket, asOf?: string): number {
  if (asOf) return dateIndex(h, asOf);
  let k = h.dates.length - 1;
  while (k >= 0 && closeInstant(h.dates[k]) > market.valuationTime) k--;
  if (k < 0) {
    throw new OptmarginError(ErrorCodes.INVALID_INPUT, `the history starts ${h.dates[0]}, after the market's valuation time ${new Date(market.valuationTime).toISOString()}: give --as-of`, '--as-of');
  }
  return k;
}

/** A model id / file for the CLI: var-es models resolved with the history (required), others loaded as they are. */
export function modelWithHistory(id: string, market: MarginMarket, history: (() => History) | undefined, asOf?: string): LoadedModel {
  const m = loadModel(id);
  if (m.params.mechanism !== 'var-es') return m;
  if (!history) varEsNeedsHistory(m);
  const h = history();
  return withHistory(m, h, asOfIndexFor(h, market, asOf));
}

function varEsNeedsHistory(m: LoadedModel): never {
  throw new OptmarginError(ErrorCodes.INVALID_INPUT, `model ${m.params.id} is a var-es model: give its price history with --history FILE[,FILE…] (and --as-of DATE)`, '--history');
}

export interface VarEsFigures extends MarginFigures, Omit<VarEsBreakdown, 'asOf'> {
  model: string;
  asOf: string;
}

/** IM, MM and health of one account under a var-es model, as of history index k, on `market` (the margin engine's var-es measure). */
export function varEsMargin(h: History, k: number, accountIn: unknown, p: VarEsModel | LoadedModel | string, marketIn?: MarginMarket): VarEsFigures {
  const model = withHistory(p, h, k);
  const market = marketIn ?? marketFromHistory(h, k, (model.params as VarEsModel).lambda);
  const r = createMarginEngine({ market, model }).margin(riskEntry(accountIn, market));
  if (!r.ok) throw new OptmarginError(r.error.code, r.error.message, r.error.path);
  const v = r.varEs!;
  const out: VarEsFigures = { model: model.params.id, ...figuresOf(r), base: v.base, stressed: v.stressed, dailyVol: v.dailyVol, scenarioSets: v.scenarioSets, asOf: v.asOf };
  if (v.tenYear !== undefined) out.tenYear = v.tenYear;
  return out;
}

export interface DynamicDay {
  date: string;
  im: number;
  base: number;
  stressed: number;
  gridIm: number | null;
  dailyVol: Record<string, number>;
}

/**
 * The var-es IM re-run at the close of each day in [from, to], and the IM of a fixed-grid preset
 * (`grid`, e.g. deribit-pm-2024.1 or span-16) on the same account and the same market of that day.
 */
export function dynamicMargin(h: History, accountIn: unknown, p: VarEsParams, from: string, to: string, grid?: string, onDay?: (done: number, total: number) => void): DynamicDay[] {
  const a = dateIndex(h, from, '--from');
  const b = dateIndex(h, to, '--to');
  if (b < a) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `--to ${to} is before --from ${from}`, '--to');
  const days: DynamicDay[] = [];
  for (let k = a; k <= b; k++) {
    const market = marketFromHistory(h, k, p.lambda);
    const f = varEsMargin(h, k, accountIn, p, market);
    let gridIm: number | null = null;
    if (grid) {
      const r = createMarginEngine({ market, model: grid }).margin(riskEntry(accountIn, market));
      if (!r.ok) throw new OptmarginError(r.error.code as never, `${h.dates[k]}: ${grid}: ${r.error.message}`);
      gridIm = r.initialMargin;
    }
    days.push({ date: h.dates[k], im: f.initialMargin, base: f.base, stressed: f.stressed, gridIm, dailyVol: f.dailyVol });
    onDay?.(k - a + 1, b - a + 1);
  }
  return days;
}
