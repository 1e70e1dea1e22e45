/**
 * `optmargin/cluster`: the resident sharded book over NATS for a Node backend
 * (docs/scale-out.md "The resident book"). A separate entry: the NATS client loads only for
 * those who import it.
 */
export { ResidentBook, type ResidentBookOptions, type ResidentLoad } from './resident-book.js';
export { bucketOf, owners, rsubjects, DEFAULT_BUCKETS, type Output } from './resident-protocol.js';
export type { HealthEvent, HealthEventType, TickBody } from '../runner/book/health.js';
