/**
 * Request validation: the route's JSON Schema (src/serve/schemas.ts) compiled by Ajv, then the
 * engine's own validator. When the schema rejects a body, the engine's validator is asked first,
 * so that the answer carries the CLI's code, path and wording; an Ajv error is turned into the
 * same form (`positions[0].size must be number, got "x"`) when only the schema sees the problem.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ErrorCodes, OptmarginError, show } from '../errors.js';
import type { JsonSchema } from './schemas.js';

// No coercion, no defaults, no removal: the engine must see exactly what the client sent.
const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: true, strictRequired: false, allowUnionTypes: true });

/** `/positions/0/size` → `positions[0].size` (the CLI's field paths). */
export function fieldPath(pointer: string, root = ''): string {
  let out = root;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(token) ? `[${token}]` : out === '' ? token : `.${token}`;
  }
  return out;
}

function valueAt(data: unknown, pointer: string): unknown {
  let v = data;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** An Ajv error as an INVALID_INPUT naming the field. */
export function fromAjvError(e: ErrorObject, data: unknown, root: string): OptmarginError {
  let pointer = e.instancePath;
  let requirement = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    pointer += `/${(e.params as { missingProperty: string }).missingProperty}`;
    requirement = 'is required';
  } else if (e.keyword === 'additionalProperties') {
    pointer += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
    requirement = 'is not a field of this request';
  } else if (e.keyword === 'enum') {
    requirement = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((a) => JSON.stringify(a)).join(', ')}`;
  }
  const path = fieldPath(pointer, root) || root || 'body';
  return new OptmarginError(ErrorCodes.INVALID_INPUT, `${path} ${requirement}, got ${show(valueAt(data, pointer))}`, path);
}

/** The Ajv validator of an `anyOf` whose branches have distinct types: the branch the data's type selects. */
function branchValidators(schema: JsonSchema): { object?: ValidateFunction; array?: ValidateFunction } | null {
  const anyOf = schema.anyOf as JsonSchema[] | undefined;
  if (!anyOf || !anyOf.every((b) => b.type === 'object' || b.type === 'array')) return null;
  const out: { object?: ValidateFunction; array?: ValidateFunction } = {};
  for (const b of anyOf) out[b.type as 'object' | 'array'] = ajv.compile(b);
  return out;
}

export type BodyCheck = (body: unknown) => void;

/**
 * The validator of a request body: `schema`; when it refuses the body, `engineCheck` (the engine's
 * validator, which throws an OptmarginError naming the field as the CLI does) is asked first.
 * Bodies the schema accepts are validated again by the engine call itself.
 */
export function compileBody(schema: JsonSchema, engineCheck?: BodyCheck, root = ''): BodyCheck {
  const whole = ajv.compile(schema);
  const branches = branchValidators(schema);
  return (body) => {
    if (whole(body)) return;
    // the schema refuses the body: the engine's validator words the error when it sees the problem too
    engineCheck?.(body);
    const v = branches ? (Array.isArray(body) ? branches.array : branches.object) : undefined;
    const errors = v && !v(body) ? v.errors : whole.errors;
    if (!errors || errors.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, `${root || 'body'} must be an object or an array`, root || 'body');
    throw fromAjvError(errors[0], body, root);
  };
}
