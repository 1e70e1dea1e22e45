/**
 * Insurance fund, socialised loss and ADL rankings (src/liquidation/shortfall.ts), checked by hand
 * from the published formulas (sources in presets/liquidation/okx-tiered-adl.json, binance-adl.json).
 */
import { describe, expect, it } from 'vitest';
import { liquidation } from '../src/index.js';

const { InsuranceFund, socialiseLoss, okxAdlRank, binanceAdlRank, adlQueue, allocateAdl } = liquidation;

describe('insurance fund and socialised loss', () => {
  it('fees in, deficits covered up to the balance', () => {
    const f = new InsuranceFund(100);
    f.deposit(25);
    expect(f.cover(60)).toEqual({ covered: 60, uncovered: 0 });
    expect(f.cover(100)).toEqual({ covered: 65, uncovered: 35 });
    expect(f.balance).toBe(0);
    expect(f.feesIn).toBe(25);
    expect(f.paidOut).toBe(125);
    expect(() => f.deposit(-1)).toThrow(/fee must be >= 0, got -1/);
  });
  it('loss shared pro rata to profit (OKX: ratio = loss / total net profit), never more than the profit', () => {
    const w = [{ id: 'a', profit: 300 }, { id: 'b', profit: 100 }, { id: 'c', profit: -50 }];
    const s = socialiseLoss(40, w);
    expect(s.charges.get('a')).toBeCloseTo(30, 12); // 40 × 300/400
    expect(s.charges.get('b')).toBeCloseTo(10, 12);
    expect(s.charges.has('c')).toBe(false);
    expect(s.unrecovered).toBe(0);
    const big = socialiseLoss(1000, w);
    expect(big.recovered).toBe(400);
    expect(big.unrecovered).toBe(600);
  });
});

describe('ADL rankings', () => {
  // a long 2 BTC entered at 50 000, mark 60 000: uPnL 20 000, notional 120 000; wallet 10 000 → equity 30 000; MM 1 200
  const c = { id: 'x', upnl: 20_000, entryNotional: 100_000, notional: 120_000, equity: 30_000, mm: 1_200 };
  it('OKX leverage PnL% = PnL% × effective leverage; losses divided', () => {
    expect(okxAdlRank(c)).toBeCloseTo(0.2 * 4, 12); // PnL% 20 000/100 000, leverage 120 000/30 000
    expect(okxAdlRank({ ...c, upnl: -5_000, equity: 5_000 })).toBeCloseTo(-0.05 / 24, 12);
  });
  it('Binance LeveragePnl = max(0, uPnL)/max(1, wallet) × MM/(wallet + uPnL)', () => {
    expect(binanceAdlRank(c)).toBeCloseTo((20_000 / 10_000) * (1_200 / 30_000), 12);
    expect(binanceAdlRank({ ...c, upnl: -100, equity: 9_900 })).toBe(0);
    expect(binanceAdlRank({ ...c, equity: -1 })).toBe(0);
  });
  it('queue: highest first, ties by id; fills pro rata to the notional taken at the bankruptcy price', () => {
    const cands = [
      { ...c, id: 'b' },
      { ...c, id: 'a' },
      { ...c, id: 'lo', upnl: 1_000, entryNotional: 100_000, notional: 101_000 },
    ];
    expect(adlQueue('okx', cands).map((q) => q.id)).toEqual(['a', 'b', 'lo']);
    const r = allocateAdl('okx', 3_000, 200_000, cands);
    expect(r.fills.map((f) => [f.id, f.notional, f.charge])).toEqual([
      ['a', 120_000, 1_800],
      ['b', 80_000, 1_200],
    ]);
    expect(r.unrecovered).toBe(0);
    const short = allocateAdl('binance', 3_000, 1_000_000, cands);
    expect(short.recovered).toBeCloseTo((3_000 * 341_000) / 1_000_000, 9);
    expect(short.unrecovered).toBeCloseTo(3_000 - short.recovered, 9);
  });
});
