/**
 * The `optmargin iv` contract: validate a whole array first (a bad field rejects
 * the file, naming `[i].field`), then solve every element; a price outside the
 * no-arbitrage bounds is reported in that element, not as a failure of the file.
 */
import { check } from '../errors.js';
import { IvStatus, impliedVolInto } from '../pricing/iv.js';
import { allocOptionBatch } from '../pricing/types.js';
import { checkOptionFields } from '../pricing/validate.js';
import { OptionFlag } from '../pricing/types.js';

export type IvResult = { vol: number } | { vol: null; error: string };

const MESSAGES: Record<number, string> = {
  [IvStatus.BelowIntrinsic]: 'price is below the discounted intrinsic value: no implied volatility exists',
  [IvStatus.AboveUpperBound]: 'price is at or above the no-arbitrage upper bound (df·F for a call, df·K for a put; /F in coin): no implied volatility exists',
  [IvStatus.InvalidInput]: 'invalid input',
};

export function impliedVolBatchFromInputs(input: unknown): IvResult[] {
  const arr = check.array('input', input);
  const n = arr.length;
  const batch = allocOptionBatch(n);
  const prices = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = check.object(`[${i}]`, arr[i]);
    checkOptionFields(`[${i}]`, o);
    prices[i] = check.nonNegative(`[${i}].price`, o.price);
    batch.forward[i] = o.forward as number;
    batch.strike[i] = o.strike as number;
    batch.t[i] = o.t as number;
    batch.rate[i] = (o.rate as number | undefined) ?? 0;
    batch.flags[i] = (o.type === 'put' ? OptionFlag.Put : 0) | (o.settlement === 'inverse' ? OptionFlag.Inverse : 0);
  }
  batch.length = n;
  const vols = new Float64Array(n);
  const status = new Uint8Array(n);
  impliedVolInto(batch, prices, vols, status);
  const out: IvResult[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = status[i];
    // NoTimeValue: the price is the intrinsic value, every vol below some level reproduces it; 0 by convention.
    out[i] = s === IvStatus.Ok || s === IvStatus.NoTimeValue ? { vol: vols[i] } : { vol: null, error: MESSAGES[s] ?? `status ${s}` };
  }
  return out;
}
