// The book's equity parts (runner/book/parts.ts): part q is the sum, in position order from +0,
// of the values of its positions [partOpStart[q], partOpStart[q+1]) of opInstr / opSize — the
// same doubles, bit for bit, as the reference runner/book/equity.ts partSum, whose arithmetic
// (instruments/valuation.ts markValue, futuresValue) this follows operation for operation: WASM
// f64 arithmetic is IEEE-754 with no contraction, so each product, quotient and sum rounds as
// it does in JS. Both builds run this one scalar loop (a part's sum is one dependent chain).
//
// opInstr[p] is the instrument i, or ~i when the position has an entry price (the next of
// opEntry, from partEntryStart[q]). Per instrument: flags (bit 0: valued from its entry price
// — futures and perpetuals; bit 1: inverse), contract size, forward, index, unit value.

const FROM_ENTRY: u8 = 1;
const INVERSE: u8 = 2;

/** instruments/valuation.ts futuresValue. */
// @ts-ignore: decorator
@inline
function futuresValue(flags: u8, cs: f64, F: f64, S: f64, unitValue: f64, size: f64, entry: f64): f64 {
  if (flags & INVERSE) return ((size * cs) / entry) * S + size * unitValue;
  return size * cs * (F - entry);
}

/** out[k] = the sum of part parts[k], k in [0, nParts). */
export function partSums(
  nParts: i32,
  parts: usize,
  partOpStart: usize,
  partEntryStart: usize,
  opInstr: usize,
  opSize: usize,
  opEntry: usize,
  flags: usize,
  cs: usize,
  forward: usize,
  spot: usize,
  unitValue: usize,
  out: usize,
): void {
  for (let k: usize = 0; k < <usize>nParts; k++) {
    let q = <usize>load<i32>(parts + (k << 2));
    let p0 = <usize>load<i32>(partOpStart + (q << 2));
    let p1 = <usize>load<i32>(partOpStart + ((q + 1) << 2));
    let e = <usize>load<i32>(partEntryStart + (q << 2));
    let v = 0.0;
    for (let p = p0; p < p1; p++) {
      let x = load<i32>(opInstr + (p << 2));
      let size = load<f64>(opSize + (p << 3));
      let i = <usize>(x < 0 ? ~x : x);
      let f = load<u8>(flags + i);
      let uv = load<f64>(unitValue + (i << 3));
      if ((f & FROM_ENTRY) == 0) {
        if (x < 0) e++; // an entry price given to a position valued at mark: skipped, as the reference does
        v += size * uv; // markValue: most positions (options)
        continue;
      }
      let F = load<f64>(forward + (i << 3));
      let entry = F; // entered at mark
      if (x < 0) entry = load<f64>(opEntry + ((e++) << 3));
      v += futuresValue(f, load<f64>(cs + (i << 3)), F, load<f64>(spot + (i << 3)), uv, size, entry);
    }
    store<f64>(out + (k << 3), v);
  }
}
