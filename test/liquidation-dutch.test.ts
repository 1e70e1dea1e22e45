/**
 * Lyra/Derive v2 Dutch auction (src/liquidation/dutch-auction.ts, auction-house.ts) against the
 * numeric asserts of lyra-finance/v2-core's unit and integration tests (commit d69b5577),
 * three ways: the literal asserts of the Solidity tests (cited by file:line), the independent
 * re-derivation in exact rationals by scripts/lyra_auction_expected.py
 * (test/fixtures/lyra_auction_expected.json), and this implementation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { liquidation } from '../src/index.js';
import { loadMechanism } from '../src/liquidation/mechanism.js';

const { dutchAuction } = liquidation;
const fixture = JSON.parse(readFileSync(new URL('./fixtures/lyra_auction_expected.json', import.meta.url), 'utf8')) as {
  cases: { name: string; source: string; expected: number }[];
  pmSimulations: { name: string; t: number; percentWant: number; mtm: number; mm: number; reservedCash: number; bm: number; fMax: number; percent: number; cash: number }[];
};
const expected = (name: string): number => {
  const c = fixture.cases.find((x) => x.name === name);
  if (!c) throw new Error(`fixture case ${name} missing`);
  return c.expected;
};

/** test/config-test.sol:134-144 */
const DEFAULTS = {
  startingMtMPercentage: 1,
  fastAuctionCutoffPercentage: 0.8,
  fastAuctionLength: 600,
  slowAuctionLength: 7200,
  insolventAuctionLength: 600,
  liquidatorFeeRate: 0,
  bufferMarginPercentage: 0.1,
};
const close = (a: number, b: number, tol = 1e-9): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe('Lyra Dutch auction: formulas (DutchAuctionView.t.sol, SolventAuction.t.sol)', () => {
  const da = dutchAuction(DEFAULTS);
  it('discount schedule (DutchAuctionView.t.sol:84,89,94,98)', () => {
    for (const [t, lyra] of [[300, 0.9], [600, 0.8], [960, 0.76], [8160, 0]] as const) {
      close(da.discount(t), lyra);
      close(da.discount(t), expected(`discount defaults t=${t}`));
    }
  });
  it('discount with start 96 %, 300 s fast phase (DutchAuctionView.t.sol:115,120,125,130)', () => {
    const d2 = dutchAuction({ ...DEFAULTS, startingMtMPercentage: 0.96, fastAuctionLength: 300 });
    for (const [t, lyra] of [[0, 0.96], [150, 0.88], [300, 0.8], [6780, 0.08]] as const) {
      close(d2.discount(t), lyra);
      close(d2.discount(t), expected(`discount 0.96/300s t=${t}`));
    }
  });
  it('bid price, max proportion and cash of the default solvent auction MM −100, MtM 300 (SolventAuction.t.sol:46-98)', () => {
    const s = { mm: -100, mtm: 300, reservedCash: 0 };
    expect(da.bufferMargin(s)).toBeCloseTo(-140, 12); // SolventAuction.t.sol:541-542 "buffer margin = -100 - 40 = -140"
    close(da.bidPrice(s, 0), 300); // :46
    expect(Math.floor(da.maxProportion(s, 0) * 1e3)).toBe(318); // :49  maxProportion / 1e15 == 318
    close(da.maxProportion(s, 0), expected('solvent max proportion t=0 (x1e3, floor 318)'));
    close(da.bidPrice(s, 300), 270); // :87
    expect(Math.floor(da.maxProportion(s, 300) * 1e3)).toBe(341); // :90
    const cash = da.bidPrice(s, 300) * da.maxProportion(s, 300);
    expect(Math.floor(cash)).toBe(92); // :98
    close(cash, expected('cash for the max bid t=300 (floor 92)'));
    expect(Math.floor(da.bidPrice(s, 300) * 0.1)).toBe(27); // :121
    close(da.bidPrice({ ...s, mtm: 1000 }, 300) * 0.1, 90); // :194
  });
  it('insolvent bid price (InsolventAuction.t.sol:24,36,49,108,126; AuctionEdgeCases.sol:24-48)', () => {
    const s = { mm: -300, mtm: -100 };
    close(da.insolventBidPrice(s, 0), -100);
    close(-da.insolventBidPrice({ mm: -300, mtm: 100 }, 0), 0);
    close(-da.insolventBidPrice(s, 12) * 0.5, 52);
    close(-da.insolventBidPrice(s, 300), 200);
    close(-da.insolventBidPrice(s, 600), 300);
    expect(da.insolventBidPrice({ mm: 1000, mtm: -100 }, 0)).toBe(0);
    expect(da.insolventBidPrice({ mm: -1000, mtm: 100 }, 0)).toBe(0);
    close(da.insolventBidPrice({ mm: -1000, mtm: -100 }, 0), -100);
    const zero = dutchAuction({ ...DEFAULTS, insolventAuctionLength: 0 });
    close(zero.insolventBidPrice({ mm: -1000, mtm: 100 }, 0), -1000);
  });
  it('every re-derived case of the fixture (scripts/lyra_auction_expected.py) within 1e-12', () => {
    expect(fixture.cases.length).toBeGreaterThan(30);
    close(da.discount(960), expected('discount defaults t=960'), 1e-12);
    close(dutchAuction({ ...DEFAULTS, bufferMarginPercentage: 0.05, startingMtMPercentage: 0.8 }).bufferMargin({ mm: -21.75, mtm: 30 }), expected('SRM: buffer margin (approx -24.33)'), 1e-12);
  });
  it('parameter bounds of setAuctionParams (DutchAuctionView.t.sol:40-65) name the field', () => {
    expect(() => dutchAuction({ ...DEFAULTS, startingMtMPercentage: 1.01 })).toThrow(/startingMtMPercentage/);
    expect(() => dutchAuction({ ...DEFAULTS, startingMtMPercentage: 0.99, fastAuctionCutoffPercentage: 1 })).toThrow(/fastAuctionCutoffPercentage/);
    expect(() => dutchAuction({ ...DEFAULTS, liquidatorFeeRate: 0.11 })).toThrow(/liquidatorFeeRate/);
    expect(() => dutchAuction({ ...DEFAULTS, bufferMarginPercentage: 4.1 })).toThrow(/bufferMarginPercentage/);
    expect(() => dutchAuction({ ...DEFAULTS, liquidatorFeeRate: 0.1 })).not.toThrow();
    expect(() => dutchAuction({ ...DEFAULTS, fastAuctionLength: 'x' })).toThrow(/params.fastAuctionLength must be a finite number, got "x"/);
  });
  it("Solidity's step-wise slow phase: the contract's discount is never below the real one and less than 1/Ts above it", () => {
    for (const p of ['lyra-test-defaults', 'lyra-pm-sim', 'lyra-mainnet']) {
      const m = loadMechanism(p);
      if (m.mechanism !== 'dutch-auction') throw new Error('not an auction');
      const a = dutchAuction(m.auction);
      const Ts = m.auction.slowAuctionLength;
      let maxDiff = 0;
      for (let t = 0; t <= m.auction.fastAuctionLength + Ts + 5; t += 7) {
        const diff = a.solidityDiscount(t) - a.discount(t);
        expect(diff).toBeGreaterThanOrEqual(-1e-15);
        maxDiff = Math.max(maxDiff, diff);
      }
      expect(maxDiff).toBeLessThan(1 / Ts);
      if (p === 'lyra-mainnet') expect(maxDiff).toBeGreaterThan(0.1 / Ts); // cutoff 0.7 × tSlow is rarely an integer
    }
    // the test defaults' asserted points fall on integers of 0.8 × tSlow: both agree exactly (DutchAuctionView.t.sol:94)
    expect(dutchAuction(DEFAULTS).solidityDiscount(960)).toBe(0.76);
  });
});

