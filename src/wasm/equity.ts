/**
 * Typed wrapper over the equity-parts kernel (assembly/equity.ts): the sums of a book's equity
 * parts (runner/book/parts.ts) over positions resident in one WasmInstance (one per worker
 * thread, or the main thread's) — the positions copied once per load, then only what trades
 * appended and what edits changed (`ResidentPositions`, like the CSR of aggregate.ts), the
 * instruments' values copied per call. Same doubles as runner/book/equity.ts partSum, the
 * reference. Callers hand in typed arrays (shared views) and get the sums back in theirs.
 */
import type { Region } from './module.js';
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

export class EquityKernel {
  readonly instance: WasmInstance;
  private opInstr: Region<'i32'>;
  private opSize: Region<'f64'>;
  private opEntry: Region<'f64'>;
  private partOpStart: Region<'i32'>;
  private partEntryStart: Region<'i32'>;
  private flags: Region<'u8'>;
  private cs: Region<'f64'>;
  private forward: Region<'f64'>;
  private spot: Region<'f64'>;
  private unitValue: Region<'f64'>;
  private parts: Region<'i32'>;
  private out: Region<'f64'>;
  /** the resident copy: key, counts copied, edits copied */
  private key: string | null = null;
  private nOps = 0;
  private nEntries = 0;
  private nParts = 0;
  private nEdit = 0;

  constructor(instance: WasmInstance) {
    this.instance = instance;
    const w = instance;
    this.opInstr = w.alloc('i32', 1024);
    this.opSize = w.alloc('f64', 1024);
    this.opEntry = w.alloc('f64', 1024);
    this.partOpStart = w.alloc('i32', 1024);
    this.partEntryStart = w.alloc('i32', 1024);
    this.flags = w.alloc('u8', 1024);
    this.cs = w.alloc('f64', 1024);
    this.forward = w.alloc('f64', 1024);
    this.spot = w.alloc('f64', 1024);
    this.unitValue = w.alloc('f64', 1024);
    this.parts = w.alloc('i32', 1024);
    this.out = w.alloc('f64', 1024);
  }


  /**
   * Makes the book's positions resident: everything when the key is new or a region is too
   * small (then with the shared arrays' capacity: room for trades), else what was appended
   * since the last sync (the parts from the last copied one: its end moves as parts follow) and
   * the sizes edited since.
   */
  sync(b: ResidentPositions): void {
    const full =
      b.key !== this.key ||
      b.nOps > Math.min(this.opInstr.capacity, this.opSize.capacity) ||
      b.nEntries > this.opEntry.capacity ||
      b.nParts + 1 > Math.min(this.partOpStart.capacity, this.partEntryStart.capacity + 1);
    const ops0 = full ? 0 : this.nOps;
    const entries0 = full ? 0 : this.nEntries;
    const parts0 = full ? 0 : this.nParts;
    if (full) {
      this.opInstr = this.instance.room(this.opInstr, b.opInstr.length);
      this.opSize = this.instance.room(this.opSize, b.opSize.length);
      this.opEntry = this.instance.room(this.opEntry, b.opEntry.length);
      this.partOpStart = this.instance.room(this.partOpStart, b.partOpStart.length);
      this.partEntryStart = this.instance.room(this.partEntryStart, b.partEntryStart.length);
    }
    this.opInstr.view.set(b.opInstr.subarray(ops0, b.nOps), ops0);
    this.opSize.view.set(b.opSize.subarray(ops0, b.nOps), ops0);
    this.opEntry.view.set(b.opEntry.subarray(entries0, b.nEntries), entries0);
    this.partOpStart.view.set(b.partOpStart.subarray(parts0, b.nParts + 1), parts0);
    this.partEntryStart.view.set(b.partEntryStart.subarray(parts0, b.nParts), parts0);
    const size = this.opSize.view;
    for (let k = full ? b.nEdit : this.nEdit; k < b.nEdit; k++) size[b.edits[k]] = b.opSize[b.edits[k]];
    this.key = b.key;
    this.nOps = b.nOps;
    this.nEntries = b.nEntries;
    this.nParts = b.nParts;
    this.nEdit = b.nEdit;
  }

  /** The instruments' current values (a tick's marks), copied in: the index of each instrument's underlying slot is read once here. */
  setInstruments(ins: PartInstruments): void {
    const n = ins.n;
    this.flags = this.instance.room(this.flags, n);
    this.cs = this.instance.room(this.cs, n);
    this.forward = this.instance.room(this.forward, n);
    this.spot = this.instance.room(this.spot, n);
    this.unitValue = this.instance.room(this.unitValue, n);
    const flags = this.flags.view;
    const spot = this.spot.view;
    for (let i = 0; i < n; i++) {
      flags[i] = (ins.fromEntry[i] ? 1 : 0) | (ins.inverse[i] ? 2 : 0);
      spot[i] = ins.slotSpot[ins.slot[i]];
    }
    this.cs.view.set(ins.cs.subarray(0, n));
    this.forward.view.set(ins.forward.subarray(0, n));
    this.unitValue.view.set(ins.unitValue.subarray(0, n));
  }

  /** value[parts[k]] = the sum of part parts[k] for k in [0, n), on the resident positions (sync) and instruments (setInstruments). */
  partSums(parts: Int32Array, n: number, value: Float64Array): void {
    if (n <= 0) return;
    this.parts = this.instance.room(this.parts, n);
    this.out = this.instance.room(this.out, n);
    this.parts.view.set(parts.subarray(0, n));
    this.instance.exports.partSums(
      n, this.parts.ptr, this.partOpStart.ptr, this.partEntryStart.ptr, this.opInstr.ptr, this.opSize.ptr, this.opEntry.ptr,
      this.flags.ptr, this.cs.ptr, this.forward.ptr, this.spot.ptr, this.unitValue.ptr, this.out.ptr,
    );
    const out = this.out.view;
    for (let k = 0; k < n; k++) value[parts[k]] = out[k];
  }
}
