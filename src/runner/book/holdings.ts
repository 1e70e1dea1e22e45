/**
 * The holdings of sub-accounts being resolved (accounts.ts), before the rows lay them out
 * (rows.ts): per holding its instrument, size and — for an inverse future's coin leg entered at
 * mark — its original position; per sub-account where its holdings end.
 */
import { F64, I32, claim, reserve } from './arrays.js';

/** Holdings of sub-accounts being resolved (before their rows are laid out). */
export class Holdings {
  /** instrument (its underlying slot is the instruments' `slot`: not stored per holding), size */
  instr = new I32(64);
  size = new F64(64);
  /** original position of an inverse future's coin leg entered at mark (its size follows F), else −1 */
  leg = new I32(64);
  /** sub-account l owns holdings [end[l−1], end[l]) (end[−1] = 0) */
  end = new I32(64);
  /** the arrays with one entry per holding */
  private readonly columns = [this.instr, this.size, this.leg];
  /** Appends a holding (room reserved: `reserve`). */
  put(i: number, q: number, leg: number): void {
    this.instr.put(i);
    this.size.put(q);
    this.leg.put(leg);
  }
  /**
   * Up to `holds` holdings to write straight into the arrays from the index returned, in reserved
   * room (arrays.ts claim); `written` then sets where they end.
   */
  claim(holds: number): number {
    const at = claim(this.instr, holds);
    claim(this.size, holds);
    claim(this.leg, holds);
    return at;
  }
  /** The holdings claimed end at h (the room after it stays reserved). */
  written(h: number): void {
    this.instr.n = this.size.n = this.leg.n = h;
  }
  /** Room for `holds` more holdings and `subs` more sub-accounts (arrays.ts reserve). */
  reserve(holds: number, subs: number): void {
    for (const g of this.columns) reserve(g, holds);
    reserve(this.end, subs);
  }
  truncate(nHold: number, nSubs: number): void {
    this.instr.n = this.size.n = this.leg.n = nHold;
    this.end.n = nSubs;
  }
}
