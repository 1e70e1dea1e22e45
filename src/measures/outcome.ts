/** What a margin measure returns for one account; the runner adds the header (id, model, market hash). */
import type { MarginFigures, MarginResultOk } from './types.js';

/**
 * The measured parts of a result: MarginResultOk's own fields (their meaning is documented there,
 * once), plus the headline figures as one object. `currency` is absent for a USD account; the
 * runner then reports USD.
 */
export type MarginOutcome = Pick<
  MarginResultOk,
  'modeApplied' | 'collateralValue' | 'perCurrency' | 'greeks' | 'positions' | 'grid' | 'components' | 'usd' | 'pme' | 'varEs' | 'okx'
> & {
  figures: MarginFigures;
  currency?: string;
};
