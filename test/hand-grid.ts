/**
 * Hand calculation of scenario-grid margin, written from the preset's documented rules (the
 * presets' descriptions and docs/margin.md), not from the engine's code: every position is
 * revalued by Black-76 in every scenario with the smile read by the preset's rule, then worst
 * weighted loss + add-ons. Used to give the grid tests expectations that do not come from the
 * code under test. Black-76 itself is the TS reference (checked against the 60-digit fixture
 * in kernels.test.ts); what this file re-derives is everything around it.
 */
import { black76Reference, margin } from '../src/index.js';

type GridModel = margin.GridModel;
type MarginMarket = margin.MarginMarket;

const MS_PER_YEAR = 365 * 86_400_000;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** Deribit expiry code (08:00 UTC): 25DEC26. */
/**
 * A grid preset's parameters. `deribit-pm` is Deribit's PME mechanism since issue 8; its
 * scenario-grid parameter set stays as `deribit-pm-2024.1`, which the grid tests use when present.
 */
export function gridPreset(id: string): GridModel {
  const versioned = `${id}-2024.1`;
  const p = margin.loadModel(margin.listModels().some((m) => m.id === versioned) ? versioned : id).params;
  if (p.mechanism !== 'scenario-grid') throw new Error(`${id} is not a scenario-grid model`);
  return p;
}

