/**
 * A book's columns kept as parsed chunks (ColumnParts): account k of the book found in its chunk,
 * the unnamed accounts numbered `#<book index>`, invalid accounts' errors — against the accounts
 * as written by hand, and against the concatenated columns (concatColumns + accountAt).
 */
import { describe, expect, test } from 'vitest';
import { ColumnParts } from '../src/instruments/column-parts.js';
import { accountAt, ColumnsBuilder, concatColumns, numberUnnamed, type BookColumns } from '../src/instruments/columns.js';
import type { AccountInput } from '../src/instruments/types.js';

const acc = (id: string, size: number): AccountInput => ({ id, mode: 'cross', collateral: { BTC: size / 1000 }, positions: [{ instrument: 'BTC-PERPETUAL', size }] });

function part(entries: (AccountInput | string)[]): BookColumns {
  const b = new ColumnsBuilder();
  for (const e of entries) {
    if (typeof e === 'string') b.addInvalid(e, { code: 'OPTMARGIN_INVALID_INPUT', message: `bad ${e || 'unnamed'}` });
    else b.add(e);
  }
  return b.build();
}

describe('ColumnParts', () => {
  test('accounts, ids and errors by book index across chunks (one of them empty)', () => {
    const build = (): BookColumns[] => [part([acc('a', 10), acc('', 20)]), part([]), part(['bad', acc('c', 30), '']), part([acc('d', 40)])];
    const cp = new ColumnParts(build());
    expect(cp.n).toBe(6);
    expect(Array.from(cp.starts)).toEqual([0, 2, 2, 5, 6]);
    // by hand: the unnamed valid account is #1, the unnamed invalid one #4
    expect([0, 1, 2, 3, 4, 5].map((k) => cp.id(k))).toEqual(['a', '#1', 'bad', 'c', '#4', 'd']);
    expect(cp.account(1)).toEqual({ ...acc('#1', 20) });
    expect(cp.account(3)).toEqual(acc('c', 30));
    expect(cp.account(2)).toBeNull();
    expect(cp.error(2)).toEqual({ code: 'OPTMARGIN_INVALID_INPUT', message: 'bad bad' });
    expect(cp.error(4)).toEqual({ code: 'OPTMARGIN_INVALID_INPUT', message: 'bad unnamed' });
    expect(cp.error(3)).toBeUndefined();
    const ids: string[] = [];
    cp.idsInto(ids);
    expect(ids).toEqual(['a', '#1', 'bad', 'c', '#4', 'd']);
    // the concatenated book says the same, account by account
    const all = concatColumns(build());
    numberUnnamed(all);
    for (let k = 0; k < all.n; k++) {
      expect(cp.account(k), `account ${k}`).toEqual(accountAt(all, k));
      expect(cp.id(k)).toBe(all.ids[k]);
      expect(cp.error(k)).toEqual(all.errors.get(k));
    }
  });

  test('many chunks: the binary search finds every account', () => {
    const parts: BookColumns[] = [];
    let k = 0;
    for (let i = 0; i < 37; i++) parts.push(part(Array.from({ length: i % 5 }, () => acc(`x${k}`, ++k))));
    const cp = new ColumnParts(parts);
    expect(cp.n).toBe(k);
    for (let j = 0; j < k; j++) expect(cp.account(j)!.positions[0].size).toBe(j + 1);
  });
});
