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
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import { createMarginEngine } from '../runner/account/runner.js';
import { healthOf } from '../measures/health.js';
import { InstrumentTable } from '../instruments/table.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { MarginFigures } from '../measures/types.js';
import { packagePath, readText } from '../platform/files.js';
import { dateIndex, type History } from './history.js';
import { fhsScenarios, historicalScenarios } from './historical.js';
import { QUANTILE_CONVENTIONS, expectedShortfall, valueAtRisk, type QuantileConvention } from './measures.js';
import { accountPnl, resolveHoldings, riskAccount } from './portfolio.js';
import { revalueInstruments } from './revalue.js';
import { materialise } from './rolling.js';
import type { ScenarioSet } from './scenario-set.js';
import { marketFromHistory } from './var.js';

export type ApcRule = 'buffer' | 'stressed-weight' | 'ten-year';

export interface VarEsParams {
  id: string;
  version: string;
  description: string;
  source: string;
  measure: 'es' | 'var';
  alpha: number;
  quantile: QuantileConvention;
  mporDays: number;
  lookback: number;
  lambda: number;
  stressFrom: string;
  stressTo: string;
  apc: { rule: ApcRule; buffer?: number; weight?: number; years?: number };
  mmFraction: number;
}

export function validateVarEsParams(v: unknown, where = 'model'): VarEsParams {
  const o = check.object(where, v);
  const num = (k: string, lo: number, hi: number): number => {
    const x = check.finite(`${where}.${k}`, o[k]);
    if (!(x >= lo && x <= hi)) throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${where}.${k} must be in [${lo}, ${hi}], got ${x}`, `${where}.${k}`);
    return x;
  };
  const apc = check.object(`${where}.apc`, o.apc);
  const rule = check.oneOf(`${where}.apc.rule`, apc.rule, ['buffer', 'stressed-weight', 'ten-year'] as const);
  const mpor = num('mporDays', 1, 3);
  if (!Number.isInteger(mpor)) throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${where}.mporDays must be 1, 2 or 3, got ${mpor}`);
  return {
    id: check.string(`${where}.id`, o.id),
    version: check.string(`${where}.version`, o.version),
    description: check.string(`${where}.description`, o.description),
    source: check.string(`${where}.source`, o.source),
    measure: check.oneOf(`${where}.measure`, o.measure, ['es', 'var'] as const),
    alpha: num('alpha', 0.5, 0.9999),
    quantile: check.oneOf(`${where}.quantile`, o.quantile, QUANTILE_CONVENTIONS),
    mporDays: mpor,
    lookback: num('lookback', 30, 10_000),
    lambda: num('lambda', 0.5, 0.9999),
    stressFrom: check.string(`${where}.stressFrom`, o.stressFrom),
    stressTo: check.string(`${where}.stressTo`, o.stressTo),
    apc: {
      rule,
      ...(rule === 'buffer' ? { buffer: check.nonNegative(`${where}.apc.buffer`, apc.buffer ?? 0.25) } : {}),
      ...(rule === 'stressed-weight' ? { weight: check.nonNegative(`${where}.apc.weight`, apc.weight ?? 0.25) } : {}),
      ...(rule === 'ten-year' ? { years: check.positive(`${where}.apc.years`, apc.years ?? 10) } : {}),
    },
    mmFraction: num('mmFraction', 0, 1),
  };
}

export const VAR_ES_PRESETS = ['var-es-975', 'var-es-var99'] as const;

/** A shipped preset (data/var-es/ID.json) or a parameter file. */
export function loadVarEsModel(idOrFile: string): VarEsParams {
  const preset = (VAR_ES_PRESETS as readonly string[]).includes(idOrFile);
  if (!preset && !/\.json$/i.test(idOrFile)) {
    throw new OptmarginError(ErrorCodes.INVALID_MODEL, `--model ${JSON.stringify(idOrFile)} is neither a var-es preset (${VAR_ES_PRESETS.join(', ')}) nor a .json parameter file`);
  }
  const text = readText(preset ? packagePath('data', 'var-es', `${idOrFile}.json`) : idOrFile, ErrorCodes.INVALID_MODEL);
  try {
    return validateVarEsParams(JSON.parse(text), idOrFile);
  } catch (e) {
    if (e instanceof SyntaxError) throw new OptmarginError(ErrorCodes.INVALID_MODEL, `${idOrFile} is not valid JSON: ${e.message}`);
    throw e;
  }
}

