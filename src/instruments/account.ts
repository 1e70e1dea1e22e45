/**
 * Validation of user accounts (JSON objects or msgpack bytes) at the boundary: every problem
 * is reported as OptmarginError INVALID_INPUT naming the field, e.g.
 * `positions[17].size must be a finite number, got "x"`.
 */
import { decode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError, check, inBounds, invalidInput } from '../errors.js';
import { LIMITS } from '../limits.js';
import { ACCOUNT_MODES, type AccountInput, type PositionChange, type PositionInput } from './types.js';

const CURRENCY_RE = /^[A-Z][A-Z0-9]{1,9}$/;

/**
 * validateAccount's rules for single values, as predicates: readers that fill a book's columns
 * without building an account object (io/msgpack-account.ts, the columnar file) accept a value
 * only when validateAccount would, and leave any other to it (its message, code and path).
 */
export const accepts = {
  currency: (code: string): boolean => CURRENCY_RE.test(code),
  balance: (x: number): boolean => inBounds(x, LIMITS.collateral),
  size: (q: number): boolean => inBounds(q, LIMITS.size) && q !== 0,
  entryPrice: (e: number): boolean => inBounds(e, LIMITS.price, true),
  positionCount: (n: number): boolean => n <= LIMITS.positionsPerAccount,
};

function validateBalances(path: string, v: unknown): Record<string, number> {
  const obj = check.object(path, v);
  const out: Record<string, number> = {};
  for (const key of Object.keys(obj)) {
    if (!accepts.currency(key)) throw invalidInput(`${path}`, 'keys must be upper-case currency codes like BTC or USDC', key);
    out[key] = check.bounded(`${path}.${key}`, obj[key], LIMITS.collateral);
  }
  return out;
}

const POSITION_FIELDS: readonly string[] = ['instrument', 'size', 'entryPrice', 'collateral'];

/**
 * The path of position `index` (under `prefix`) or of one of its fields, as text only when an
 * error names it (`String(at)`): one reused object per account, so that a valid account's
 * positions build no path strings.
 */
class PositionPath {
  index = 0;
  private field = '';
  constructor(private readonly prefix: string) {}

  /** This position's `field` ('' for the position itself). */
  of(field: string): this {
    this.field = field;
    return this;
  }

  toString(): string {
    return `${this.prefix}positions[${this.index}]${this.field === '' ? '' : `.${this.field}`}`;
  }
}

function validatePosition(at: PositionPath, v: unknown, mode: string): PositionInput {
  const p = check.object(at.of(''), v);
  const instrument = check.string(at.of('instrument'), p.instrument);
  const size = check.bounded(at.of('size'), p.size, LIMITS.size);
  if (!accepts.size(size)) throw invalidInput(at.of('size'), 'must be non-zero', size); // within bounds: zero is what it can break
  const out: PositionInput = { instrument, size };
  if (p.entryPrice !== undefined) out.entryPrice = check.bounded(at.of('entryPrice'), p.entryPrice, LIMITS.price, true);
  if (p.collateral !== undefined) {
    if (mode !== 'isolated') {
      throw invalidInput(at.of('collateral'), 'is only allowed in isolated mode (cross and portfolio accounts pool collateral)', p.collateral);
    }
    out.collateral = validateBalances(String(at.of('collateral')), p.collateral);
  }
  // own keys in order, as Object.keys lists them, without building its array
  for (const key in p) {
    if (!Object.prototype.hasOwnProperty.call(p, key) || POSITION_FIELDS.includes(key)) continue;
    throw invalidInput(at.of(key), 'is not a position field (instrument, size, entryPrice, collateral)', p[key]);
  }
  return out;
}

/** Validates one account; `path` prefixes field names (e.g. `accounts[3]` inside a book). */
export function validateAccount(v: unknown, path = ''): AccountInput {
  const at = (f: string) => (path ? `${path}.${f}` : f);
  const a = check.object(path || 'account', v);
  const id = typeof a.id === 'number' && Number.isFinite(a.id) ? String(a.id) : check.string(at('id'), a.id);
  const mode = check.oneOf(at('mode'), a.mode, ACCOUNT_MODES);
  const collateral = a.collateral === undefined ? {} : validateBalances(at('collateral'), a.collateral);
  const rawPositions = a.positions === undefined ? [] : check.array(at('positions'), a.positions);
  if (!accepts.positionCount(rawPositions.length)) throw invalidInput(at('positions'), `must hold at most ${LIMITS.positionsPerAccount} positions`, rawPositions.length);
  const positions = new Array<PositionInput>(rawPositions.length);
  const where = new PositionPath(path ? `${path}.` : '');
  for (let i = 0; i < rawPositions.length; i++) {
    where.index = i;
    positions[i] = validatePosition(where, rawPositions[i], mode);
  }
  const out: AccountInput = { id, mode, collateral, positions };
  if (a.currency !== undefined) {
    if (typeof a.currency !== 'string' || !CURRENCY_RE.test(a.currency)) {
      throw invalidInput(at('currency'), 'must be an upper-case currency code like BTC or USDC', a.currency);
    }
    out.currency = a.currency;
  }
  return out;
}

/** Decodes msgpack bytes, then validates as JSON input. */
export function decodeAccount(bytes: Uint8Array): AccountInput {
  let v: unknown;
  try {
    v = decode(bytes);
  } catch (e) {
    throw new OptmarginError(ErrorCodes.INVALID_FILE, `account is not valid msgpack: ${(e as Error).message}`);
  }
  return validateAccount(v);
}

export function validateChanges(v: unknown, path = 'changes'): PositionChange[] {
  const arr = check.array(path, v);
  return arr.map((c, i) => {
    const o = check.object(`${path}[${i}]`, c);
    const out: PositionChange = {
      instrument: check.string(`${path}[${i}].instrument`, o.instrument),
      size: check.bounded(`${path}[${i}].size`, o.size, LIMITS.size),
    };
    if (o.entryPrice !== undefined) out.entryPrice = check.bounded(`${path}[${i}].entryPrice`, o.entryPrice, LIMITS.price, true);
    return out;
  });
}
