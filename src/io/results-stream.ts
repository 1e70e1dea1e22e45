/**
 * Book results out as a stream: one pass over the accounts in input order feeds the summary
 * (results.ts Summarizer: counts, totals, the worst accounts in a bounded selection) and the output file
 * (ResultsStreamWriter: ~1 MB pieces), so no array of result objects is ever built — memory stays
 * flat whatever the book's size.
 *
 * Formats (docs/book.md): `.json` and `.msgpack` hold one document
 * `{ format, model, marketHash, valuationTime, results: [...], summary }` (the summary last: it is
 * known once every result is out); `.csv` one line per account.
 */
import { encode } from '@msgpack/msgpack';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { msgpackArrayHeader } from './decode.js';
import { CSV_COLUMNS, Summarizer, resultPiece, type BookAccountResult, type BookSummary, type ResultFormat } from './results.js';

export { Summarizer };

export interface ResultsHeader {
  model: { id: string; version: string; hash: string; mechanism: string };
  marketHash: string;
  valuationTime: number;
}

function msgpackMapHeader(n: number): Uint8Array {
  return Uint8Array.of(0x80 | n);
}

/** Writes `n` results then the summary, in ~1 MB pieces to `sink`. */
export class ResultsStreamWriter {
  /** pieces ready to write; `text`: the text pushed since the last bytes (turned into one buffer at once, not one per row) */
  private parts: Uint8Array[] = [];
  private text = '';
  private pending = 0;
  private k = 0;

  constructor(
    private readonly format: ResultFormat,
    private readonly n: number,
    header: ResultsHeader,
    private readonly sink: (chunk: Uint8Array) => void,
  ) {
    const head = { format: 'optmargin.book-results/1', ...header };
    if (format === 'csv') this.push(CSV_COLUMNS.join(',') + '\n');
    else if (format === 'json') this.push(JSON.stringify(head).slice(0, -1) + ',"results":[');
    else {
      this.push(msgpackMapHeader(Object.keys(head).length + 2));
      for (const [key, v] of Object.entries(head)) this.push(encode(key)), this.push(encode(v));
      this.push(encode('results'));
      this.push(msgpackArrayHeader(n));
    }
  }

  private push(p: Uint8Array | string): void {
    if (typeof p === 'string') this.text += p;
    else {
      this.endText();
      this.parts.push(p);
    }
    this.pending += p.length;
    if (this.pending >= 1 << 20) this.flush();
  }

  private endText(): void {
    if (this.text.length === 0) return;
    this.parts.push(Buffer.from(this.text));
    this.text = '';
  }

  private flush(): void {
    this.endText();
    if (this.parts.length === 0) return;
    const chunk = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    this.pending = 0;
    this.sink(chunk);
  }

  add(r: BookAccountResult): void {
    this.push(resultPiece(this.format, r, this.k));
    this.k++;
  }

  /** `count` results already formatted (resultPiece's bytes, in order: a book worker's chunk). */
  addFormatted(bytes: Uint8Array, count: number): void {
    if (bytes.length > 0) this.push(bytes);
    this.k += count;
  }

  end(summary: BookSummary): void {
    if (this.k !== this.n) throw new OptmarginError(ErrorCodes.INTERNAL, `results writer: ${this.k} results written, ${this.n} announced`);
    if (this.format === 'json') this.push(`],"summary":${JSON.stringify(summary)}}\n`);
    else if (this.format === 'msgpack') {
      this.push(encode('summary'));
      this.push(encode(summary));
    }
    this.flush();
  }
}