export interface VarEsFigures extends MarginFigures {
  model: string;
  asOf: string;
  base: number;
  stressed: number;
  tenYear?: number;
  /** 1-day EWMA vol forecasts of the underlyings (the filter's state) */
  dailyVol: Record<string, number>;
  scenarioSets: { id: string; hash: string }[];
}

function measureOf(x: Float64Array, p: VarEsParams): number {
  return Math.max(0, p.measure === 'es' ? expectedShortfall(x, p.alpha) : valueAtRisk(x, p.alpha, p.quantile));
}

/** IM, MM and health of one account under a var-es model, as of history index k, on `market`. */
export function varEsMargin(h: History, k: number, accountIn: unknown, p: VarEsParams, market: MarginMarket = marketFromHistory(h, k, p.lambda)): VarEsFigures {
  const account = riskAccount(materialise(accountIn, market));
  const table = new InstrumentTable(market);
  const hold = resolveHoldings(table, account);
  const pnl = (set: ScenarioSet) => accountPnl(hold, revalueInstruments(table, set));
  const fhs = fhsScenarios(h, { asOfIndex: k, lookback: p.lookback, lambda: p.lambda, horizon: p.mporDays });
  const sFrom = dateIndex(h, p.stressFrom, `${p.id}.stressFrom`);
  const sTo = dateIndex(h, p.stressTo, `${p.id}.stressTo`);
  const stressedSet = historicalScenarios(h, { asOfIndex: sTo, lookback: sTo - sFrom + 1, horizon: p.mporDays });
  const base = measureOf(pnl(fhs), p);
  const stressed = measureOf(pnl(stressedSet), p);
  const sets = [fhs, stressedSet];
  let im: number;
  let tenYear: number | undefined;
  if (p.apc.rule === 'buffer') im = Math.max(base * (1 + p.apc.buffer!), stressed);
  else if (p.apc.rule === 'stressed-weight') im = Math.max((1 - p.apc.weight!) * base + p.apc.weight! * stressed, stressed);
  else {
    const n = Math.min(k, Math.round(p.apc.years! * 365));
    const long = historicalScenarios(h, { asOfIndex: k, lookback: n, horizon: p.mporDays });
    sets.push(long);
    tenYear = measureOf(pnl(long), p);
    im = Math.max(base, tenYear, stressed);
  }
  const mm = p.mmFraction * im;
  const equity = hold.value;
  const out: VarEsFigures = {
    model: p.id,
    asOf: h.dates[k],
    equity,
    initialMargin: im,
    maintenanceMargin: mm,
    marginRatio: equity > 0 ? mm / equity : null,
    availableFunds: equity - im,
    health: healthOf(equity, im, mm),
    base,
    stressed,
    dailyVol: fhs.params.dailyVolForecast as Record<string, number>,
    scenarioSets: sets.map((s) => ({ id: s.id, hash: s.hash })),
  };
  if (tenYear !== undefined) out.tenYear = tenYear;
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
      const r = createMarginEngine({ market, model: grid }).margin(riskAccount(materialise(accountIn, market)));
      if (!r.ok) throw new OptmarginError(r.error.code as never, `${h.dates[k]}: ${grid}: ${r.error.message}`);
      gridIm = r.initialMargin;
    }
    days.push({ date: h.dates[k], im: f.initialMargin, base: f.base, stressed: f.stressed, gridIm, dailyVol: f.dailyVol });
    onDay?.(k - a + 1, b - a + 1);
  }
  return days;
}
