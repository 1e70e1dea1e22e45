/**
 * Deribit portfolio margin (deribit-pm: segregated, in the settlement coin; deribit-xpm: cross
 * collateral, in USD) against Deribit's own published figures:
 * - the response example of the API reference of private/pme/simulate (BTC, 2024-06-17);
 * - a live private/pme/simulate response for ETH (2026-02-15).
 * Both are in test/fixtures/deribit_pme_simulate.json (numbers copied verbatim, source inside).
 * An inverse option's vector is checked against an independent mpmath Black-76 (script in the
 * test). Hand calculations for the numeraire semantics.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pmeVectorsOf } from '../src/measures/deribit-pme/account.js';
import {
  createMarginEngine,
  loadModel,
  tableMarket,
  type DeribitPmeModel,
  type MarginResult,
  type MarginResultOk,
  type PositionInput,
} from '../src/api/margin.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/deribit_pme_simulate.json', import.meta.url), 'utf8'));
const btc = fx.btc_doc;
const eth = fx.eth_live;
const EXP_28JUN24 = Date.UTC(2024, 5, 28, 8);

const btcMarket = tableMarket({
  valuationTime: btc.timestamp,
  underlyings: {
    BTC: {
      spot: btc.index_price,
      perpetual: btc.ticker['BTC-PERPETUAL'].mark_price,
      vol: 0.5,
      expiries: [{ expiry: EXP_28JUN24, forward: btc.ticker['BTC-28JUN24'].mark_price, vol: 0.5 }],
    },
  },
});
const ethMarket = tableMarket({
  valuationTime: eth.timestamp,
  underlyings: { ETH: { spot: eth.index_price, perpetual: eth.ticker['ETH-PERPETUAL'].mark_price, vol: 0.6 } },
});

/** Deribit reports positions in coin; an inverse future's size here is USD notional = coin × mark. */
function positionsOf(ex: { position: Record<string, number>; ticker: Record<string, { mark_price: number }> }): PositionInput[] {
  return Object.entries(ex.position).map(([instrument, q]) => ({ instrument, size: q * ex.ticker[instrument].mark_price }));
}

function ok(r: MarginResult): MarginResultOk {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r;
}

function expectClose(actual: number, expected: number, rel: number, abs = 1e-15): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(abs, rel * Math.abs(expected)));
}

function expectVector(actual: ArrayLike<number>, expected: number[], rel: number): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) expectClose(actual[k], expected[k], rel, 1e-14);
}

describe('deribit-pm reproduces the private/pme/simulate response example (BTC, 2024-06-17)', () => {
  const engine = createMarginEngine({ market: btcMarket, model: 'deribit-pm' });
  const model = engine.model.params as DeribitPmeModel;

  it('initial risk vectors of the perpetual and the future, 27 standard + 8 extended, to 1e-9', () => {
    const risk = pmeVectorsOf(engine.table, model);
    for (const p of positionsOf(btc)) {
      const i = engine.table.indexOf(p.instrument);
      risk.sync();
      const row = Array.from(risk.values.subarray(i * risk.n, (i + 1) * risk.n), (v) => v * p.size);
      const want = btc.initial_risk_vectors[p.instrument];
      expectVector(row.slice(0, 27), want.standard, 1e-9);
      expectVector(row.slice(27), want.extended, 1e-9);
    }
  });

  it('aggregated vectors, worst case, roll shock, risk matrix margin and MM', () => {
    const r = ok(engine.margin({ id: 'doc', mode: 'portfolio', positions: positionsOf(btc) }));
    const d = btc.margins.btc;
    const det = d.initial_margin_details.risk_matrix_margin_details;
    expect(r.currency).toBe('BTC');
    const c = r.pme![0];
    expect(c.currency).toBe('BTC');
    expect(c.pairs[0].pair).toBe('btc_btc');
    expectVector(c.pairs[0].aggregated.standard, btc.aggregated_risk_vectors.btc_btc.standard, 1e-9);
    expectVector(c.pairs[0].aggregated.extended, btc.aggregated_risk_vectors.btc_btc.extended, 1e-9);
    expectClose(c.worstCase, det.worst_case, 1e-9);
    expect(c.pairs[0].worstCaseBucket).toEqual(det.worst_case_bucket);
    expectClose(c.rollShock, det.roll_shock, 1e-9);
    expect(c.deltaShock).toBe(det.delta_shock);
    expect(c.correlationContingency).toBe(det.correlation_contingency);
    expectClose(c.riskMatrixMargin, d.initial_margin_details.risk_matrix_margin, 1e-6);
    expectClose(r.initialMargin, d.initial_margin_details.risk_matrix_margin, 1e-6);
    expectClose(r.maintenanceMargin, d.maintenance_margin, 1e-6);
    // Deribit's IM adds the margins of open orders and MMP quotes (not positions) to the risk matrix margin
    const im = r.initialMargin + d.initial_margin_details.spot_margin + d.initial_margin_details.mmp_margin + d.initial_margin_details.open_orders_margin;
    expectClose(im, d.initial_margin, 1e-6);
  });

  it('an inverse option is revalued in coin at the shocked forward (independent mpmath Black-76)', () => {
    // mpmath, 30 digits: t = (28JUN24 08:00 − 1718619740501 ms) / 365 d; F = 67371.75, K = 60000, σ = 0.5;
    // up = max(σ(1 + 0.5·(30/days)^0.3), 0.5), down = max(0.01, σ(1 − 0.25·(30/days)^0.3));
    // P&L = Black76(F(1+m), σ')/(F(1+m)) − Black76(F, σ)/F, buckets m = 0.16·(b−4)/4 × [up, same, down], then extended on up.
    const want = [
      0.09099163623624226, 0.07003265927162815, 0.06150489977405544, 0.060932949767212766, 0.03761386299130799, 0.026043788324968054,
      0.03888468989450774, 0.016893158661683193, 0.006573783453663255, 0.023418811354631457, 0.005447051636287191, -0.0009641701580526144,
      0.013034479389827755, 0.0, -0.002973194287446659, 0.006347403331874256, -0.002242500931467118, -0.0033442415861041266,
      0.0022069050454186162, -0.0030477493054021313, -0.0033927449675264267, -0.00026513449331724506, -0.003302490989215461,
      -0.0033973542792122106, -0.0016924107644367822, -0.003374241042612985, -0.0033976817531605557, 1.615958160681669,
      0.3273883705971104, -0.0033932863353872337, -0.003397700227794969, -0.0033977004222654817, -0.0033977004222654817,
      -0.0033977004222654817, -0.0033977004222654817,
    ];
    const risk = pmeVectorsOf(engine.table, model);
    const i = engine.table.indexOf('BTC-28JUN24-60000-P');
    risk.sync();
    const row = risk.values.subarray(i * risk.n, (i + 1) * risk.n);
    for (let k = 0; k < want.length; k++) expectClose(row[k], want[k], 1e-9, 1e-12);
  });
});

