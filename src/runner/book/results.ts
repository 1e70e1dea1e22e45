/** Parts of a vectorized account's result read from the book's arrays. */
import type { UnderlyingWorst } from '../../io/results.js';
import type { ReduceArrays } from '../../measures/grid/reduce.js';
import type { BookInstruments } from './instruments.js';
import type { BookRows } from './rows.js';
import type { Failures } from './schedule.js';

/** The message of the failed chunk that computed account k (or one of its rows). */
export function failureOf(red: ReduceArrays, failures: Failures, k: number): string | undefined {
  let message = failures.accounts.get(k);
  for (let j = red.accSubFrom[k]; j < red.accSubTo[k] && message === undefined; j++) {
    for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1] && message === undefined; q++) message = failures.rows.get(red.subRows[q]);
  }
  return message;
}

/** Per underlying of a pooled account: its worst scenario, worst loss and IM. */
export function underlyingsOf(red: ReduceArrays, rows: BookRows, ins: BookInstruments, k: number): UnderlyingWorst[] {
  const out: UnderlyingWorst[] = [];
  const j = red.accSubFrom[k];
  for (let q = red.subRowStart[j]; q < red.subRowStart[j + 1]; q++) {
    const r = red.subRows[q];
    const s = rows.rowSlot[r];
    out.push({
      underlying: ins.underlyings[s],
      worstScenario: ins.scenarioLabels[s][rows.worst[r]] ?? '',
      worstLoss: Math.max(0, rows.loss[r]),
      initialMargin: red.rowIm[r],
    });
  }
  return out;
}