describe('Lyra Dutch auction: PM liquidation simulations (PM_liquidationSimTests.t.sol, lyra-pm-sim preset)', () => {
  // Lyra's figures (liquidationTests.json, 18 decimals): PreBM, PreFMax, ExpectedBidPrice, asserted at
  // PM_liquidationSimTests.t.sol:76-78 and :95-98 with a tolerance of 1e6 wei
  const lyra: Record<string, [number, number, number]> = {
    'Test1.Actions[0]': [-147570009424790470656e-18, 557941285425569408e-18, 65234608676059463680e-18],
    'Test2.Actions[0]': [-147570009424790470656e-18, 557941285425569408e-18, 5846010178857961472e-18],
    'Test3.Actions[0]': [-147567185154113110016e-18, 571861527362324864e-18, 16571981040952252416e-18],
    'Test4.Actions[0]': [-147567185154113110016e-18, 571861527362324864e-18, 11047987360634836992e-18],
    'Test4.Actions[1]': [-121762479278066974720e-18, 524290585958138816e-18, 11047987360634836992e-18],
    'Test5.Actions[0]': [-175997844127080185856e-18, 648280469348716416e-18, 9548626259588390912e-18],
    'Test5.Actions[1]': [-82808316266041851904e-18, 433401449711588160e-18, 42780683484503875584e-18],
    'Test6.Actions[0]': [-175997844127080185856e-18, 648280469348716416e-18, 9548626259588390912e-18],
    'Test6.Actions[1]': [-74294435474072059904e-18, 400423865535404544e-18, 22599203883285839872e-18],
    'Test6.Actions[2]': [-85098725556266106880e-18, 606027945856190080e-18, 9931675129055612928e-18],
  };
  const m = loadMechanism('lyra-pm-sim');
  if (m.mechanism !== 'dutch-auction') throw new Error('not an auction');
  for (const c of fixture.pmSimulations) {
    it(`${c.name}: buffer margin, max proportion and bid at t = ${c.t} s`, () => {
      const da = dutchAuction(m.auction);
      const s = { mm: c.mm, mtm: c.mtm, reservedCash: c.reservedCash };
      const [bm, fMax, cash] = lyra[c.name];
      close(da.bufferMargin(s), bm, 1e-12);
      close(da.bufferMargin(s), c.bm, 1e-12);
      close(da.maxProportion(s, c.t), fMax, 1e-12);
      close(da.maxProportion(s, c.t), c.fMax, 1e-12);
      const f = Math.min(c.percentWant, da.maxProportion(s, c.t));
      close(da.bidPrice(s, c.t) * f, cash, 1e-12);
      close(da.bidPrice(s, c.t) * f, c.cash, 1e-12);
    });
  }
  it('start fee: fMax(d = 1) × MtM × 2 % (liquidationTests.json:37 LiquidationFee 1.322084630165343)', () => {
    const da = liquidation.dutchAuction(m.auction);
    // the account before the fee: Test1's pre-bid state + the fee it paid (cash)
    const fee = 1.322084630165343;
    const s = { mm: -103090619490529640448e-18 + fee, mtm: 119306330180774723584e-18 + fee };
    close(da.liquidationFee(s), fee, 1e-12);
    const started = da.start('alice', s, 0);
    close(started.fee, fee, 1e-12);
    close(da.securityModuleBalance, fee, 1e-12);
  });
});

