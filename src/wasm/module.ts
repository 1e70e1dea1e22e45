/**
 * The one WASM boundary (in the style of hash-wasm's WASMInterface and
 * @chainsafe/as-sha256's wasm.ts): this module owns compilation,
 * instantiation, linear memory, the bump allocator and typed views that are
 * refreshed after memory growth. Everything above it (pricing engine, margin
 * grid, book engine) works with `Region`s and typed arrays, never raw pointers
 * arithmetic of its own.
 *
 * Two builds of the same AssemblyScript source ship in build/: the SIMD one
 * (f64x2) and a scalar fallback. The SIMD build is used when the runtime
 * validates it (`WebAssembly.validate`), unless forced by `{ simd: false }`.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { fileExists, findPackageRoot, packagePath, readBytes } from '../platform/files.js';

export { findPackageRoot };

/**
 * The parts of WebAssembly.Memory this package uses. Declared here so that the published type
 * declarations do not depend on the DOM lib or on a recent @types/node for WebAssembly types.
 */
export interface KernelMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** A compiled kernel module (a WebAssembly.Module), shareable with worker threads. Opaque to callers. */
export type CompiledKernels = object;

export interface KernelExports {
  memory: KernelMemory;
  heapBase(): number;
  simdBuild(): number;
  black76Greeks(
    n: number, pF: number, pK: number, pVol: number, pT: number, pR: number, pFlags: number,
    price: number, delta: number, gamma: number, vega: number, theta: number, rho: number, vanna: number, volga: number,
  ): void;
  black76Price(n: number, pF: number, pK: number, pVol: number, pT: number, pR: number, pFlags: number, price: number): void;
  aggregateAccounts(nAcc: number, nScen: number, accStart: number, posInstr: number, posSize: number, riskArrays: number, out: number): void;
  addPosition(nScen: number, pnl: number, riskArrays: number, instr: number, size: number): void;
  worstLoss(nAcc: number, nScen: number, pnl: number, weights: number, outLoss: number, outIndex: number): void;
  /** aggregateAccounts then worstLoss row by row, each P&L vector summed into `row` (one vector's room) and reduced there */
  aggregateWorst(nAcc: number, nScen: number, accStart: number, posInstr: number, posSize: number, riskArrays: number, weights: number, row: number, outLoss: number, outIndex: number): void;
  /** VaR tails (assembly/tail.ts): aggregate each account's P&L vector and keep its m smallest entries with their scenarios */
  aggregateTails(nAcc: number, nScen: number, accStart: number, posInstr: number, posSize: number, values: number, m: number, row: number, outVal: number, outIdx: number): void;
  /** equity parts (assembly/equity.ts; `frame`: the arrays' pointers, wasm/equity.ts): out[k] = the sum of part parts[k] over its positions */
  partSums(frame: number, nParts: number, parts: number, out: number): void;
  /** equities of the accounts list[0, nList) (assembly/equity.ts), listed in the frame's outputs */
  accountEquities(frame: number, nList: number, list: number): void;
  /** accuracy-test exports of the scalar elementary functions */
  elemExp(x: number): number;
  elemLog(x: number): number;
  elemNormTail(x: number): number;
}

export type WasmVariant = 'simd' | 'scalar';

export interface WasmOptions {
  /** true: require the SIMD build; false: force the scalar build; undefined: SIMD when the runtime supports it. */
  simd?: boolean;
}

const compiled = new Map<WasmVariant, CompiledKernels>();

/** Bytes of a build, or where to fetch them (a URL: fetched with the platform's fetch). */
export type KernelSource = Uint8Array | ArrayBuffer | URL | string;

async function sourceBytes(src: KernelSource): Promise<Uint8Array<ArrayBuffer>> {
  // a view on a SharedArrayBuffer is copied: WebAssembly.compile takes ArrayBuffer-backed bytes
  if (src instanceof Uint8Array) return src.buffer instanceof ArrayBuffer ? (src as Uint8Array<ArrayBuffer>) : new Uint8Array(src);
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  const res = await fetch(src);
  if (!res.ok) throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `cannot fetch the kernels from ${String(src)}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Compiles the kernels asynchronously from bytes or a URL and registers them: the way to load
 * them in a browser or a Web Worker (before the first pricing or margin call). In Node this is
 * optional: without it the build is read from the package's build/ folder on first use.
 * A SIMD build the runtime cannot validate is skipped (the scalar one is used).
 */
export async function initKernels(sources: { simd?: KernelSource; scalar?: KernelSource }): Promise<WasmVariant[]> {
  const loaded: WasmVariant[] = [];
  for (const variant of ['simd', 'scalar'] as const) {
    const src = sources[variant];
    if (src === undefined) continue;
    const bytes = await sourceBytes(src);
    if (!WebAssembly.validate(bytes)) {
      if (variant === 'simd') continue;
      throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, 'this runtime cannot validate the scalar build');
    }
    compiled.set(variant, await WebAssembly.compile(bytes));
    loaded.push(variant);
  }
  if (loaded.length === 0) throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, 'no kernel build could be loaded');
  simdSupport = compiled.has('simd');
  return loaded;
}

/** Compiled module of one build, cached per process (and shareable with workers via postMessage). */
export function compiledModule(variant: WasmVariant): CompiledKernels {
  const mod = compiled.get(variant);
  if (mod) return mod;
  const file = packagePath('build', `optmargin.${variant}.wasm`);
  if (!fileExists(file)) {
    throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `${file} is missing: run \`npm run build\` (npm install does it)`);
  }
  const bytes = readBytes(file, ErrorCodes.WASM_UNAVAILABLE);
  if (!WebAssembly.validate(bytes)) {
    throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `this runtime cannot run the ${variant} build (${file})`);
  }
  const m = new WebAssembly.Module(bytes);
  compiled.set(variant, m);
  return m;
}

