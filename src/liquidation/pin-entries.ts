/**
 * Futures and perpetuals without an entry price were entered at today's mark: wherever the
 * market then moves — a liquidation price's search, a stress scenario, a simulation's path — the
 * entry is pinned to the forward of the market they were given on, so that the move shows their
 * P&L instead of re-entering them at the moved mark (a book margined at one instant values them
 * at mark: no P&L). One rule (pinnedEntry) for account objects and for a book's columns.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { Kind } from '../instruments/kind.js';
import { InstrumentTable } from '../instruments/table.js';
import type { MarginMarket } from '../market/margin-market.js';
import type { BookColumns } from '../instruments/columns.js';
import { ColumnParts } from '../instruments/column-parts.js';
import { validateAccount } from '../instruments/account.js';
import type { AccountInput } from '../measures/types.js';
import type { BookEngine } from '../runner/book/runner.js';

/** Whether a position of this kind without an entry price is pinned: futures and perpetuals (an option at mark has no P&L rule to pin). */
function pins(kind: number): boolean {
  return kind === Kind.Future || kind === Kind.Perpetual;
}

/** The entry price a position of instrument i without one is pinned to: a future's or perpetual's forward on the table's market; undefined for other kinds. */
export function pinnedEntry(tb: InstrumentTable, i: number): number | undefined {
  return pins(tb.kind[i]) ? tb.forward[i] : undefined;
}

/**
 * A position a loaded book engine holds that a simulation would have pinned — a future or
 * perpetual without an entry price — as its account and instrument (the first found: the
 * single-path accounts' are read first), or null (a book loaded pinned, or holding none): a
 * vectorized account's from its stored positions, another's from its input (its instruments'
 * kinds read on `market`). A simulation on such an engine cannot pin it.
 */
export function firstUnpinned(book: BookEngine, market: MarginMarket): { k: number; instrument: string } | null {
  let tb: InstrumentTable | null = null;
  const grid: number[] = [];
  for (let k = 0; k < book.n; k++) {
    if (book.isGrid(k)) grid.push(k);
    else for (const p of validOrNone(book, k).positions) if (p.entryPrice === undefined && pins(kindOf((tb ??= new InstrumentTable(market)), p.instrument))) return { k, instrument: p.instrument };
  }
  const ins = book.ins;
  const names = new Set<string>();
  for (let i = 0; i < ins.names.length; i++) if (pins(ins.kind[i])) names.add(ins.names[i]);
  let hit: { k: number; instrument: string } | null = null;
  if (names.size > 0 && grid.length > 0) {
    book.positionsIn(names, grid, (k, instrument, _size, entry) => {
      if (hit === null && entry === undefined) hit = { k, instrument };
    });
  }
  return hit;
}

/** The account with its entry-less futures and perpetuals pinned on the table's market (a position's unknown instrument: its error, naming the field). */
export function pinEntries(ctx: { table: InstrumentTable }, a: AccountInput): AccountInput {
  const tb = ctx.table;
  return {
    ...a,
    positions: a.positions.map((p, k) => {
      if (p.entryPrice !== undefined) return p;
      let i: number;
      try {
        i = tb.indexOf(p.instrument);
      } catch (e) {
        if (e instanceof OptmarginError) throw new OptmarginError(e.code, `positions[${k}].instrument: ${e.message}`, `positions[${k}].instrument`);
        throw e;
      }
      const entry = pinnedEntry(tb, i);
      return entry === undefined ? p : { ...p, entryPrice: entry };
    }),
  };
}

/**
 * A book's columns with their entry-less futures and perpetuals pinned on the table's market: the
 * same columns when none lacks an entry; else a copy sharing every column but `entry` (the given
 * columns are left as they are). A name the table cannot read is left alone: the book's load
 * reports it on its account.
 */
export function pinColumnEntries(c: BookColumns, tb: InstrumentTable): BookColumns {
  let pin: Float64Array | null = null;
  const at = new Float64Array(c.names.length).fill(Number.NaN);
  const known = new Uint8Array(c.names.length);
  for (let p = 0; p < c.nPos; p++) {
    if (c.entry[p] === c.entry[p]) continue;
    const n = c.instr[p];
    if (known[n] === 0) {
      known[n] = 1;
      at[n] = entryOfName(tb, c.names[n]);
    }
    if (at[n] !== at[n]) continue;
    pin ??= c.entry.slice();
    pin[p] = at[n];
  }
  return pin ? { ...c, entry: pin } : c;
}

/** Account k as the book holds it, or no position when it does not validate (the book reports it). */
function validOrNone(book: BookEngine, k: number): Pick<AccountInput, 'positions'> {
  try {
    return book.account(k, true);
  } catch (e) {
    if (e instanceof OptmarginError && e.code !== ErrorCodes.INTERNAL) return { positions: [] };
    throw e;
  }
}

/** The kind of instrument `name`, or −1 for a name the table cannot read (the book reports it on its account). */
function kindOf(tb: InstrumentTable, name: string): number {
  try {
    return tb.kind[tb.indexOf(name)];
  } catch (e) {
    if (e instanceof OptmarginError && e.code !== ErrorCodes.INTERNAL) return -1;
    throw e;
  }
}

/** pinnedEntry of instrument `name` (NaN: none, or a name the table cannot read). */
function entryOfName(tb: InstrumentTable, name: string): number {
  let i: number;
  try {
    i = tb.indexOf(name);
  } catch (e) {
    if (e instanceof OptmarginError && e.code !== ErrorCodes.INTERNAL) return Number.NaN;
    throw e;
  }
  return pinnedEntry(tb, i) ?? Number.NaN;
}

/**
 * A book pinned on `market` — a simulation's start market: account values validated and pinned
 * (one that does not validate, or names an instrument the market lacks, is left as given: the
 * book's load reports it), or parsed columns pinned part by part (pinColumnEntries). What
 * Simulation.create loads, and what a library caller loads a book engine with (BookEngine.reload)
 * before simulating on it with `accounts` omitted.
 */
export function pinBook(accounts: readonly unknown[] | ColumnParts, market: MarginMarket): readonly unknown[] | ColumnParts {
  const tb = new InstrumentTable(market);
  if (accounts instanceof ColumnParts) return new ColumnParts(accounts.parts.map((c) => pinColumnEntries(c, tb)));
  return accounts.map((raw) => {
    try {
      return pinEntries({ table: tb }, validateAccount(raw));
    } catch (e) {
      if (e instanceof OptmarginError && e.code !== ErrorCodes.INTERNAL) return raw;
      throw e;
    }
  });
}
