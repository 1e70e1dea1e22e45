/**
 * A double's shortest round-trip text written straight into bytes: the same bytes as `String(x)`
 * (ECMA-262 Number::toString: the fewest digits that read back as x, the closest such digits to
 * x, then fixed or exponential notation by the decimal exponent), with no string made on the
 * way for the doubles a book's figures are made of.
 *
 * How: x ∈ [1e-8, 1e15) is scaled by an exact power of ten to X = x·10^s ∈ [10^14, 10^15), as an
 * exact double-double (Dekker's product: hi + lo = x·10^s exactly). The round-trip interval of
 * x scales to X ± the scaled half-ulp (a quarter-ulp below a power of two): 0.011 to 0.23 wide
 * in all (0.0055 to 0.111 each side). So it holds at most one integer, and a multiple of 0.01
 * (except possibly at a power of two, whose narrower lower side can miss one: then the fallback
 * below writes it): the shortest digits are the integer in it (trailing zeros dropped), else the
 * closest multiple of 0.1 in it, else the closest multiple of 0.01 (17 digits). Distances are measured in
 * hundredths with an error below 1e-13; whenever a decision lies within 1e-9 of its threshold
 * (a candidate on the interval's edge, two candidates equally close) — and for 0, non-finite
 * values and magnitudes outside the range — the text is `String(x)` itself. The test
 * (test/number-text.test.ts) checks the bytes against `String(x)` on random doubles of every
 * kind and the edge cases.
 */

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Dekker's split of each power of ten (high part; the low part is p − high) */
const POW10_HI: readonly number[] = POW10.map((p) => {
  const t = 134217729 * p;
  return t - (t - p);
});
const EPS = 1e-9;
const bits = new Float64Array(2);
const words = new Uint32Array(bits.buffer);
/** the digits of the chosen decimal, most significant first (at most 18) */
const digits = new Uint8Array(20);

/** Writes String(x)'s text (ASCII) at b[at…]; returns the end. `b` must have room for 25 bytes. */
export function writeNumber(b: Uint8Array, at: number, x: number): number {
  if (x < 0) {
    b[at++] = 45; // '-': String(−x) is '-' + String(x) for every x ≠ 0
    x = -x;
  }
  if (!(x >= 1e-8 && x < 1e15 && shortestDecimal(x))) return writeAscii(b, at, String(x));
  const n = (chosen[0] >= 1e15 ? 16 : 15) - chosen[3]; // value = 0.d1d2… × 10^n
  if (n >= 1) return writeFixed(b, at, n);
  if (n > -6) return writeBelowOne(b, at, n);
  return writeNotation(b, at, digitsOf(), n);
}

/**
 * The decimal shortestDecimal chose: (whole + frac / 10^fracDigits) / 10^scale,
 * whole of 15 digits (16 when it is 10^15), frac of fracDigits (0–2) digits.
 */
const chosen = new Float64Array(4); // whole, frac, frac digits, scale (a typed array: no number boxed per store)

/**
 * The shortest round-trip decimal of x ∈ [1e-8, 1e15) (into chosen); false when a decision is
 * too close to call (the caller then writes String(x)).
 */
function shortestDecimal(x: number): boolean {
  bits[0] = x;
  const e = (words[1] >>> 20) & 0x7ff;
  // x ∈ [2^(e−1023), 2^(e−1022)): its decimal exponent is floor((e − 1023)·log10 2) or one more
  let s = 14 - Math.floor((e - 1023) * 0.3010299956639812);
  let hi = x * POW10[s];
  if (hi >= 1e15) hi = x * POW10[--s];
  if (s < 0 || s > 22 || !(hi >= 1e14 && hi < 1e15)) return false;
  const p = POW10[s];
  const ph = POW10_HI[s];
  const pl = p - ph;
  const t = 134217729 * x;
  const xh = t - (t - x);
  const xl = x - xh;
  const lo = xh * ph - hi + xh * pl + xl * ph + xl * pl;
  let whole = Math.floor(hi);
  // the fraction X − whole, in hundredths
  let g = (hi - whole) * 100 + lo * 100;
  if (g < 0) {
    whole -= 1;
    g += 100;
  } else if (g >= 100) {
    whole += 1;
    g -= 100;
  }
  if (whole < 1e14) return false;
  words[3] = (e - 52) << 20; // bits[1] = ulp(x) = 2^(e − 1075), a normal double for x ≥ 1e-8
  words[2] = 0;
  const up = bits[1] * p * 50; // half an ulp of x, scaled (exact), in hundredths
  const down = (words[1] & 0xfffff) === 0 && words[0] === 0 ? up / 2 : up;
  return chooseDigits(whole, g, down, up, s);
}

/** 1: distance d is inside the half-width h; 0: outside; −1: too close to call. */
function inside(d: number, h: number): number {
  return d < h - EPS ? 1 : d > h + EPS ? 0 : -1;
}

/**
 * Picks the shortest decimal in [whole + g/100 − down/100, … + up/100] (the closest one of its
 * length) as the chosen decimal; false when too close to call.
 */