/** A minimal module using v128 (i8x16.splat / i8x16.popcnt of wasm-feature-detect's SIMD probe). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

let simdSupport: boolean | undefined;
/** Whether this runtime runs WebAssembly SIMD (the SIMD build is used then). */
export function simdSupported(): boolean {
  simdSupport ??= WebAssembly.validate(SIMD_PROBE);
  return simdSupport;
}

/** OPTMARGIN_WASM from the environment (Node), else undefined. */
function envVariant(): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.OPTMARGIN_WASM;
}

/**
 * The build to use. An explicit option wins; otherwise the environment variable
 * OPTMARGIN_WASM=scalar|simd (how `npm test` runs the whole suite on both builds);
 * otherwise SIMD when the runtime supports it.
 */
export function chooseVariant(options: WasmOptions = {}): WasmVariant {
  if (options.simd === undefined) {
    const env = envVariant();
    if (env === 'scalar') return 'scalar';
    if (env === 'simd') return chooseVariant({ simd: true });
    if (env !== undefined && env !== '') {
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `OPTMARGIN_WASM must be "simd" or "scalar", got ${JSON.stringify(env)}`);
    }
  }
  if (options.simd === false) return 'scalar';
  if (options.simd === true) {
    if (!simdSupported()) throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, 'simd: true was requested but this runtime does not support WebAssembly SIMD');
    return 'simd';
  }
  return simdSupported() ? 'simd' : 'scalar';
}

export type RegionKind = 'f64' | 'i32' | 'u8';
const BYTES: Record<RegionKind, number> = { f64: 8, i32: 4, u8: 1 };

/**
 * A typed array living in WASM memory. `view` is refreshed transparently after memory growth:
 * growing a memory detaches its old buffer, whose views then read length 0 (a shared memory's
 * old buffer stays valid over the same bytes), so a view of non-zero length is current — no read
 * of `memory.buffer` per call.
 */
export class Region<K extends RegionKind = RegionKind> {
  private cached: (K extends 'f64' ? Float64Array : K extends 'i32' ? Int32Array : Uint8Array) | undefined;
  constructor(
    private readonly instance: WasmInstance,
    readonly kind: K,
    /** byte offset in linear memory (for the kernels only; models never compute with it) */
    readonly ptr: number,
    readonly capacity: number,
  ) {}
  get view(): K extends 'f64' ? Float64Array : K extends 'i32' ? Int32Array : Uint8Array {
    const c = this.cached;
    if (c !== undefined && (c.length !== 0 || this.capacity === 0)) return c;
    const Ctor = this.kind === 'f64' ? Float64Array : this.kind === 'i32' ? Int32Array : Uint8Array;
    return (this.cached = new Ctor(this.instance.memory.buffer, this.ptr, this.capacity) as never);
  }
}

/**
 * One instance of the kernels with its own linear memory and a bump
 * allocator. Instances are cheap; each worker thread owns one.
 */
export class WasmInstance {
  readonly variant: WasmVariant;
  readonly exports: KernelExports;
  readonly memory: KernelMemory;
  private top: number;

  constructor(options: WasmOptions & { module?: CompiledKernels } = {}) {
    this.variant = chooseVariant(options);
    const mod = (options.module ?? compiledModule(this.variant)) as WebAssembly.Module;
    const instance = new WebAssembly.Instance(mod, {
      env: {
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new OptmarginError(ErrorCodes.WASM_ABORT, `WASM kernel aborted at ${line}:${col} (an engine bug: please report it)`);
        },
      },
    });
    this.exports = instance.exports as unknown as KernelExports;
    this.memory = this.exports.memory;
    this.top = align(this.exports.heapBase(), 16);
  }

  /** Allocates a region of `capacity` elements (16-byte aligned for v128 loads). Never freed: owners allocate once and reuse. */
  alloc<K extends RegionKind>(kind: K, capacity: number): Region<K> {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `region capacity must be a non-negative integer, got ${capacity}`);
    }
    const ptr = this.top;
    const end = align(ptr + Math.max(1, capacity) * BYTES[kind], 16);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `WASM memory cannot grow to ${end} bytes: ${(e as Error).message}`);
      }
    }
    this.top = end;
    return new Region(this, kind, ptr, capacity);
  }

  /** `r` when it holds n elements, else a new region of at least n (twice r's capacity): its contents are not kept. */
  room<K extends RegionKind>(r: Region<K>, n: number): Region<K> {
    if (n <= r.capacity) return r;
    return this.alloc(r.kind, Math.max(n, 2 * r.capacity));
  }

  /** Bytes of linear memory in use by regions. */
  get bytesAllocated(): number {
    return this.top;
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

let shared: Map<WasmVariant, WasmInstance> | undefined;
/** A process-wide instance per variant for callers that need no isolation (CLI, single-threaded embedding). */
export function sharedInstance(options: WasmOptions = {}): WasmInstance {
  const variant = chooseVariant(options);
  shared ??= new Map();
  let inst = shared.get(variant);
  if (!inst) {
    inst = new WasmInstance({ simd: variant === 'simd' });
    shared.set(variant, inst);
  }
  return inst;
}
