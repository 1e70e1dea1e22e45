/**
 * The Node adapter for files the core may read on demand (a model file given by path, a
 * market file, the WASM kernels on disk). Node built-ins are reached through
 * `process.getBuiltinModule`, so a bundle of the core for a browser or a Web Worker carries no
 * `node:*` import; there these functions report that the feature needs Node (pass data or
 * bytes instead: importable presets and default market, `initKernels({ bytes | url })`).
 */
import { ErrorCodes, OptmarginError } from '../errors.js';

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');
type NodeUrl = typeof import('node:url');

interface NodeBuiltins {
  fs: NodeFs;
  path: NodePath;
  url: NodeUrl;
}

let builtins: NodeBuiltins | null | undefined;

/** Node's fs/path/url, or null outside Node. */
export function nodeBuiltins(): NodeBuiltins | null {
  if (builtins !== undefined) return builtins;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const get = proc?.getBuiltinModule;
  builtins = get ? { fs: get('node:fs') as NodeFs, path: get('node:path') as NodePath, url: get('node:url') as NodeUrl } : null;
  return builtins;
}

function need(what: string): NodeBuiltins {
  const b = nodeBuiltins();
  if (!b) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `${what} needs Node (files); in a browser pass the data itself`);
  return b;
}

export function readBytes(file: string, code: (typeof ErrorCodes)[keyof typeof ErrorCodes] = ErrorCodes.INVALID_FILE): Uint8Array<ArrayBuffer> {
  const { fs } = need(`reading ${file}`);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new OptmarginError(code, `cannot read ${file}: ${(e as Error).message}`);
  }
}

export function readText(file: string, code: (typeof ErrorCodes)[keyof typeof ErrorCodes] = ErrorCodes.INVALID_FILE): string {
  return new TextDecoder().decode(readBytes(file, code));
}

export function fileExists(file: string): boolean {
  const b = nodeBuiltins();
  return b !== null && b.fs.existsSync(file);
}

let packageRoot: string | undefined;
/** The package root: the nearest ancestor of this module holding package.json and build/ or assembly/ (works from src/ and dist/src/). */
export function findPackageRoot(): string {
  if (packageRoot) return packageRoot;
  const { fs, path, url } = need('locating the optmargin package');
  let dir = path.dirname(url.fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = fs.existsSync(path.join(dir, 'package.json'));
    if (pkg && (fs.existsSync(path.join(dir, 'assembly')) || fs.existsSync(path.join(dir, 'build')))) return (packageRoot = dir);
    dir = path.dirname(dir);
  }
  throw new OptmarginError(ErrorCodes.WASM_UNAVAILABLE, 'cannot locate the optmargin package root (build/*.wasm)');
}

/** A path inside the package. */
export function packagePath(...parts: string[]): string {
  return need('locating package files').path.join(findPackageRoot(), ...parts);
}

/** Names in a directory (Node); [] when it does not exist. */
export function listDir(dir: string): string[] {
  const b = nodeBuiltins();
  if (!b || !b.fs.existsSync(dir)) return [];
  return b.fs.readdirSync(dir);
}
