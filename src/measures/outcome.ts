/** What a margin measure returns for one account; the runner adds the header (id, model, market hash). */
import type {
  AccountMode,
  CurrencyFigures,
  MarginFigures,
  OkxRiskUnitBreakdown,
  PmeCurrencyBreakdown,
  PositionBreakdown,
  UnderlyingGreeks,
  UnderlyingGridBreakdown,
  UsdFigures,
  VarEsBreakdown,
} from './types.js';

export interface MarginOutcome {
  /** the mode the mechanism applied (a rule-based model computes 'portfolio' accounts as 'cross') */
  modeApplied: AccountMode;
  figures: MarginFigures;
  collateralValue: number;
  perCurrency: Record<string, CurrencyFigures>;
  greeks: Record<string, UnderlyingGreeks>;
  positions: PositionBreakdown[];
  grid?: UnderlyingGridBreakdown[];
  components?: Record<string, number>;
  /** numeraire of the figures when not USD (a segregated coin account), with USD equivalents */
  currency?: string;
  usd?: UsdFigures;
  pme?: PmeCurrencyBreakdown[];
  varEs?: VarEsBreakdown;
  okx?: OkxRiskUnitBreakdown[];
}
