/**
 * Typed wrapper over the equity kernels (assembly/equity.ts): the sums of a book's equity parts
 * (runner/book/parts.ts) and its accounts' equities, over positions and accounts resident in one
 * WasmInstance (one per worker thread, or the main thread's) — copied once per load, then only
 * what trades appended and what in-place edits changed (`ResidentPositions`, `ResidentAccounts`,
 * like the CSR of aggregate.ts); the instruments' values, the currencies' prices and the parts'
 * kept sums copied per call. Same doubles as runner/book/equity.ts (partSum, accountEquity: the
 * reference). Callers hand in typed arrays (shared views) and get the results back in theirs.
 */
import type { Region, RegionKind } from './module.js';
import { WasmInstance } from './module.js';

/** The book's positions as parts.ts stores them (shared arrays of BookAccounts), and what changed since a copy. */
export interface ResidentPositions {
  /** identity of the positions: a new key (a new load, or an edit log restarted) copies everything */
  key: string;
  /** positions [0, nOps): instrument (~instrument when it has an entry price), size; entry prices [0, nEntries) */
  opInstr: Int32Array;
  opSize: Float64Array;
  opEntry: Float64Array;
  nOps: number;
  nEntries: number;
  /** parts [0, nParts): first position (one more entry: one past the last position), first entry price */
  partOpStart: Int32Array;
  partEntryStart: Int32Array;
  nParts: number;
  /** positions whose size was edited in place since the load, in edit order: edits[0..nEdit) */
  edits: Int32Array;
  nEdit: number;
}

/** The instruments' arrays a part's value reads (runner/book/equity.ts EquityArrays extends them). */
export interface PartInstrumentArrays {
  /** per instrument: 1 when valued from its entry price (valuedFromEntry of its kind), else 0 */
  fromEntry: Uint8Array;
  /** per instrument: inverse flag, underlying slot, contract size, forward (USD), unit value (USD per unit) */
  inverse: Uint8Array;
  slot: Int32Array;
  cs: Float64Array;
  forward: Float64Array;
  unitValue: Float64Array;
  /** index price per underlying slot, USD */
  slotSpot: Float64Array;
}

/** Those arrays for the instruments [0, n). */
export interface PartInstruments extends PartInstrumentArrays {
  n: number;
}

/**
 * The book's accounts as BookAccounts stores them (shared arrays), beyond their parts' positions:
 * what an account's equity reads, and what changed since a copy.
 */
export interface ResidentAccounts {
  /** identity: a new key (a new load, or an edit log restarted) copies everything */
  key: string;
  /** per account [0, accColFrom.length): account-level collateral lines [accColFrom, accColTo) (an isolated account's) */
  accColFrom: Int32Array;
  accColTo: Int32Array;
  /** per sub-account [0, nSubs): first part (one more entry: one past its last part), collateral lines [subColFrom, subColTo) */
  subPartStart: Int32Array;
  subColFrom: Int32Array;
  subColTo: Int32Array;
  nSubs: number;
  /** per part [0, nParts): underlying slot */
  partSlot: Int32Array;
  nParts: number;
  /** collateral lines [0, nLines): currency index, amount */
  colCur: Int32Array;
  colAmount: Float64Array;
  nLines: number;
  /** since the load, in order: accounts whose record (below, and accColFrom / accColTo) changed, accEdits[0..nAccEdit); lines whose amount was edited in place, lineEdits[0..nLineEdit) */
  accEdits: Int32Array;
  nAccEdit: number;
  lineEdits: Int32Array;
  nLineEdit: number;
}

/** Each account's record (kind: 0 none — skipped —, 1 pooled, 2 isolated; sub-accounts [accSubFrom, accSubTo)) and where its equities go (measures/grid/reduce.ts ReduceArrays). */
export interface AccountRecords {
  accKind: Uint8Array;
  accSubFrom: Int32Array;
  accSubTo: Int32Array;
  /** written: per sub-account its equity, per account its collateral value */
  subEquity: Float64Array;
  accCv: Float64Array;
}

