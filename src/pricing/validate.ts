/**
 * The input boundary of the pricing API: user objects → a validated
 * structure-of-arrays OptionBatch, with errors that name the element and field
 * (`[17].strike must be > 0, got -5`). The kernels themselves never check.
 */
import { check, invalidInput } from '../errors.js';
import { OptionFlag, allocOptionBatch, type OptionBatch, type OptionInput } from './types.js';

const TYPES = ['call', 'put'] as const;
const SETTLEMENTS = ['linear', 'inverse'] as const;
/** Inputs outside these ranges are rejected rather than priced to meaningless numbers. */
export const LIMITS = {
  /** forward and strike: positive normal doubles whose ratio stays representable */
  minPrice: 1e-150,
  maxPrice: 1e150,
  /** annualised volatility: 0 allowed (intrinsic value); 10 = 1000% */
  maxVol: 10,
  /** years */
  maxT: 100,
  /** |rate| per year */
  maxRate: 5,
} as const;

export function checkOptionFields(path: string, o: Record<string, unknown>): void {
  check.oneOf(`${path}.type`, o.type, TYPES);
  const F = check.positive(`${path}.forward`, o.forward);
  if (F < LIMITS.minPrice || F > LIMITS.maxPrice) throw invalidInput(`${path}.forward`, `must be within [${LIMITS.minPrice}, ${LIMITS.maxPrice}]`, F);
  const K = check.positive(`${path}.strike`, o.strike);
  if (K < LIMITS.minPrice || K > LIMITS.maxPrice) throw invalidInput(`${path}.strike`, `must be within [${LIMITS.minPrice}, ${LIMITS.maxPrice}]`, K);
  const t = check.nonNegative(`${path}.t`, o.t);
  if (t > LIMITS.maxT) throw invalidInput(`${path}.t`, `must be <= ${LIMITS.maxT} years`, t);
  if (o.rate !== undefined) {
    const r = check.finite(`${path}.rate`, o.rate);
    if (Math.abs(r) > LIMITS.maxRate) throw invalidInput(`${path}.rate`, `must be within [-${LIMITS.maxRate}, ${LIMITS.maxRate}]`, r);
  }
  if (o.settlement !== undefined) check.oneOf(`${path}.settlement`, o.settlement, SETTLEMENTS);
}

/** Validates one option (including vol) and returns its flags. */
export function checkOptionInput(path: string, value: unknown): number {
  const o = check.object(path, value);
  checkOptionFields(path, o);
  const vol = check.nonNegative(`${path}.vol`, o.vol);
  if (vol > LIMITS.maxVol) throw invalidInput(`${path}.vol`, `must be <= ${LIMITS.maxVol} (annualised, 10 = 1000%)`, vol);
  return (o.type === 'put' ? OptionFlag.Put : 0) | (o.settlement === 'inverse' ? OptionFlag.Inverse : 0);
}

/** Validates an array of OptionInput and packs it into a batch (or into `into`, if given and large enough). */
export function toOptionBatch(inputs: unknown, into?: OptionBatch): OptionBatch {
  const arr = check.array('input', inputs);
  const n = arr.length;
  const batch = into && into.forward.length >= n ? into : allocOptionBatch(n);
  for (let i = 0; i < n; i++) {
    const flags = checkOptionInput(`[${i}]`, arr[i]);
    const o = arr[i] as OptionInput;
    batch.forward[i] = o.forward;
    batch.strike[i] = o.strike;
    batch.vol[i] = o.vol;
    batch.t[i] = o.t;
    batch.rate[i] = o.rate ?? 0;
    batch.flags[i] = flags;
  }
  batch.length = n;
  return batch;
}
