/**
 * The book's inputs, account by account: raw values (load) validated once, or columns
 * (loadColumns) from which an account object is rebuilt only when asked for — a trade, a
 * replace, `account(k)`, the single path — so no object per position is kept for a loaded book.
 */
import { ErrorCodes, OptmarginError } from '../../errors.js';
import { validateAccount } from '../../instruments/account.js';
import { accountAt, bookIdOf, type AccountError, type BookColumns } from '../../instruments/columns.js';
import { ColumnParts, type InputVisitor } from '../../instruments/column-parts.js';
import type { AccountInput, AccountMode } from '../../instruments/types.js';
import type { MarginResultError } from '../../measures/types.js';
import { InvalidEntry } from './types.js';

/** Records raw account k (id, validated input or the raw value, mode); the validated account, or null when it is invalid. An account without an id is `#<firstIndex + k>` (its index in the whole book when these accounts are a shard). */
export function admitRaw(raw: unknown, k: number, ids: string[], inputs: unknown[], modes: AccountMode[], firstIndex = 0): AccountInput | null {
  let id = bookIdOf(raw, firstIndex + k);
  let a: AccountInput | null = null;
  if (raw instanceof InvalidEntry) id = raw.id;
  else {
    try {
      a = validateAccount(raw);
      id = a.id;
    } catch (e) {
      if (!(e instanceof OptmarginError)) throw e;
    }
  }
  ids[k] = id;
  inputs[k] = a ?? raw;
  modes[k] = a?.mode ?? ('?' as AccountMode);
  return a;
}

/** The input of account k: set by a trade or replace (inputs[k]), else rebuilt from the columns. */
export function inputOf(inputs: unknown[], cols: BookColumns | ColumnParts | null, k: number): unknown {
  const v = inputs[k];
  if (v !== undefined || !cols) return v;
  if (cols instanceof ColumnParts) {
    const a = cols.account(k);
    return a ?? invalidEntry(cols.id(k), cols.error(k));
  }
  return accountAt(cols, k) ?? invalidEntry(cols.ids[k], cols.errors.get(k));
}

/**
 * Account k's input read without building it (ColumnParts.visit's order: positions, then the
 * account's balances' currencies, then each position's own): a trade's or replace's object, else
 * its columns. False when neither is there (the caller skips accounts whose entry is invalid).
 */
export function visitInput(inputs: unknown[], cols: ColumnParts | null, k: number, v: InputVisitor): boolean {
  const a = inputs[k];
  if (a === undefined && cols) return cols.visit(k, v);
  if (a === undefined) return false;
  const { positions, collateral } = a as AccountInput;
  for (const p of positions) v.position(p.instrument, p.size);
  for (const c of Object.keys(collateral)) v.currency(c);
  for (const p of positions) if (p.collateral) for (const c of Object.keys(p.collateral)) v.currency(c);
  return true;
}

function invalidEntry(id: string, e: AccountError | undefined): InvalidEntry {
  return new InvalidEntry(id, e?.message ?? 'invalid account', e);
}

/** The result of an entry that did not parse or validate: its validation error (code, message, path). */
export function invalidResult(e: InvalidEntry): MarginResultError {
  return { id: e.id, ok: false, error: e.error ?? { code: ErrorCodes.INVALID_INPUT, message: e.message } };
}
