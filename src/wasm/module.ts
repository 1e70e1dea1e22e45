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
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, OptmarginError } from '../errors.js';

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

let packageRoot: string | undefined;
/** The package root: the nearest ancestor of this file that holds build/ and package.json (works from src/ and dist/src/). */
export function findPackageRoot(): string {
  if (packageRoot) return packageRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'assembly'))) return (packageRoot = dir);
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'build'))) return (packageRoot = dir);
    dir = dirname(dir);
  }
  throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, 'cannot locate the optmargin package root (build/*.wasm)');
}

const compiled = new Map<WasmVariant, CompiledKernels>();

/** Compiled module of one build, cached per process (and shareable with workers via postMessage). */
export function compiledModule(variant: WasmVariant): CompiledKernels {
  let mod = compiled.get(variant);
  if (mod) return mod;
  const file = join(findPackageRoot(), 'build', `optmargin.${variant}.wasm`);
  if (!existsSync(file)) {
    throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `${file} is missing: run \`npm run build\` (npm install does it)`);
  }
  const bytes = readFileSync(file);
  if (!WebAssembly.validate(bytes)) {
    throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `this runtime cannot run the ${variant} build (${file})`);
  }
  mod = new WebAssembly.Module(bytes);
  compiled.set(variant, mod);
  return mod;
}

let simdSupport: boolean | undefined;
/** Whether this runtime validates the SIMD build. */
export function simdSupported(): boolean {
  if (simdSupport === undefined) {
    try {
      compiledModule('simd');
      simdSupport = true;
    } catch {
      simdSupport = false;
    }
  }
  return simdSupport;
}

/**
 * The build to use. An explicit option wins; otherwise the environment variable
 * OPTMARGIN_WASM=scalar|simd (how `npm test` runs the whole suite on both builds);
 * otherwise SIMD when the runtime supports it.
 */
export function chooseVariant(options: WasmOptions = {}): WasmVariant {
  if (options.simd === undefined) {
    const env = process.env.OPTMARGIN_WASM;
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

/** A typed array living in WASM memory. `view` is refreshed transparently after memory growth. */
export class Region<K extends RegionKind = RegionKind> {
  private cached: (K extends 'f64' ? Float64Array : K extends 'i32' ? Int32Array : Uint8Array) | undefined;
  private cachedBuffer: ArrayBuffer | undefined;
  constructor(
    private readonly instance: WasmInstance,
    readonly kind: K,
    /** byte offset in linear memory (for the kernels only; models never compute with it) */
    readonly ptr: number,
    readonly capacity: number,
  ) {}
  get view(): K extends 'f64' ? Float64Array : K extends 'i32' ? Int32Array : Uint8Array {
    const buffer = this.instance.memory.buffer;
    if (this.cached === undefined || this.cachedBuffer !== buffer) {
      const Ctor = this.kind === 'f64' ? Float64Array : this.kind === 'i32' ? Int32Array : Uint8Array;
      this.cached = new Ctor(buffer, this.ptr, this.capacity) as never;
      this.cachedBuffer = buffer;
    }
    return this.cached!;
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
          throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, `WASM kernel aborted at ${line}:${col}`);
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
