/**
 * The shipped liquidation mechanisms as importable data (presets/liquidation/*.json, bundled by
 * any bundler; nothing read from disk): what a browser passes to loadMechanism / planLiquidation
 * as objects. test/playground-data.test.ts checks that this index and the folder agree.
 */
import binanceAdl from '../../presets/liquidation/binance-adl.json' with { type: 'json' };
import deribitIncremental from '../../presets/liquidation/deribit-incremental.json' with { type: 'json' };
import deribitPmIncremental from '../../presets/liquidation/deribit-pm-incremental.json' with { type: 'json' };
import fixedPrice5pct from '../../presets/liquidation/fixed-price-5pct.json' with { type: 'json' };
import lyraMainnet from '../../presets/liquidation/lyra-mainnet.json' with { type: 'json' };
import lyraPmSim from '../../presets/liquidation/lyra-pm-sim.json' with { type: 'json' };
import lyraTestDefaults from '../../presets/liquidation/lyra-test-defaults.json' with { type: 'json' };
import okxTieredAdl from '../../presets/liquidation/okx-tiered-adl.json' with { type: 'json' };

/** Raw mechanism parameter objects by id (validated when loaded). */
export const MECHANISM_DATA: Readonly<Record<string, unknown>> = {
  'binance-adl': binanceAdl,
  'deribit-incremental': deribitIncremental,
  'deribit-pm-incremental': deribitPmIncremental,
  'fixed-price-5pct': fixedPrice5pct,
  'lyra-mainnet': lyraMainnet,
  'lyra-pm-sim': lyraPmSim,
  'lyra-test-defaults': lyraTestDefaults,
  'okx-tiered-adl': okxTieredAdl,
};
