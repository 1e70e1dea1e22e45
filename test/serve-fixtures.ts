/** Shared by the server tests: a BTC sub-account of three positions and an untyped JSON reader. */

export const ACCOUNT = {
  id: 'desk-1',
  mode: 'portfolio',
  collateral: { BTC: 10 },
  positions: [
    { instrument: 'BTC-25SEP26-60000-P', size: -5 },
    { instrument: 'BTC-25SEP26-80000-C', size: 2 },
    { instrument: 'BTC-PERPETUAL', size: 50000 },
  ],
};

/** A response's JSON body, untyped (the tests assert its fields). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const jsonOf = (r: Response): Promise<any> => r.json();
