/**
 * Margin models are data: a preset is a versioned parameter set (presets/*.json, importable:
 * measures/presets.ts) interpreted by one of three mechanisms (rule-based, scenario-grid,
 * lyra-pmrm). This module loads them once into typed, validated models (model-params.ts) with
 * the one content hash every result carries.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { parseJsonText } from '../io/decode.js';
import { fileExists, packagePath, readText } from '../platform/files.js';
import { hashOf } from '../platform/hash.js';
import { validateModel } from './model-params.js';
import { PRESET_DATA, RISK_PRESET_DATA } from './presets.js';
import type { LoadedModel, MarginModel } from './types.js';

export { validateModel } from './model-params.js';
export { canonicalJson, hashOf } from '../platform/hash.js';

/** The presets folder of the package (Node; the presets themselves are importable data). */
export function presetsDir(): string {
  const dir = packagePath('presets') + '/';
  if (!fileExists(dir)) throw new OptmarginError(ErrorCodes.INVALID_MODEL, 'the presets folder was not found next to the optmargin package');
  return dir;
}

export function toLoadedModel(params: MarginModel): LoadedModel {
  return { params, hash: hashOf(params) };
}

const cache = new Map<string, LoadedModel>();

function isPath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || s.endsWith('.json');
}

/**
 * Loads a preset by id (`deribit-pm`), a parameter file by path (anything with a '/' or
 * ending in .json; Node only), or a parameter object. Throws INVALID_MODEL naming the id/file
 * and the bad field.
 */
export function loadModel(idOrPath: string | MarginModel): LoadedModel {
  if (typeof idOrPath !== 'string') return toLoadedModel(validateModel(idOrPath, `model ${JSON.stringify((idOrPath as { id?: unknown })?.id)}`));
  const hit = cache.get(idOrPath);
  if (hit) return hit;
  let raw: unknown;
  let where: string;
  if (isPath(idOrPath)) {
    where = idOrPath;
    const text = readText(idOrPath, ErrorCodes.INVALID_MODEL);
    try {
      raw = parseJsonText(text, `model file ${idOrPath}`);
    } catch (e) {
      // never the file's content: only what was wrong with it
      if (!(e instanceof OptmarginError)) throw e;
      throw new OptmarginError(ErrorCodes.INVALID_MODEL, e.message);
    }
  } else {
    const risk = RISK_PRESET_DATA[idOrPath] !== undefined;
    raw = risk ? RISK_PRESET_DATA[idOrPath] : PRESET_DATA[idOrPath];
    where = risk ? `data/var-es/${idOrPath}.json` : `presets/${idOrPath}.json`;
    if (raw === undefined) {
      const ids = [...Object.keys(PRESET_DATA), ...Object.keys(RISK_PRESET_DATA)].sort();
      throw new OptmarginError(ErrorCodes.INVALID_MODEL, `unknown model ${JSON.stringify(idOrPath)}; presets: ${ids.join(', ')}`);
    }
  }
  const loaded = toLoadedModel(validateModel(raw, where));
  cache.set(idOrPath, loaded);
  return loaded;
}

/** A LoadedModel as given, or loaded from a preset id / file path / parameter object. */
export function resolveModel(m: LoadedModel | MarginModel | string): LoadedModel {
  if (typeof m === 'string') return loadModel(m);
  if ('params' in m && 'hash' in m) return m as LoadedModel;
  return loadModel(m as MarginModel);
}

export interface ModelSummary {
  id: string;
  version: string;
  mechanism: MarginModel['mechanism'];
  description: string;
  source: string;
  hash: string;
}

/** Every shipped preset, sorted by id. */
export function listModels(): ModelSummary[] {
  return Object.keys(PRESET_DATA)
    .sort()
    .map((id) => {
      const m = loadModel(id);
      const p = m.params;
      return { id: p.id, version: p.version, mechanism: p.mechanism, description: p.description, source: p.source, hash: m.hash };
    });
}