function chooseDigits(whole: number, g: number, down: number, up: number, s: number): boolean {
  const atWhole = inside(g, down);
  const atNext = inside(100 - g, up);
  if (atWhole < 0 || atNext < 0) return false;
  if (atWhole > 0 || atNext > 0) return choose(atWhole > 0 ? whole : whole + 1, 0, 0, s);
  let t10 = Math.floor(g / 10);
  if (10 * t10 > g) t10--; // g / 10 rounded up to an integer
  const c10 = closest(g - 10 * t10, 10 * t10 + 10 - g, down, up);
  if (c10 < 0) return false;
  if (c10 > 0) return choose(whole, c10 === 1 ? t10 : t10 + 1, 1, s);
  const t100 = Math.floor(g);
  const c100 = closest(g - t100, t100 + 1 - g, down, up);
  return c100 > 0 && choose(whole, c100 === 1 ? t100 : t100 + 1, 2, s);
}

function choose(whole: number, frac: number, fracDigits: number, s: number): boolean {
  chosen[0] = whole;
  chosen[1] = frac;
  chosen[2] = fracDigits;
  chosen[3] = s;
  return true;
}

/** Of the candidates below (at distance a) and above (b): 1 below, 2 above, 0 neither, −1 too close to call. */
function closest(a: number, b: number, down: number, up: number): number {
  const ia = inside(a, down);
  const ib = inside(b, up);
  if (ia < 0 || ib < 0) return -1;
  if (ia > 0 && ib > 0) return Math.abs(a - b) <= EPS ? -1 : a < b ? 1 : 2;
  return ia > 0 ? 1 : ib > 0 ? 2 : 0;
}

/** The chosen decimal's digits into `digits`, trailing zeros dropped; returns their count. */
function digitsOf(): number {
  const whole = chosen[0] >= 1e15 ? 16 : 15;
  const n = putDigits(digits, whole, chosen[0], whole);
  const end = putFrac(digits, n);
  return trimZeros(digits, 0, end);
}

/** The digits of v (an integer < 2^53) right-aligned to end at b[end − 1], exactly `count` of them (leading zeros); returns end. */
function putDigits(b: Uint8Array, end: number, v: number, count: number): number {
  let i = end;
  const stop = end - count;
  while (v >= 2147483648) {
    const q = Math.floor(v / 1e8);
    let low = (v - q * 1e8) | 0;
    for (let j = 0; j < 8; j++) {
      const d = (low / 10) | 0;
      b[--i] = 48 + low - d * 10;
      low = d;
    }
    v = q;
  }
  let w = v | 0;
  while (i > stop) {
    const d = (w / 10) | 0;
    b[--i] = 48 + w - d * 10;
    w = d;
  }
  return end;
}

/** The chosen fraction digits at b[at…]; returns the end. */
function putFrac(b: Uint8Array, at: number): number {
  const f = chosen[1];
  if (chosen[2] === 2) {
    const d = (f / 10) | 0;
    b[at++] = 48 + d;
    b[at++] = 48 + f - d * 10;
  } else if (chosen[2] === 1) b[at++] = 48 + f;
  return at;
}

/** The end of b[from, end) with its trailing zeros dropped. */
function trimZeros(b: Uint8Array, from: number, end: number): number {
  while (end > from && b[end - 1] === 48) end--;
  return end;
}

/** Fixed notation of a value ≥ 1 (n integer digits): integer part, then '.' and the fraction unless it is all zeros. */
function writeFixed(b: Uint8Array, at: number, n: number): number {
  const s = chosen[3];
  const p = POW10[s];
  const ip = Math.floor(chosen[0] / p); // exact: the quotient is at least 10^-s from the next integer
  const point = putDigits(b, at + n, ip, n);
  b[point] = 46; // '.'
  const end = putFrac(b, putDigits(b, point + 1 + s, chosen[0] - ip * p, s));
  const last = trimZeros(b, point + 1, end);
  return last === point + 1 ? point : last;
}

/** Fixed notation of a value below 1: "0." then −n zeros, then the digits (n ∈ (−6, 0]). */
function writeBelowOne(b: Uint8Array, at: number, n: number): number {
  b[at++] = 48;
  b[at++] = 46;
  for (let i = n; i < 0; i++) b[at++] = 48;
  const whole = chosen[0] >= 1e15 ? 16 : 15;
  return trimZeros(b, at, putFrac(b, putDigits(b, at + whole, chosen[0], whole)));
}

/** Number::toString's notation of digits[0…k) × 10^(n−k): fixed for −6 < n ≤ 21, else exponential. */
function writeNotation(b: Uint8Array, at: number, k: number, n: number): number {
  if (k <= n && n <= 21) {
    for (let i = 0; i < k; i++) b[at++] = digits[i];
    for (let i = k; i < n; i++) b[at++] = 48;
    return at;
  }
  if (0 < n && n <= 21) {
    for (let i = 0; i < n; i++) b[at++] = digits[i];
    b[at++] = 46;
    for (let i = n; i < k; i++) b[at++] = digits[i];
    return at;
  }
  if (-6 < n && n <= 0) {
    b[at++] = 48;
    b[at++] = 46;
    for (let i = n; i < 0; i++) b[at++] = 48;
    for (let i = 0; i < k; i++) b[at++] = digits[i];
    return at;
  }
  b[at++] = digits[0];
  if (k > 1) {
    b[at++] = 46;
    for (let i = 1; i < k; i++) b[at++] = digits[i];
  }
  b[at++] = 101; // 'e'
  b[at++] = n - 1 < 0 ? 45 : 43;
  return writeAscii(b, at, String(Math.abs(n - 1)));
}

/** An ASCII string's bytes at b[at…]; returns the end. */
export function writeAscii(b: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[at++] = s.charCodeAt(i);
  return at;
}
