/** The importable index of the shipped liquidation mechanisms (what the browser uses) agrees with presets/liquidation/. */
import { expect, test } from 'vitest';
import { listMechanisms, loadMechanism } from '../src/liquidation/mechanism.js';
import { MECHANISM_DATA } from '../src/liquidation/mechanism-presets.js';

test('MECHANISM_DATA lists every file of presets/liquidation, each loading to the mechanism of that id', () => {
  expect(Object.keys(MECHANISM_DATA).sort()).toEqual(listMechanisms());
  for (const [id, data] of Object.entries(MECHANISM_DATA)) {
    expect(loadMechanism(data)).toEqual(loadMechanism(id));
  }
});