/** Per collateral currency: USD price of a unit, haircut. */
export interface CurrencyPrices {
  price: Float64Array;
  haircut: Float64Array;
}

/** Slots of the frame of pointers the kernels read (assembly/equity.ts Slot: the same order). */
const enum Slot {
  PartOpStart, PartEntryStart, OpInstr, OpSize, OpEntry,
  Flags, Cs, Forward, Spot, UnitValue,
  PartSlot, PartValue, SubPartStart, SubColFrom, SubColTo,
  AccKind, AccSubFrom, AccSubTo, AccColFrom, AccColTo,
  ColCur, ColAmount, CurPrice, CurHaircut, Moved,
  OutAcc, OutAccCv, OutSub, OutSubEquity, OutPart,
  NOutAcc, NOutSub, NOutPart,
  Count,
}

type Typed = Int32Array | Float64Array | Uint8Array;

export class EquityKernel {
  readonly instance: WasmInstance;
  /** the frame (Slot) and every region it points at, by slot */
  private readonly frame: Region<'i32'>;
  private readonly regions: Region[] = [];
  /** the accounts or parts of a call, and partSums' results */
  private list: Region<'i32'>;
  private out: Region<'f64'>;
  /** the resident copies: keys, counts copied, edits copied */
  private key: string | null = null;
  private nOps = 0;
  private nEntries = 0;
  private nParts = 0;
  private nEdit = 0;
  private accKey: string | null = null;
  private nAccParts = 0;
  private nSubs = 0;
  private nLines = 0;
  private nAccEdit = 0;
  private nLineEdit = 0;

  constructor(instance: WasmInstance) {
    this.instance = instance;
    this.frame = instance.alloc('i32', Slot.Count);
    const kinds: Record<number, RegionKind> = { [Slot.Flags]: 'u8', [Slot.AccKind]: 'u8', [Slot.Moved]: 'u8' };
    const f64 = [Slot.OpSize, Slot.OpEntry, Slot.Cs, Slot.Forward, Slot.Spot, Slot.UnitValue, Slot.PartValue, Slot.ColAmount, Slot.CurPrice, Slot.CurHaircut, Slot.OutAccCv, Slot.OutSubEquity];
    for (const s of f64) kinds[s] = 'f64';
    for (let s = 0; s < Slot.NOutAcc; s++) this.regions[s] = instance.alloc(kinds[s] ?? 'i32', 1024);
    this.list = instance.alloc('i32', 1024);
    this.out = instance.alloc('f64', 1024);
  }

  /** The region of slot s with room for n elements (its contents kept only when it had the room). */
  private room(s: Slot, n: number): Region {
    return (this.regions[s] = this.instance.room(this.regions[s], n));
  }

  /** Copies src[from, to) into slot s's region at from; `full`: the region first given room for all of src (its capacity: room for trades). */
  private copy(s: Slot, src: Typed, from: number, to: number, full: boolean): void {
    if (full) this.room(s, src.length);
    (this.regions[s].view as Typed).set(src.subarray(from, to), from);
  }

  /** Whether n elements fit in each of these slots' regions. */
  private fits(n: number, ...slots: Slot[]): boolean {
    return slots.every((s) => n <= this.regions[s].capacity);
  }

