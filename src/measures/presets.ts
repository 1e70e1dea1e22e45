/**
 * The shipped presets as importable data (the JSON files of presets/, bundled by any bundler;
 * nothing is read from disk). A new preset file is listed here too: test/models.test.ts checks
 * that this index and the folder agree.
 */
import aevo15 from '../../presets/aevo-15.json' with { type: 'json' };
import deribitPm from '../../presets/deribit-pm.json' with { type: 'json' };
import deribitPm2024 from '../../presets/deribit-pm-2024.1.json' with { type: 'json' };
import deribitStandard from '../../presets/deribit-standard.json' with { type: 'json' };
import deribitStandard2024 from '../../presets/deribit-standard-2024.1.json' with { type: 'json' };
import deribitXpm from '../../presets/deribit-xpm.json' with { type: 'json' };
import okxPm from '../../presets/okx-pm.json' with { type: 'json' };
import lyraPmrm from '../../presets/lyra-pmrm.json' with { type: 'json' };
import span16 from '../../presets/span-16.json' with { type: 'json' };
import varEs975 from '../../data/var-es/var-es-975.json' with { type: 'json' };
import varEsVar99 from '../../data/var-es/var-es-var99.json' with { type: 'json' };

/** The model a book, a stress, a simulation or a resident book uses when none is given (the CLI's and the server's default). */
export const DEFAULT_BOOK_MODEL = 'deribit-pm-2024.1';

/** Raw parameter objects by preset id (validated when loaded). */
export const PRESET_DATA: Readonly<Record<string, unknown>> = {
  'aevo-15': aevo15,
  'deribit-pm': deribitPm,
  'deribit-pm-2024.1': deribitPm2024,
  'deribit-standard': deribitStandard,
  'deribit-standard-2024.1': deribitStandard2024,
  'deribit-xpm': deribitXpm,
  'lyra-pmrm': lyraPmrm,
  'okx-pm': okxPm,
  'span-16': span16,
};

/**
 * The risk-based (var-es) presets, data/var-es/*.json: loadable by id like the presets, but they
 * need a history to run (risk/var-margin.ts withHistory), so they are not in the preset list.
 */
export const RISK_PRESET_DATA: Readonly<Record<string, unknown>> = {
  'var-es-975': varEs975,
  'var-es-var99': varEsVar99,
};
