/**
 * What the copies of the book's accounts resident in WASM (wasm/equity.ts: each worker's, for a
 * tick's equities) read: the positions and accounts of BookAccounts as shared views, with the
 * edits made in place since the load, each logged by the one path that makes it — a position's
 * size and a collateral line's amount (an in-place edit: edit.ts, through BookAccounts.setOpSize
 * and setLineAmount), an account's record (kind, sub-accounts, account-level lines: rewritten by
 * a trade or a move to the single path, each followed by BookAccounts.recordDeps, which logs it).
 * Appended positions, parts, sub-accounts and lines need no log: a copy re-reads from its counts.
 */
import type { ResidentAccounts, ResidentPositions } from '../../wasm/equity.js';
import { I32 } from './arrays.js';
import type { BookAccounts } from './accounts.js';

/** The identities of the books' copies (per load, and whenever the edit logs start over). */
let version = 0;

export class EditLogs {
  /** the copies' identity: a new key copies everything */
  key = `accounts:${++version}`;
  /** positions whose size, lines whose amount, accounts whose record changed, in order */
  readonly ops = new I32(1024, true);
  readonly lines = new I32(1024, true);
  readonly accounts = new I32(1024, true);

  /**
   * Logs x in `log`. A log reaching `limit` entries — the book's positions: a copy afresh, which
   * copies them all, is then cheaper than replaying the log — restarts all under a new key. (A
   * load logs every account once, harmlessly: the copies made after it are full.)
   */
  push(log: I32, x: number, limit: number): void {
    if (log.n >= limit) {
      this.ops.n = this.lines.n = this.accounts.n = 0;
      this.key = `accounts:${++version}`;
    }
    log.push(x);
  }
}

/** The positions and parts of `acc` for a copy resident in WASM. */
export function residentPositions(acc: BookAccounts): ResidentPositions {
  const parts = acc.parts;
  return {
    key: acc.logs.key,
    opInstr: acc.opInstr.a,
    opSize: acc.opSize.a,
    opEntry: acc.opEntry.a,
    nOps: acc.opInstr.n,
    nEntries: acc.opEntry.n,
    partOpStart: parts.opStart.a,
    partEntryStart: parts.entryStart.a,
    nParts: parts.slot.n,
    edits: acc.logs.ops.a,
    nEdit: acc.logs.ops.n,
  };
}

/** The accounts, sub-accounts, parts' slots and collateral lines of `acc` for a copy resident in WASM. */
export function residentAccounts(acc: BookAccounts): ResidentAccounts {
  const { parts, logs } = acc;
  return {
    key: logs.key,
    accColFrom: acc.accColFrom,
    accColTo: acc.accColTo,
    subPartStart: parts.subStart.a,
    subColFrom: acc.subColFrom.a,
    subColTo: acc.subColTo.a,
    nSubs: acc.nSubs,
    partSlot: parts.slot.a,
    nParts: parts.slot.n,
    colCur: acc.colCur.a,
    colAmount: acc.colAmount.a,
    nLines: acc.colCur.n,
    accEdits: logs.accounts.a,
    nAccEdit: logs.accounts.n,
    lineEdits: logs.lines.a,
    nLineEdit: logs.lines.n,
  };
}
