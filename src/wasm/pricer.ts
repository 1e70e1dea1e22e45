/**
 * Batch pricer over the WASM kernels. Holds preallocated structure-of-arrays
 * regions in WASM memory (grown by doubling when a larger batch arrives) so a
 * warm call allocates nothing on the JS heap.
 *
 * Two ways to call it:
 * - `priceInto(batch, out)`: copies your arrays in and the results out;
 * - `residentBatch(n)` / `residentGreeks()`: views that live in WASM memory —
 *   fill the batch in place and read results in place, no copies at all. They
 *   stay valid until the next call that needs a larger capacity.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { Region, WasmInstance, sharedInstance, type WasmOptions, type WasmVariant } from './module.js';
import { GREEK_FIELDS, type GreeksBatch, type OptionBatch } from '../pricing/types.js';

interface Buffers {
  capacity: number;
  forward: Region<'f64'>;
  strike: Region<'f64'>;
  vol: Region<'f64'>;
  t: Region<'f64'>;
  rate: Region<'f64'>;
  flags: Region<'u8'>;
  price: Region<'f64'>;
  delta: Region<'f64'>;
  gamma: Region<'f64'>;
  vega: Region<'f64'>;
  theta: Region<'f64'>;
  rho: Region<'f64'>;
  vanna: Region<'f64'>;
  volga: Region<'f64'>;
}

export interface PricerOptions extends WasmOptions {
  /** Use this instance instead of the process-wide one (each worker thread passes its own). */
  instance?: WasmInstance;
  /** Initial capacity in options (grows as needed). */
  capacity?: number;
}

export class Pricer {
  readonly instance: WasmInstance;
  private buf!: Buffers;
  private resident?: { batch: OptionBatch; greeks: GreeksBatch; buf: Buffers };

  constructor(options: PricerOptions = {}) {
    this.instance = options.instance ?? sharedInstance(options);
    const capacity = options.capacity ?? 1024;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `capacity must be a positive integer, got ${capacity}`);
    }
    this.reserve(capacity);
  }

  get variant(): WasmVariant {
    return this.instance.variant;
  }

  /** Ensures room for n options (allocates only when n exceeds the capacity; doubles). */
  reserve(n: number): void {
    if (this.buf && n <= this.buf.capacity) return;
    const capacity = Math.max(n, this.buf ? this.buf.capacity * 2 : n);
    const w = this.instance;
    this.buf = {
      capacity,
      forward: w.alloc('f64', capacity),
      strike: w.alloc('f64', capacity),
      vol: w.alloc('f64', capacity),
      t: w.alloc('f64', capacity),
      rate: w.alloc('f64', capacity),
      flags: w.alloc('u8', capacity),
      price: w.alloc('f64', capacity),
      delta: w.alloc('f64', capacity),
      gamma: w.alloc('f64', capacity),
      vega: w.alloc('f64', capacity),
      theta: w.alloc('f64', capacity),
      rho: w.alloc('f64', capacity),
      vanna: w.alloc('f64', capacity),
      volga: w.alloc('f64', capacity),
    };
    this.resident = undefined;
  }

  /** An OptionBatch whose arrays live in WASM memory (length set to n). Fill it, then call priceInto with it: no copy. */
  residentBatch(n: number): OptionBatch {
    this.reserve(n);
    const r = this.residentViews();
    r.batch.length = n;
    return r.batch;
  }

  /** Results of the last priceInto / priceOnlyInto on the resident buffers. */
  residentGreeks(): GreeksBatch {
    return this.residentViews().greeks;
  }

  private residentViews(): { batch: OptionBatch; greeks: GreeksBatch; buf: Buffers } {
    const b = this.buf;
    const r = this.resident;
    // Views are rebuilt when memory grew (the old ArrayBuffer is detached).
    if (r && r.buf === b && r.batch.forward.buffer === this.instance.memory.buffer) return r;
    this.resident = {
      buf: b,
      batch: {
        length: 0,
        forward: b.forward.view,
        strike: b.strike.view,
        vol: b.vol.view,
        t: b.t.view,
        rate: b.rate.view,
        flags: b.flags.view,
      },
      greeks: {
        price: b.price.view,
        delta: b.delta.view,
        gamma: b.gamma.view,
        vega: b.vega.view,
        theta: b.theta.view,
        rho: b.rho.view,
        vanna: b.vanna.view,
        volga: b.volga.view,
      },
    };
    return this.resident;
  }

  private load(batch: OptionBatch): number {
    const n = batch.length;
    this.reserve(n);
    const r = this.residentViews();
    if (batch.forward !== r.batch.forward) {
      copyIn(r.batch.forward, batch.forward, n);
      copyIn(r.batch.strike, batch.strike, n);
      copyIn(r.batch.vol, batch.vol, n);
      copyIn(r.batch.t, batch.t, n);
      copyIn(r.batch.rate, batch.rate, n);
      copyIn(r.batch.flags, batch.flags, n);
    }
    return n;
  }

  /**
   * Price and all seven Greeks of batch.length options into `out` (which may be
   * residentGreeks()). Inputs must be valid (see validate.ts); the kernels do not check.
   */
  priceInto(batch: OptionBatch, out: GreeksBatch): void {
    const n = this.load(batch);
    const b = this.buf;
    this.instance.exports.black76Greeks(
      n, b.forward.ptr, b.strike.ptr, b.vol.ptr, b.t.ptr, b.rate.ptr, b.flags.ptr,
      b.price.ptr, b.delta.ptr, b.gamma.ptr, b.vega.ptr, b.theta.ptr, b.rho.ptr, b.vanna.ptr, b.volga.ptr,
    );
    const r = this.resident!;
    if (out.price !== r.greeks.price) {
      for (const f of GREEK_FIELDS) copyOut(out[f], r.greeks[f], n);
    }
  }

  /** Price only (the scenario-revaluation path): identical prices to priceInto, bit for bit, at a fraction of the cost. */
  priceOnlyInto(batch: OptionBatch, out: Float64Array): void {
    const n = this.load(batch);
    const b = this.buf;
    this.instance.exports.black76Price(n, b.forward.ptr, b.strike.ptr, b.vol.ptr, b.t.ptr, b.rate.ptr, b.flags.ptr, b.price.ptr);
    const price = this.resident!.greeks.price;
    if (out !== price) copyOut(out, price, n);
  }
}

function copyIn<T extends Float64Array | Uint8Array>(dst: T, src: T, n: number): void {
  dst.set(src.length === n ? src : (src.subarray(0, n) as T));
}

function copyOut(dst: Float64Array, src: Float64Array, n: number): void {
  dst.set(src.length === n ? src : src.subarray(0, n));
}

const pricers = new Map<WasmVariant, Pricer>();
/** The process-wide pricer of a variant (SIMD when supported unless `{ simd: false }`). */
export function getPricer(options: WasmOptions = {}): Pricer {
  const inst = sharedInstance(options);
  let p = pricers.get(inst.variant);
  if (!p) {
    p = new Pricer({ instance: inst });
    pricers.set(inst.variant, p);
  }
  return p;
}
