/**
 * The shipped presets as importable data (the JSON files of presets/, bundled by any bundler;
 * nothing is read from disk). A new preset file is listed here too: test/models.test.ts checks
 * that this index and the folder agree.
 */
import aevo15 from '../../presets/aevo-15.json' with { type: 'json' };
import deribitPm from '../../presets/deribit-pm.json' with { type: 'json' };
import deribitStandard from '../../presets/deribit-standard.json' with { type: 'json' };
import lyraPmrm from '../../presets/lyra-pmrm.json' with { type: 'json' };
import span16 from '../../presets/span-16.json' with { type: 'json' };

/** Raw parameter objects by preset id (validated when loaded). */
export const PRESET_DATA: Readonly<Record<string, unknown>> = {
  'aevo-15': aevo15,
  'deribit-pm': deribitPm,
  'deribit-standard': deribitStandard,
  'lyra-pmrm': lyraPmrm,
  'span-16': span16,
};
