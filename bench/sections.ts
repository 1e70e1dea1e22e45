/**
 * Benchmark sections beyond the pricing kernels (margin, book engine), each a
 * function returning a markdown section. Registered here so run.ts stays small.
 */
import type { Section } from './lib.js';
import { marginSection } from './margin.js';

export interface SectionContext {
  quick: boolean;
  /** --long: the sections' long runs in full (the liquidation section's 1,000-step path) */
  long?: boolean;
  runBench: (tasks: [string, () => void][], time?: number) => Promise<Map<string, { meanMs: number; p99Ms: number; rme: number }>>;
}

/** Sections by name (`npm run bench -- --only NAME[,NAME…]` runs those alone). */
export const extraSections: { name: string; make: (ctx: SectionContext) => Promise<Section> }[] = [
  { name: 'margin', make: marginSection },
  { name: 'book', make: (ctx) => import('./book.js').then((m) => m.bookSection(ctx)) },
  { name: 'book-cli', make: (ctx) => import('./book-cli.js').then((m) => m.bookCliSection(ctx)) },
  { name: 'serve', make: (ctx) => import('./serve.js').then((m) => m.serveSection(ctx)) },
  { name: 'var', make: (ctx) => import('./var.js').then((m) => m.varSection(ctx)) },
  { name: 'liquidation', make: (ctx) => import('./liquidation.js').then((m) => m.liquidationSection(ctx)) },
  { name: 'cluster', make: (ctx) => import('./cluster.js').then((m) => m.clusterSection(ctx)) },
];
