// The book's equities (runner/book/equity.ts, the reference: the same doubles, bit for bit, whose
// arithmetic — instruments/valuation.ts markValue, futuresValue, collateralValue, sumParts — this
// follows operation for operation: WASM f64 arithmetic is IEEE-754 with no contraction, so each
// product, quotient and sum rounds as it does in JS). Both builds run these scalar loops (a sum
// is one dependent chain).
//
// Part q is the sum, in position order from +0, of the values of its positions
// [partOpStart[q], partOpStart[q+1]) of opInstr / opSize. opInstr[p] is the instrument i, or ~i
// when the position has an entry price (the next of opEntry, from partEntryStart[q]). Per
// instrument: flags (bit 0: valued from its entry price — futures and perpetuals; bit 1:
// inverse), contract size, forward, index, unit value.
//
// A sub-account's equity is its collateral lines' values after haircut, then its parts (in
// order); an account's collateral value is its sub-account's lines (pooled) or its account-level
// lines (isolated: then each of its sub-accounts' equities).
//
// The arrays' pointers come in a frame (an i32 array the host writes before each call: wasm/equity.ts
// EquityKernel, slots in the order of `Slot`), bound to the globals below.

const FROM_ENTRY: u8 = 1;
const INVERSE: u8 = 2;
const POOLED: u8 = 1;

/** Slots of the frame (wasm/equity.ts FRAME_SLOTS: the same order). */
const enum Slot {
  PartOpStart, PartEntryStart, OpInstr, OpSize, OpEntry,
  Flags, Cs, Forward, Spot, UnitValue,
  PartSlot, PartValue, SubPartStart, SubColFrom, SubColTo,
  AccKind, AccSubFrom, AccSubTo, AccColFrom, AccColTo,
  ColCur, ColAmount, CurPrice, CurHaircut, Moved,
  OutAcc, OutAccCv, OutSub, OutSubEquity, OutPart,
  NOutAcc, NOutSub, NOutPart,
}

let partOpStart: usize = 0;
let partEntryStart: usize = 0;
let opInstr: usize = 0;
let opSize: usize = 0;
let opEntry: usize = 0;
let flags: usize = 0;
let cs: usize = 0;
let forward: usize = 0;
let spot: usize = 0;
let unitValue: usize = 0;
let partSlot: usize = 0;
let partValue: usize = 0;
let subPartStart: usize = 0;
let subColFrom: usize = 0;
let subColTo: usize = 0;
let colCur: usize = 0;
let colAmount: usize = 0;
let curPrice: usize = 0;
let curHaircut: usize = 0;
let moved: usize = 0;
let outSub: usize = 0;
let outSubEquity: usize = 0;
let outPart: usize = 0;
let nOutSub: usize = 0;
let nOutPart: usize = 0;

// @ts-ignore: decorator
@inline
function at(frame: usize, s: Slot): usize {
  return <usize>load<i32>(frame + (<usize>s << 2));
}

// @ts-ignore: decorator
@inline
function i32At(a: usize, k: usize): usize {
  return <usize>load<i32>(a + (k << 2));
}

/** Binds the positions' and instruments' pointers of the frame. */
function bindParts(frame: usize): void {
  partOpStart = at(frame, Slot.PartOpStart);
  partEntryStart = at(frame, Slot.PartEntryStart);
  opInstr = at(frame, Slot.OpInstr);
  opSize = at(frame, Slot.OpSize);
  opEntry = at(frame, Slot.OpEntry);
  flags = at(frame, Slot.Flags);
  cs = at(frame, Slot.Cs);
  forward = at(frame, Slot.Forward);
  spot = at(frame, Slot.Spot);
  unitValue = at(frame, Slot.UnitValue);
}

/** instruments/valuation.ts futuresValue. */
// @ts-ignore: decorator
@inline
function futuresValue(f: u8, cs: f64, F: f64, S: f64, unitValue: f64, size: f64, entry: f64): f64 {
  if (f & INVERSE) return ((size * cs) / entry) * S + size * unitValue;
  return size * cs * (F - entry);
}

/**
 * The value of part q (runner/book/equity.ts partSum). A position at mark given no entry price
 * (most: options) takes one test on its word first; the others are resolved after.
 */
function partSum(q: usize): f64 {
  let p1 = i32At(partOpStart, q + 1);
  let e = i32At(partEntryStart, q);
  let v = 0.0;
  for (let p = i32At(partOpStart, q); p < p1; p++) {
    let x = load<i32>(opInstr + (p << 2));
    let size = load<f64>(opSize + (p << 3));
    if (x >= 0) {
      if ((load<u8>(flags + <usize>x) & FROM_ENTRY) == 0) {
        v += size * load<f64>(unitValue + (<usize>x << 3)); // markValue
        continue;
      }
    }
    let i = <usize>(x < 0 ? ~x : x);
    let f = load<u8>(flags + i);
    let uv = load<f64>(unitValue + (i << 3));
    if ((f & FROM_ENTRY) == 0) {
      e++; // x < 0: an entry price given to a position valued at mark, skipped as the reference does
      v += size * uv; // markValue
      continue;
    }
    let F = load<f64>(forward + (i << 3));
    let entry = F; // entered at mark
    if (x < 0) entry = load<f64>(opEntry + ((e++) << 3));
    v += futuresValue(f, load<f64>(cs + (i << 3)), F, load<f64>(spot + (i << 3)), uv, size, entry);
  }
  return v;
}