  /**
   * Makes the book's positions resident: everything when the key is new or a region is too
   * small (then with the shared arrays' capacity: room for trades), else what was appended
   * since the last sync (the parts from the last copied one: its end moves as parts follow) and
   * the sizes edited since.
   */
  sync(b: ResidentPositions): void {
    const full =
      b.key !== this.key || !this.fits(b.nOps, Slot.OpInstr, Slot.OpSize) || !this.fits(b.nEntries, Slot.OpEntry) ||
      !this.fits(b.nParts + 1, Slot.PartOpStart) || !this.fits(b.nParts, Slot.PartEntryStart);
    const ops0 = full ? 0 : this.nOps;
    const parts0 = full ? 0 : this.nParts;
    this.copy(Slot.OpInstr, b.opInstr, ops0, b.nOps, full);
    this.copy(Slot.OpSize, b.opSize, ops0, b.nOps, full);
    this.copy(Slot.OpEntry, b.opEntry, full ? 0 : this.nEntries, b.nEntries, full);
    this.copy(Slot.PartOpStart, b.partOpStart, parts0, b.nParts + 1, full);
    this.copy(Slot.PartEntryStart, b.partEntryStart, parts0, b.nParts, full);
    const size = this.regions[Slot.OpSize].view;
    for (let k = full ? b.nEdit : this.nEdit; k < b.nEdit; k++) size[b.edits[k]] = b.opSize[b.edits[k]];
    this.key = b.key;
    this.nOps = b.nOps;
    this.nEntries = b.nEntries;
    this.nParts = b.nParts;
    this.nEdit = b.nEdit;
  }

  /**
   * Makes the book's accounts resident (as `sync` its positions): everything on a new key or when
   * a region is too small, else what was appended, the records of the accounts logged since and
   * the amounts of the lines logged since.
   */
  syncAccounts(a: ResidentAccounts, rec: AccountRecords): void {
    const nAcc = a.accColFrom.length;
    const full =
      a.key !== this.accKey || !this.fits(nAcc, Slot.AccKind, Slot.AccSubFrom, Slot.AccSubTo, Slot.AccColFrom, Slot.AccColTo) ||
      !this.fits(a.nSubs + 1, Slot.SubPartStart) || !this.fits(a.nSubs, Slot.SubColFrom, Slot.SubColTo) ||
      !this.fits(a.nParts, Slot.PartSlot) || !this.fits(a.nLines, Slot.ColCur, Slot.ColAmount);
    const subs0 = full ? 0 : this.nSubs;
    const lines0 = full ? 0 : this.nLines;
    this.copy(Slot.PartSlot, a.partSlot, full ? 0 : this.nAccParts, a.nParts, full);
    this.copy(Slot.SubPartStart, a.subPartStart, subs0, a.nSubs + 1, full);
    this.copy(Slot.SubColFrom, a.subColFrom, subs0, a.nSubs, full);
    this.copy(Slot.SubColTo, a.subColTo, subs0, a.nSubs, full);
    this.copy(Slot.ColCur, a.colCur, lines0, a.nLines, full);
    this.copy(Slot.ColAmount, a.colAmount, lines0, a.nLines, full);
    const records: [Slot, Typed][] = [[Slot.AccKind, rec.accKind], [Slot.AccSubFrom, rec.accSubFrom], [Slot.AccSubTo, rec.accSubTo], [Slot.AccColFrom, a.accColFrom], [Slot.AccColTo, a.accColTo]];
    for (const [s, src] of records) {
      if (full) this.copy(s, src, 0, nAcc, true);
      else for (let t = this.nAccEdit, v = this.regions[s].view; t < a.nAccEdit; t++) v[a.accEdits[t]] = src[a.accEdits[t]];
    }
    const amount = this.regions[Slot.ColAmount].view;
    for (let t = full ? a.nLineEdit : this.nLineEdit; t < a.nLineEdit; t++) amount[a.lineEdits[t]] = a.colAmount[a.lineEdits[t]];
    this.accKey = a.key;
    this.nAccParts = a.nParts;
    this.nSubs = a.nSubs;
    this.nLines = a.nLines;
    this.nAccEdit = a.nAccEdit;
    this.nLineEdit = a.nLineEdit;
  }

  /** The instruments' current values (a tick's marks), copied in: the index of each instrument's underlying slot is read once here. */
  setInstruments(ins: PartInstruments): void {
    const n = ins.n;
    for (const s of [Slot.Flags, Slot.Spot, Slot.Cs, Slot.Forward, Slot.UnitValue]) this.room(s, n);
    const flags = this.regions[Slot.Flags].view; // views taken after every allocation: a growth of memory detaches the earlier ones
    const spot = this.regions[Slot.Spot].view;
    for (let i = 0; i < n; i++) {
      flags[i] = (ins.fromEntry[i] ? 1 : 0) | (ins.inverse[i] ? 2 : 0);
      spot[i] = ins.slotSpot[ins.slot[i]];
    }
    this.regions[Slot.Cs].view.set(ins.cs.subarray(0, n));
    this.regions[Slot.Forward].view.set(ins.forward.subarray(0, n));
    this.regions[Slot.UnitValue].view.set(ins.unitValue.subarray(0, n));
  }