describe('Lyra Dutch auction: the stateful auction (start, bid, terminate, convert)', () => {
  const solvent = { mm: -100, mtm: 300 };
  it('a max bid terminates the auction; bidder cash requirement (SolventAuction.t.sol:80-104)', () => {
    const da = dutchAuction(DEFAULTS);
    da.start('alice', solvent, 0);
    expect(() => da.start('alice', solvent, 0)).toThrow(/DA_AuctionAlreadyStarted/); // :73-78
    const r = da.bid('alice', solvent, 1, 300);
    expect(Math.floor(r.finalPercentage * 1e3)).toBe(341);
    expect(Math.floor(r.cashFromBidder)).toBe(92);
    expect(r.cashToBidder).toBe(0);
    expect(r.terminated).toBe(true);
    expect(da.auction('alice')!.ongoing).toBe(false);
    close(r.bidderCashRequired, r.cashFromBidder + 140 * r.finalPercentage); // _ensureBidderCashBalance, DutchAuction.sol:361-366
  });
  it('a lower bid keeps it going; price limit; reserved cash (SolventAuction.t.sol:106-157)', () => {
    const da = dutchAuction(DEFAULTS);
    da.start('alice', solvent, 0);
    expect(() => da.bid('alice', solvent, 0.1, 300, { priceLimit: 10 })).toThrow(/DA_PriceLimitExceeded/); // :129-140
    expect(() => da.bid('alice', solvent, 1.01, 300)).toThrow(/DA_InvalidPercentage/); // :230-237
    expect(() => da.bid('alice', solvent, 1, 300, { bidderCash: 1 })).toThrow(/DA_InsufficientCash/); // :142-154
    const r = da.bid('alice', solvent, 0.1, 300);
    expect(Math.floor(r.cashFromBidder)).toBe(27);
    expect(r.terminated).toBe(false);
    close(da.auction('alice')!.reservedCash, 27);
    // race (SolventAuction.t.sol:159-178): MtM now 270 + 27; the next bidder pays the same for 10/9 of 10 %
    const r2 = da.bid('alice', { mm: -100, mtm: 297 }, 0.1 / 0.9, 300);
    close(r2.cashFromBidder, r.cashFromBidder, 1e-12);
  });
  it('terminate when BM ≥ 0; cannot terminate otherwise; restart insolvent when MtM < 0 (SolventAuction.t.sol:256-263, 371-412)', () => {
    const da = dutchAuction(DEFAULTS);
    da.start('alice', solvent, 0);
    expect(() => da.terminate('alice', solvent, 0)).toThrow(/DA_AuctionCannotTerminate/);
    expect(() => da.bid('alice', { mm: 100, mtm: 300 }, 1, 0)).toThrow(/DA_AuctionShouldBeTerminated/);
    da.terminate('alice', { mm: -100, mtm: -1 }, 0);
    const s = da.start('alice', { mm: -100, mtm: -1 }, 0);
    expect(s.auction.insolvent).toBe(true);
  });
  it('convert to insolvent after the solvent phases; not twice; not while priced; not above MM (SolventAuction.t.sol:283-340)', () => {
    const da = dutchAuction(DEFAULTS);
    da.start('alice', solvent, 0);
    expect(() => da.convert('alice', solvent, 10)).toThrow(/DA_OngoingSolventAuction/);
    expect(da.currentBidPrice('alice', solvent, 7800)).toBe(0);
    expect(() => da.convert('alice', { mm: 1, mtm: 300 }, 7800)).toThrow(/DA_AccountIsAboveMaintenanceMargin/);
    const a = da.convert('alice', solvent, 7800);
    expect(a.insolvent).toBe(true);
    expect(() => da.convert('alice', solvent, 7800)).toThrow(/DA_AuctionAlreadyInInsolvencyMode/);
  });
  it('reserved cash above MtM: terminate to restart, conversion reverts (SolventAuction.t.sol:414-436, 487-532)', () => {
    const da = dutchAuction({ ...DEFAULTS, bufferMarginPercentage: 0, fastAuctionCutoffPercentage: 0.7 });
    da.start('sean', { mm: -10000, mtm: 8000 }, 0);
    expect(da.bid('sean', { mm: -10000, mtm: 8000 }, 0.2, 0).cashFromBidder).toBe(1600); // :513
    close(da.currentBidPrice('sean', { mm: -10000, mtm: 9600 }, 600), 5600); // :521
    expect(() => da.convert('sean', { mm: -10000, mtm: 1000 }, 600)).toThrow(/DA_ReservedCashGreaterThanMtM/);
    expect(da.status('sean', { mm: -10000, mtm: 1000 }, 600).canTerminate).toBe(true);
    da.terminate('sean', { mm: -10000, mtm: 1000 }, 600);
    da.start('sean', { mm: -10000, mtm: -600 }, 600);
    close(da.currentBidPrice('sean', { mm: -10000, mtm: -600 }, 600), -600); // :531
  });
  it('insolvent payouts from the security module, socialised beyond it (InsolventAuction.t.sol:93-131)', () => {
    const da = dutchAuction(DEFAULTS, { securityModuleBalance: 0, withdrawLock: false });
    const s = { mm: -300, mtm: -100 };
    da.start('alice', s, 0);
    const r = da.bid('alice', s, 1, 300);
    close(r.cashToBidder, 200);
    close(r.socialised, 200); // the SM holds nothing: usdcAsset.isSocialized() (:128)
    expect(da.isWithdrawBlocked()).toBe(false); // no SM account (:130)
    const db = dutchAuction(DEFAULTS, { securityModuleBalance: 150 });
    db.start('bob', s, 0);
    const r2 = db.bid('bob', s, 0.5, 12);
    close(r2.cashToBidder, 52);
    close(r2.securityModulePaid, 52);
    close(db.securityModuleBalance, 98);
    expect(() => db.bid('bob', s, 1, 0, { priceLimit: -200 })).toThrow(/DA_PriceLimitExceeded/); // :56-57
  });
  it('withdrawal lock: total insolvent MM above the security module (InsolventAuction.t.sol:133-236)', () => {
    const da = dutchAuction(DEFAULTS, { securityModuleBalance: 0 });
    const s = { mm: -300, mtm: -100 };
    da.start('alice', s, 0);
    expect(da.totalInsolventMM).toBe(300); // :203
    expect(da.isWithdrawBlocked()).toBe(true);
    da.start('bob', s, 0);
    expect(da.totalInsolventMM).toBe(600); // :208
    da.securityModuleBalance = 599;
    expect(da.isWithdrawBlocked()).toBe(true); // :215
    da.securityModuleBalance = 600;
    expect(da.isWithdrawBlocked()).toBe(false); // :217
    da.securityModuleBalance = 0;
    da.terminate('alice', { mm: 100, mtm: -100 }, 0);
    expect(da.isWithdrawBlocked()).toBe(true); // still bob (:229)
    da.terminate('bob', { mm: 100, mtm: -100 }, 0);
    expect(da.isWithdrawBlocked()).toBe(false); // :235
    // a full bid ends the auction and frees the lock (:133-154)
    const dc = dutchAuction(DEFAULTS);
    dc.start('carol', s, 0);
    dc.bid('carol', s, 0.5, 120);
    expect(dc.isWithdrawBlocked()).toBe(true);
    dc.bid('carol', s, 1, 240);
    expect(dc.isWithdrawBlocked()).toBe(false);
  });
  it('SRM integration: 10 % then the capped rest brings BM to 0 (SRM_liquidation.t.sol:217-268)', () => {
    const da = dutchAuction({ ...DEFAULTS, startingMtMPercentage: 0.8, bufferMarginPercentage: 0.05 });
    const s0 = { mm: -21.75, mtm: 30 };
    da.start('acc1', s0, 0);
    expect(Math.floor(da.maxProportion(s0, 0) * 1e4)).toBe(5034); // :255
    const r1 = da.bid('acc1', s0, 0.1, 0);
    // the SRM account (perp + cash) scales by 0.9, the bidder's cash is added
    const req = s0.mtm - s0.mm;
    const mtm1 = 0.9 * s0.mtm + r1.cashFromBidder;
    const s1 = { mm: mtm1 - 0.9 * req, mtm: mtm1 };
    const r2 = da.bid('acc1', s1, 1, 0);
    expect(Math.floor(r2.finalPercentage * 1e4)).toBe(4483); // :264
    close(r2.finalPercentage, expected('SRM: second bidder capped (x1e4 floor 4483)'), 1e-12);
    // buffer margin after: the portfolio scaled by (1 − f), the reserved cash and the new cash kept
    const keep = 1 - r2.finalPercentage;
    const mtm2 = (s1.mtm - r1.cashFromBidder) * keep + r1.cashFromBidder + r2.cashFromBidder;
    const bm2 = da.bufferMargin({ mm: mtm2 - keep * 0.9 * req, mtm: mtm2 });
    expect(Math.abs(bm2)).toBeLessThan(1e-8); // :267 "close to 0"
  });
});
