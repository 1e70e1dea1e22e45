/**
 * Exact floating-point sums: a running sum kept as non-overlapping partials (Shewchuk, "Adaptive
 * Precision Floating-Point Arithmetic and Fast Robust Geometric Predicates", 1997: grow-expansion
 * by two-sum), rounded once to the nearest double with ties to even, as Python's `math.fsum` does
 * (CPython Modules/mathmodule.c, including its half-way correction).
 *
 * The rounded value is the correctly rounded exact sum, so it does not depend on the order of the
 * terms nor on how they were grouped: partial expansions computed on separate machines and merged
 * (`addExpansion`) give the same double as one pass. The book VaR nets each instrument's holdings
 * with it (risk/book-var.ts nettedBook), which is what lets a distributed run (src/cluster) give
 * the same bytes as a local one. Finite inputs only (sizes are validated finite).
 */
export class ExactSum {
  /** non-overlapping partials, increasing magnitude */
  readonly partials: number[] = [];

  add(x: number): void {
    const p = this.partials;
    let i = 0;
    for (let j = 0; j < p.length; j++) {
      let y = p[j];
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p.length = i;
    p.push(x);
  }

  /** Adds another sum's partials (exact: the merged sum rounds as if every term had been added here). */
  addExpansion(partials: ArrayLike<number>): void {
    for (let j = 0; j < partials.length; j++) this.add(partials[j]);
  }

  /** The exact sum rounded to the nearest double (ties to even). */
  value(): number {
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // the rest is below half an ulp of hi, unless lo sits exactly half-way and the next partial pushes it over
    if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}
