/**
 * Typed wrapper over the VaR tail kernel (assembly/tail.ts): accounts' P&L vectors aggregated
 * from revalued instruments and reduced to their m smallest entries with scenario indices.
 * Owns its Regions in one WasmInstance (one per worker thread, or the main thread's), grows them
 * by doubling, keeps the values matrix resident while its key is unchanged; callers hand in plain
 * typed arrays (or SharedArrayBuffer views) and get plain typed arrays back.
 */
import type { Region } from './module.js';
import { WasmInstance } from './module.js';

export interface TailInput {
  /** CSR: account a owns positions [accStart[a] − accStart[0], accStart[a+1] − accStart[0]) of instr/size */
  accStart: Int32Array;
  instr: Int32Array;
  size: Float64Array;
}

export class TailKernel {
  readonly instance: WasmInstance;
  private acc: Region<'i32'>;
  private instr: Region<'i32'>;
  private size: Region<'f64'>;
  private values: Region<'f64'>;
  private row: Region<'f64'>;
  private outVal: Region<'f64'>;
  private outIdx: Region<'i32'>;
  private valuesKey: unknown = undefined;

  constructor(instance: WasmInstance) {
    this.instance = instance;
    this.acc = instance.alloc('i32', 1025);
    this.instr = instance.alloc('i32', 16384);
    this.size = instance.alloc('f64', 16384);
    this.values = instance.alloc('f64', 1 << 16);
    this.row = instance.alloc('f64', 1024);
    this.outVal = instance.alloc('f64', 1 << 14);
    this.outIdx = instance.alloc('i32', 1 << 14);
  }


  /** Makes `values` (nInstruments × nScen) resident; `key` identifies its content (same key: no copy). */
  setValues(values: Float64Array, key: unknown): void {
    if (key !== undefined && key === this.valuesKey && values.length <= this.values.capacity) return;
    this.values = this.instance.room(this.values, values.length);
    this.values.view.set(values);
    this.valuesKey = key;
  }

  /**
   * The m smallest P&L entries (ascending, ties by scenario index) of each account of `input`
   * into outVal / outIdx (nAcc × m). The values matrix must be resident (setValues).
   */
  tails(input: TailInput, nScen: number, m: number, outVal: Float64Array, outIdx: Int32Array): void {
    const nAcc = input.accStart.length - 1;
    const base = input.accStart[0];
    const nPos = input.accStart[nAcc] - base;
    this.acc = this.instance.room(this.acc, nAcc + 1);
    this.instr = this.instance.room(this.instr, nPos);
    this.size = this.instance.room(this.size, nPos);
    this.row = this.instance.room(this.row, nScen);
    this.outVal = this.instance.room(this.outVal, nAcc * m);
    this.outIdx = this.instance.room(this.outIdx, nAcc * m);
    const acc = this.acc.view;
    for (let a = 0; a <= nAcc; a++) acc[a] = input.accStart[a] - base;
    this.instr.view.set(input.instr.subarray(base, base + nPos));
    this.size.view.set(input.size.subarray(base, base + nPos));
    this.instance.exports.aggregateTails(nAcc, nScen, this.acc.ptr, this.instr.ptr, this.size.ptr, this.values.ptr, m, this.row.ptr, this.outVal.ptr, this.outIdx.ptr);
    outVal.set(this.outVal.view.subarray(0, nAcc * m));
    outIdx.set(this.outIdx.view.subarray(0, nAcc * m));
  }
}