describe('Deribit PM reproduces a live private/pme/simulate response (ETH, 2026-02-15)', () => {
  const d = eth.margins.eth;
  const det = d.initial_margin_details.risk_matrix_margin_details;
  for (const id of ['deribit-pm', 'deribit-xpm']) {
    it(`${id}: pnl_offset on profits, worst case in bucket 9, roll shock at min_annualised_move, IM and MM`, () => {
      const engine = createMarginEngine({ market: ethMarket, model: id });
      const r = ok(engine.margin({ id: 'live', mode: 'portfolio', positions: positionsOf(eth) }));
      const c = r.pme![0];
      expectVector(c.pairs[0].aggregated.standard, eth.aggregated_risk_vectors.eth_eth.standard, 1e-9);
      expectVector(c.pairs[0].aggregated.extended, eth.aggregated_risk_vectors.eth_eth.extended, 1e-9);
      expectClose(c.worstCase, det.worst_case, 1e-9);
      expect(c.pairs[0].worstCaseBucket).toEqual(det.worst_case_bucket);
      expectClose(c.rollShock, det.roll_shock, 1e-9);
      expectClose(c.riskMatrixMargin, d.initial_margin_details.risk_matrix_margin, 1e-6);
      expectClose(c.initialMargin, d.initial_margin, 1e-6);
      expectClose(c.maintenanceMargin, d.maintenance_margin, 1e-6);
      if (id === 'deribit-pm') {
        expect(r.currency).toBe('ETH');
        expectClose(r.initialMargin, d.initial_margin, 1e-6);
      } else {
        expect(r.currency).toBe('USD');
        expectClose(r.initialMargin, d.initial_margin_details.risk_matrix_margin * eth.index_price, 1e-6);
      }
    });
  }
});

