/**
 * A member's outputs of one feed position, split into reports that fit the broker's max payload
 * (a collect's results are the large ones), and merged back on the controller.
 */
import { ErrorCodes, OptmarginError } from '../errors.js';
import { pack } from './protocol.js';
import type { Output } from './resident-protocol.js';

/** Outputs in parts of at most 90 % of `maxPayload` bytes each (results split across outputs of the same position). */
export function splitOutputs(outs: Output[], maxPayload: number): Output[][] {
  const limit = Math.floor(maxPayload * 0.9) - 512;
  const pieces: { out: Output; bytes: number }[] = [];
  const cut = (o: Output): void => {
    const bytes = pack(o).length;
    if (bytes <= limit) return void pieces.push({ out: o, bytes });
    const r = o.results;
    if (!r || r.length < 2) throw new OptmarginError(ErrorCodes.CLUSTER_FAILED, `a report of feed position ${o.pos} is ${bytes} bytes, more than the broker's max payload (${maxPayload}): raise max_payload in nats-server`);
    const mid = r.length >> 1;
    cut({ ...o, results: r.slice(0, mid) });
    cut({ pos: o.pos, changed: 0, events: [], results: r.slice(mid) });
  };
  for (const o of outs) cut(o);
  const parts: Output[][] = [[]];
  let size = 0;
  for (const p of pieces) {
    if (size + p.bytes > limit && parts[parts.length - 1].length) {
      parts.push([]);
      size = 0;
    }
    parts[parts.length - 1].push(p.out);
    size += p.bytes;
  }
  return parts;
}

/** One position's outputs from every member, merged. */
export class Gathered {
  changed = 0;
  events: Output['events'] = [];
  results: NonNullable<Output['results']> = [];
  trade: Output['trade'];
  error: Output['error'];

  add(o: Output): void {
    this.changed += o.changed;
    for (const e of o.events) this.events.push(e);
    if (o.results) for (const r of o.results) this.results.push(r);
    if (o.trade) this.trade = o.trade;
    if (o.error) this.error ??= o.error;
  }
}