export function expiryCode(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCDate()}${MONTHS[d.getUTCMonth()]}${String(d.getUTCFullYear() % 100).padStart(2, '0')}`;
}

/** Raw SVI total variance w(k) = a + b(ρ(k − m) + √((k − m)² + σ²)) (Gatheral 2004). */
export function sviW(p: { a: number; b: number; rho: number; m: number; sigma: number }, k: number): number {
  const x = k - p.m;
  return p.a + p.b * (p.rho * x + Math.sqrt(x * x + p.sigma * p.sigma));
}

/** A hand position: what the instrument name says, spelled out. */
export interface HandPosition {
  kind: 'option' | 'future' | 'perpetual';
  underlying: string;
  /** inverse (coin-settled) or linear (USDC) */
  inverse: boolean;
  expiry?: number;
  strike?: number;
  put?: boolean;
  /** options and linear futures: coin; inverse futures/perpetuals: USD notional */
  size: number;
  /** futures: entry price (default: today's mark) */
  entry?: number;
}

export function handPosition(name: string, size: number, expiries: Record<string, number>, entry?: number): HandPosition {
  const parts = name.split('-');
  const [u0] = parts;
  const inverse = !u0.includes('_');
  const underlying = u0.split('_')[0];
  if (parts[1] === 'PERPETUAL') return { kind: 'perpetual', underlying, inverse, size, entry };
  const expiry = expiries[parts[1]];
  if (expiry === undefined) throw new Error(`hand: unknown expiry ${parts[1]}`);
  if (parts.length === 2) return { kind: 'future', underlying, inverse, expiry, size, entry };
  return { kind: 'option', underlying, inverse, expiry, strike: Number(parts[2]), put: parts[3] === 'P', size };
}

/** Relative move of scenario k: `move`, or `range` × the scan range on its side. */
export function scenarioMove(model: GridModel, k: number): number {
  const s = model.scenarios[k];
  if (s.move !== undefined) return s.move;
  return s.range! >= 0 ? s.range! * model.scan.rangeUp : s.range! * model.scan.rangeDown;
}

/** The preset's vol shock: size = base·(ref/max(days, minDays))^power; relative or absolute; floored. */
export function handShockedVol(model: GridModel, vol: number, dir: 'up' | 'same' | 'down', t: number): number {
  const v = model.scan.vol;
  if (dir === 'same') return vol;
  const days = Math.max(t * 365, v.minDays);
  const power = v.longTermPower !== undefined && days > (v.longTermAfterDays ?? 30) ? v.longTermPower : v.power;
  const size = (dir === 'up' ? v.up : v.down) * Math.pow(v.referenceDays / days, power);
  if (dir === 'up') return v.mode === 'relative' ? vol * (1 + size) : vol + size;
  return Math.max(v.floor, v.mode === 'relative' ? vol * (1 - size) : vol - size);
}

/** USD value of one position in a market moved by `move` (index, perpetual, forwards × (1 + move)). */
function positionUsd(m: MarginMarket, model: GridModel, p: HandPosition, move: number, dir: 'up' | 'same' | 'down'): number {
  const f = 1 + move;
  const S = m.spot(p.underlying) * f;
  if (p.kind !== 'option') {
    // futures: P&L from the entry price (today's mark when none); inverse: notional·(1/entry − 1/F1) coin at S1
    const F0 = p.kind === 'perpetual' ? m.perpetual(p.underlying) : m.forward(p.underlying, p.expiry!);
    const F1 = F0 * f;
    const at = p.entry ?? F0;
    return p.inverse ? p.size * (1 / at - 1 / F1) * S : p.size * (F1 - at);
  }
  const t = (p.expiry! - m.valuationTime) / MS_PER_YEAR;
  const F = m.forward(p.underlying, p.expiry!) * f;
  const K = p.strike!;
  // smile rule: sticky moneyness reads today's smile at K/(1 + move); sticky strike at K
  const base = model.smile === 'sticky-moneyness' ? m.vol(p.underlying, p.expiry!, K / f) : m.vol(p.underlying, p.expiry!, K);
  const vol = handShockedVol(model, base, dir, t);
  const usd = black76Reference(p.put!, F, K, vol, t, m.rate, false).price;
  // inverse options: coin value usd/F, held at the (moved) index
  return p.size * (p.inverse ? (usd / F) * S : usd);
}

export interface HandGrid {
  /** weighted loss per scenario (positive = loss), per underlying */
  losses: Record<string, number[]>;
  worstLoss: Record<string, number>;
  addOns: Record<string, { shortOption: number; futures: number; shortOptionMinimum: number }>;
  /** IM per underlying: worst loss + add-ons, at least the short option minimum */
  rowIm: Record<string, number>;
  initialMargin: number;
  maintenanceMargin: number;
}

/**
 * Grid margin of a set of positions, by the model's written rules. `coin` is coin held per
 * underlying (collateral after haircut, in coin): it moves with the index in every scenario.
 */
export function handGridMargin(m: MarginMarket, model: GridModel, positions: HandPosition[], coin: Record<string, number> = {}): HandGrid {
  const out: HandGrid = { losses: {}, worstLoss: {}, addOns: {}, rowIm: {}, initialMargin: 0, maintenanceMargin: 0 };
  const unders = [...new Set([...positions.map((p) => p.underlying), ...Object.keys(coin)])];
  for (const u of unders) {
    const mine = positions.filter((p) => p.underlying === u);
    const losses = model.scenarios.map((s, k) => {
      const mv = scenarioMove(model, k);
      let pnl = (coin[u] ?? 0) * m.spot(u) * mv;
      for (const p of mine) pnl += positionUsd(m, model, p, mv, s.vol) - positionUsd(m, model, p, 0, 'same');
      return -s.weight * pnl;
    });
    const worst = Math.max(0, ...losses);
    const S = m.spot(u);
    const a = model.addOns;
    // short options, netted per expiry and strike (calls with puts) or per instrument
    const net = new Map<string, number>();
    let shortContracts = 0;
    const perInstrument = new Map<string, number>();
    for (const p of mine.filter((x) => x.kind === 'option')) {
      const inst = `${p.inverse}|${p.expiry}|${p.strike}|${p.put}`;
      perInstrument.set(inst, (perInstrument.get(inst) ?? 0) + p.size);
      const key = a.shortOption?.netting === 'expiry-strike' ? `${p.expiry}|${p.strike}` : inst;
      net.set(key, (net.get(key) ?? 0) + p.size);
    }
    for (const q of perInstrument.values()) if (q < 0) shortContracts -= q;
    let shortNet = 0;
    for (const q of net.values()) if (q < 0) shortNet -= q;
    // futures in coin: long and short sides
    let long = 0;
    let short = 0;
    for (const p of mine.filter((x) => x.kind !== 'option')) {
      const F = p.kind === 'perpetual' ? m.perpetual(u) : m.forward(u, p.expiry!);
      const coin = p.inverse ? p.size / F : p.size;
      if (coin > 0) long += coin;
      else short -= coin;
    }
    const shortOption = a.shortOption ? shortNet * a.shortOption.fractionOfSpot * S : 0;
    const futures = a.futures ? (a.futures.basis === 'gross' ? long + short : Math.min(long, short)) * a.futures.fraction * S : 0;
    const shortOptionMinimum = a.shortOptionMinimum ? shortContracts * a.shortOptionMinimum.fractionOfSpot * S : 0;
    out.losses[u] = losses;
    out.worstLoss[u] = worst;
    out.addOns[u] = { shortOption, futures, shortOptionMinimum };
    out.rowIm[u] = Math.max(worst + shortOption + futures, shortOptionMinimum);
  }
  const rows = Object.values(out.rowIm);
  const sum = rows.reduce((x, y) => x + y, 0);
  const largest = Math.max(0, ...rows);
  let im = model.crossUnderlying.rule === 'sum' ? sum : sum - model.crossUnderlying.credit * (sum - largest);
  im = Math.max(im, model.minimumMarginUsd);
  out.initialMargin = im;
  out.maintenanceMargin = model.mmFraction * im;
  return out;
}
