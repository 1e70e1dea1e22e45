/**
 * Benchmark sections beyond the pricing kernels (margin, book engine), each a
 * function returning a markdown section. Registered here so run.ts stays small.
 */
import type { Section } from './lib.js';
import { marginSection } from './margin.js';

export interface SectionContext {
  quick: boolean;
  runBench: (tasks: [string, () => void][], time?: number) => Promise<Map<string, { meanMs: number; p99Ms: number; rme: number }>>;
}

export const extraSections: ((ctx: SectionContext) => Promise<Section>)[] = [
  marginSection,
  (ctx) => import('./book.js').then((m) => m.bookSection(ctx)),
  (ctx) => import('./book-cli.js').then((m) => m.bookCliSection(ctx)),
  (ctx) => import('./serve.js').then((m) => m.serveSection(ctx)),
  (ctx) => import('./var.js').then((m) => m.varSection(ctx)),
  (ctx) => import('./liquidation.js').then((m) => m.liquidationSection(ctx)),
  (ctx) => import('./cluster.js').then((m) => m.clusterSection(ctx)),
];
