/**
 * The partial sums of the book's equities. A sub-account's original positions are stored grouped
 * by underlying, the groups in the order of the underlyings' names (instruments/valuation.ts
 * underlyingOrder, the equity's one rule), each group in input order: one *part* per underlying,
 * a contiguous range of the positions, whose summed value it keeps (computed by equity.ts). A tick
 * re-sums only the parts on its moved underlyings, reading only their positions; an account's
 * equity is its collateral value plus its parts (sumParts): the same double as a fresh load's.
 * The holdings (rows.ts) stay in input order; `inputOp` gives a grouped sub-account's positions in
 * input order (what an in-place edit matches against: edit.ts).
 *
 * Sub-accounts are appended in order (a load, then trades), so the parts of sub-account j are
 * [subStart[j], subStart[j+1]) and part q's positions [opStart[q], opStart[q+1]). The arrays the
 * tick's chunks read or write are shared.
 */
import { underlyingOrder } from '../../instruments/valuation.js';
import { F64, I32, claim, reserve } from './arrays.js';
import { growPlain } from '../../platform/typed.js';

/** Where the parts' arrays stood (a rollback point: an account that fails to resolve leaves nothing). */
export interface PartsMark {
  subs: number;
  parts: number;
  input: number;
}

export class EquityParts {
  /** per sub-account: its first part (one more entry than sub-accounts) */
  readonly subStart = new I32(1024, true);
  /** per part: its underlying slot, its value (USD: the sum of its positions' values), its first position, its first entry price (in the entries of the positions that have one) */
  readonly slot = new I32(1024, true);
  readonly value = new F64(1024, true);
  readonly opStart = new I32(1024, true);
  readonly entryStart = new I32(1024, true);
  /** per sub-account: where its positions' input order starts in inputOp, or −1 when it is their stored order (one part or none) */
  readonly subInput = new I32();
  /** positions (stored index) of grouped sub-accounts, in input order */
  readonly inputOp = new I32();
  /** the arrays with at most one entry per position (a part holds one or more positions) */
  private readonly perPosition = [this.slot, this.value, this.opStart, this.entryStart, this.inputOp];
  /** scratch: a sub-account's distinct slots; its positions' instruments; stored order → input position */
  private slots = new Int32Array(8);
  private instr = new Int32Array(64);
  private order = new Int32Array(64);

  constructor() {
    this.subStart.push(0);
    this.opStart.push(0); // one more entry than parts: the last is one past the last position
  }

  /** Room for `positions` more positions in `subs` more sub-accounts (arrays.ts reserve). */
  reserve(positions: number, subs: number): void {
    for (const g of this.perPosition) reserve(g, positions); // at most one part per position
    reserve(this.subStart, subs);
    reserve(this.subInput, subs);
  }

  /** Scratch for a sub-account's n positions' instruments (table indices), to fill before `group`. */
  instruments(n: number): Int32Array {
    if (this.instr.length < n) {
      this.instr = new Int32Array(Math.max(n, 2 * this.instr.length));
      this.order = new Int32Array(this.instr.length);
    }
    return this.instr;
  }

  /**
   * The stored order of a sub-account's n positions (instruments in `instruments(n)`; instrument i
   * on slot slotOf[i], named names[slot]): order[s] = the input position stored s-th; null when
   * it is the input order (one underlying, or none).
   */
  group(n: number, slotOf: Int32Array, names: readonly string[]): Int32Array | null {
    const { instr } = this;
    let m = 0;
    for (let t = 0; t < n; t++) {
      const s = slotOf[instr[t]];
      let u = 0;
      while (u < m && this.slots[u] !== s) u++;
      if (u < m) continue;
      if (m === this.slots.length) this.slots = growPlain(this.slots, m + 1);
      this.slots[m++] = s;
    }
    if (m < 2) return null;
    underlyingOrder(this.slots, m, names);
    let k = 0;
    for (let u = 0; u < m; u++) for (let t = 0; t < n; t++) if (slotOf[instr[t]] === this.slots[u]) this.order[k++] = t;
    return this.order;
  }

  /** Records the input order of the next sub-account's positions, stored from op0 in `order` (group's), or none (null). */
  addInput(order: Int32Array | null, n: number, op0: number): void {
    if (order === null) {
      this.subInput.put(-1);
      return;
    }
    this.subInput.put(this.inputOp.n);
    const at = claim(this.inputOp, n);
    for (let s = 0; s < n; s++) this.inputOp.a[at + order[s]] = op0 + s;
  }

  /**
   * Appends the parts of the next sub-account, whose positions (stored grouped) are [from, to) of
   * opInstr (instrument, or its complement when the position has an entry price; the first entry
   * is entryFrom); instrument i is on slot slotOf[i].
   */
  addSub(opInstr: Int32Array, from: number, to: number, entryFrom: number, slotOf: Int32Array): void {
    let prev = -1;
    let e = entryFrom;
    for (let p = from; p < to; p++) {
      const x = opInstr[p];
      const s = slotOf[x < 0 ? ~x : x];
      if (s !== prev) {
        this.opStart.a[this.slot.n] = p;
        this.slot.put(s);
        this.value.put(0);
        this.opStart.put(to);
        this.entryStart.put(e);
        prev = s;
      }
      if (x < 0) e++;
    }
    this.subStart.put(this.slot.n);
  }

  mark(): PartsMark {
    return { subs: this.subStart.n, parts: this.slot.n, input: this.inputOp.n };
  }

  /** Back to mark m, when the positions stored were nOps. */
  rollback(m: PartsMark, nOps: number): void {
    this.subStart.n = m.subs;
    this.subInput.n = m.subs - 1;
    this.slot.n = this.value.n = this.entryStart.n = m.parts;
    this.opStart.n = m.parts + 1;
    this.opStart.a[m.parts] = nOps;
    this.inputOp.n = m.input;
  }
}