  /** The frame: every region's pointer (after all allocations of the call: a region may have moved). */
  private writeFrame(): number {
    const f = this.frame.view;
    for (let s = 0; s < Slot.NOutAcc; s++) f[s] = this.regions[s].ptr;
    return this.frame.ptr;
  }

  /** value[parts[k]] = the sum of part parts[k] for k in [0, n), on the resident positions (sync) and instruments (setInstruments). */
  partSums(parts: Int32Array, n: number, value: Float64Array): void {
    if (n <= 0) return;
    this.list = this.instance.room(this.list, n);
    this.out = this.instance.room(this.out, n);
    this.list.view.set(parts.subarray(0, n));
    this.instance.exports.partSums(this.writeFrame(), n, this.list.ptr, this.out.ptr);
    const out = this.out.view;
    for (let k = 0; k < n; k++) value[parts[k]] = out[k];
  }

  /**
   * The equities of accounts list[0, n) (runner/book/equity.ts accountEquity) on the resident
   * positions and accounts (sync, syncAccounts) and instruments (setInstruments): the parts on
   * `moved` slots (1 per slot) re-summed into partValue, the others read from it; each
   * sub-account's equity into rec.subEquity, each account's collateral value into rec.accCv.
   */
  accountEquities(list: Int32Array, n: number, moved: Uint8Array, cur: CurrencyPrices, partValue: Float64Array, rec: AccountRecords): void {
    if (n <= 0) return;
    const nParts = this.nAccParts;
    this.list = this.instance.room(this.list, n);
    this.room(Slot.OutAcc, n);
    this.room(Slot.OutAccCv, n);
    this.room(Slot.OutSub, this.nSubs);
    this.room(Slot.OutSubEquity, this.nSubs);
    this.room(Slot.OutPart, nParts);
    this.room(Slot.PartValue, nParts);
    this.room(Slot.Moved, moved.length);
    this.room(Slot.CurPrice, cur.price.length);
    this.room(Slot.CurHaircut, cur.haircut.length);
    const v = (s: Slot) => this.regions[s].view as Typed;
    this.list.view.set(list.subarray(0, n));
    v(Slot.PartValue).set(partValue.subarray(0, nParts));
    v(Slot.Moved).set(moved);
    v(Slot.CurPrice).set(cur.price);
    v(Slot.CurHaircut).set(cur.haircut);
    this.instance.exports.accountEquities(this.writeFrame(), n, this.list.ptr);
    this.scatter(rec, partValue);
  }

  /** Writes the kernel's results where they belong: accounts' collateral values, sub-accounts' equities, re-summed parts. */
  private scatter(rec: AccountRecords, partValue: Float64Array): void {
    const f = this.frame.view;
    const v = (s: Slot) => this.regions[s].view;
    const acc = v(Slot.OutAcc) as Int32Array;
    const cv = v(Slot.OutAccCv) as Float64Array;
    for (let t = 0, n = f[Slot.NOutAcc]; t < n; t++) rec.accCv[acc[t]] = cv[t];
    const sub = v(Slot.OutSub) as Int32Array;
    const eq = v(Slot.OutSubEquity) as Float64Array;
    for (let t = 0, n = f[Slot.NOutSub]; t < n; t++) rec.subEquity[sub[t]] = eq[t];
    const part = v(Slot.OutPart) as Int32Array;
    const value = v(Slot.PartValue) as Float64Array;
    for (let t = 0, n = f[Slot.NOutPart]; t < n; t++) partValue[part[t]] = value[part[t]];
  }
}