describe('numeraire semantics (hand calculations)', () => {
  const S = btc.index_price;
  const seg = createMarginEngine({ market: btcMarket, model: 'deribit-pm' });
  const xpm = createMarginEngine({ market: btcMarket, model: 'deribit-xpm' });

  it('a BTC sub-account holding only 10 BTC needs no margin; its figures are in BTC with USD beside', () => {
    const r = ok(seg.margin({ id: 'hodl', mode: 'portfolio', collateral: { BTC: 10 } }));
    expect(r.currency).toBe('BTC');
    expect(r.initialMargin).toBe(0);
    expect(r.maintenanceMargin).toBe(0);
    expect(r.equity).toBe(10);
    expect(r.availableFunds).toBe(10);
    expect(r.health).toBe('healthy');
    expect(r.usd).toEqual({ price: S, equity: 10 * S, initialMargin: 0, maintenanceMargin: 0, availableFunds: 10 * S });
  });

  it('a BTC holder hedged with a short perpetual of the same USD value is charged: worst case 10·0.16/1.16 + roll 10·0.01', () => {
    const perp = btc.ticker['BTC-PERPETUAL'].mark_price;
    const r = ok(seg.margin({ id: 'hedged', mode: 'portfolio', collateral: { BTC: 10 }, positions: [{ instrument: 'BTC-PERPETUAL', size: -10 * perp }] }));
    const worst = (10 * 0.16) / 1.16;
    expectClose(r.pme![0].worstCase, worst, 1e-12);
    expectClose(r.pme![0].rollShock, 0.1, 1e-12);
    expectClose(r.initialMargin, worst + 0.1, 1e-12);
    expectClose(r.maintenanceMargin, 0.8 * (worst + 0.1), 1e-12);
    expect(r.pme![0].pairs[0].worstCaseBucket).toEqual({ index: 25, source: 'standard', bucket: 9, side: 'right' });
  });

  it('the same positions in coin (deribit-pm) and in USD (deribit-xpm, no balances) differ exactly by the index', () => {
    const positions: PositionInput[] = [
      { instrument: 'BTC-28JUN24-60000-P', size: -25 },
      { instrument: 'BTC-28JUN24-70000-C', size: -10 },
      { instrument: 'BTC-PERPETUAL', size: 300_000 },
      { instrument: 'BTC-28JUN24', size: -120_000 },
    ];
    const a = ok(seg.margin({ id: 'c', mode: 'portfolio', currency: 'BTC', positions }));
    const b = ok(xpm.margin({ id: 'u', mode: 'portfolio', positions }));
    expect(a.initialMargin).toBeGreaterThan(0);
    expect(a.usd!.initialMargin).toBe(a.initialMargin * S);
    expect(a.usd!.maintenanceMargin).toBe(a.maintenanceMargin * S);
    expectClose(b.initialMargin, a.initialMargin * S, 1e-15);
    expectClose(b.maintenanceMargin, a.maintenanceMargin * S, 1e-15);
    expectClose(b.equity, a.equity * S, 1e-12, 1e-9);
  });

  it('deribit-xpm shocks a BTC balance with its price: 10 BTC alone need 10·0.16/0.84 BTC of margin in USD (pnl_offset 0)', () => {
    const r = ok(xpm.margin({ id: 'x', mode: 'portfolio', collateral: { BTC: 10 } }));
    expect(r.currency).toBe('USD');
    expectClose(r.initialMargin, ((10 * 0.16) / 0.84) * S, 1e-12);
    expectClose(r.equity, 10 * S, 1e-15);
  });

  it('a USDC sub-account holding linear BTC options is margined in USDC (= USD)', () => {
    const r = ok(seg.margin({ id: 'lin', mode: 'portfolio', collateral: { USDC: 50_000 }, positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: -2 }] }));
    expect(r.currency).toBe('USDC');
    expect(r.usd!.price).toBe(1);
    // linear perpetual: P&L = q·F·m; worst at +16 %: 2·F·0.16; roll 2·F·0.01 (usd block: min_annualised_move 0.01)
    const F = btc.ticker['BTC-PERPETUAL'].mark_price;
    expectClose(r.initialMargin, 2 * F * 0.16 + 2 * F * 0.01, 1e-12);
  });

  it('rejects what a segregated sub-account cannot hold, naming the field', () => {
    const mixed = seg.margin({ id: 'm', mode: 'portfolio', collateral: { BTC: 1, USDC: 100 } });
    expect(mixed.ok).toBe(false);
    if (!mixed.ok) {
      expect(mixed.error.path).toBe('collateral.USDC');
      expect(mixed.error.message).toMatch(/settles in USDC but the segregated account is in BTC/);
    }
    const eth2 = seg.margin({ id: 'm2', mode: 'portfolio', currency: 'BTC', positions: [{ instrument: 'BTC_USDC-PERPETUAL', size: 1 }] });
    expect(eth2.ok).toBe(false);
    if (!eth2.ok) expect(eth2.error.path).toBe('positions[0].instrument');
    const iso = seg.margin({ id: 'i', mode: 'isolated', collateral: { BTC: 1 } });
    expect(iso.ok).toBe(false);
    if (!iso.ok) expect(iso.error.path).toBe('mode');
  });

  it('the older parameter set stays available and reproducible as deribit-pm-2024.1', () => {
    const m = loadModel('deribit-pm-2024.1');
    expect(m.params.mechanism).toBe('scenario-grid');
    expect(m.params.version).toBe('2024.1');
  });
});