/** out[k] = the sum of part parts[k], k in [0, nParts). */
export function partSums(frame: usize, nParts: i32, parts: usize, out: usize): void {
  bindParts(frame);
  for (let k: usize = 0; k < <usize>nParts; k++) store<f64>(out + (k << 3), partSum(i32At(parts, k)));
}

/** Collateral line c's value after haircut (runner/book/equity.ts lineValue: valuation.ts collateralValue). */
// @ts-ignore: decorator
@inline
function lineValue(c: usize): f64 {
  let cur = i32At(colCur, c);
  let amount = load<f64>(colAmount + (c << 3));
  let price = load<f64>(curPrice + (cur << 3));
  return amount > 0 ? amount * price * (1 - load<f64>(curHaircut + (cur << 3))) : amount * price;
}

/** Σ lines [from, to) from +0. */
function linesValue(from: usize, to: usize): f64 {
  let cv = 0.0;
  for (let c = from; c < to; c++) cv += lineValue(c);
  return cv;
}

/**
 * Sub-account j's equity (its parts on moved slots re-summed into partValue first, listed in
 * outPart), listed in outSub / outSubEquity; returns its collateral value.
 */
function subEquity(j: usize): f64 {
  let cv = linesValue(i32At(subColFrom, j), i32At(subColTo, j));
  let from = i32At(subPartStart, j);
  let to = i32At(subPartStart, j + 1);
  for (let q = from; q < to; q++) {
    if (load<u8>(moved + i32At(partSlot, q)) == 0) continue;
    store<f64>(partValue + (q << 3), partSum(q));
    store<i32>(outPart + (nOutPart++ << 2), <i32>q);
  }
  let equity = cv;
  for (let q = from; q < to; q++) equity += load<f64>(partValue + (q << 3));
  store<i32>(outSub + (nOutSub << 2), <i32>j);
  store<f64>(outSubEquity + (nOutSub << 3), equity);
  nOutSub++;
  return cv;
}

/**
 * The equities of accounts list[0, nList) on the current instruments (runner/book/equity.ts
 * accountEquity; those of kind 0 skipped): each account's collateral value listed in outAcc /
 * outAccCv, its sub-accounts' equities and the parts re-summed as subEquity lists them; the
 * three counts written back to the frame.
 */
export function accountEquities(frame: usize, nList: i32, list: usize): void {
  bindParts(frame);
  partSlot = at(frame, Slot.PartSlot);
  partValue = at(frame, Slot.PartValue);
  subPartStart = at(frame, Slot.SubPartStart);
  subColFrom = at(frame, Slot.SubColFrom);
  subColTo = at(frame, Slot.SubColTo);
  colCur = at(frame, Slot.ColCur);
  colAmount = at(frame, Slot.ColAmount);
  curPrice = at(frame, Slot.CurPrice);
  curHaircut = at(frame, Slot.CurHaircut);
  moved = at(frame, Slot.Moved);
  outSub = at(frame, Slot.OutSub);
  outSubEquity = at(frame, Slot.OutSubEquity);
  outPart = at(frame, Slot.OutPart);
  let accKind = at(frame, Slot.AccKind);
  let accSubFrom = at(frame, Slot.AccSubFrom);
  let accSubTo = at(frame, Slot.AccSubTo);
  let accColFrom = at(frame, Slot.AccColFrom);
  let accColTo = at(frame, Slot.AccColTo);
  let outAcc = at(frame, Slot.OutAcc);
  let outAccCv = at(frame, Slot.OutAccCv);
  nOutSub = 0;
  nOutPart = 0;
  let nAcc: usize = 0;
  for (let t: usize = 0; t < <usize>nList; t++) {
    let k = i32At(list, t);
    let kind = load<u8>(accKind + k);
    if (kind == 0) continue;
    let cv = 0.0;
    if (kind == POOLED) cv = subEquity(i32At(accSubFrom, k));
    else {
      cv = linesValue(i32At(accColFrom, k), i32At(accColTo, k));
      for (let j = i32At(accSubFrom, k), end = i32At(accSubTo, k); j < end; j++) subEquity(j);
    }
    store<i32>(outAcc + (nAcc << 2), <i32>k);
    store<f64>(outAccCv + (nAcc << 3), cv);
    nAcc++;
  }
  store<i32>(frame + (<usize>Slot.NOutAcc << 2), <i32>nAcc);
  store<i32>(frame + (<usize>Slot.NOutSub << 2), <i32>nOutSub);
  store<i32>(frame + (<usize>Slot.NOutPart << 2), <i32>nOutPart);
}
