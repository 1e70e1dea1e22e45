/** Public API of the book engine (issue 5). See docs/book.md. */
export { BookEngine, type BookEngineOptions, type BookLoadReport, type BookUpdate } from '../runner/book/runner.js';
export { generateBook, type GenBookOptions, type GenBookInfo } from '../io/gen-book.js';
export { parseBook, serializeBook, bookFormatOf, writeFileAtomic, InvalidEntry, type BookFormat } from '../io/book-file.js';
export { summarize, serializeResults, formatOf, HEALTHS, type BookAccountResult, type BookAccountOk, type BookAccountError, type BookSummary, type BookRunStats, type ResultsDocument, type ResultFormat } from '../io/results.js';
export { ingestBookParts, type IngestOptions, type IngestReport } from '../io/ingest.js';
export { ColumnParts } from '../instruments/column-parts.js';
export type { BookColumns } from '../instruments/columns.js';
