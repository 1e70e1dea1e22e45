/**
 * The NATS side of a distributed run: connection (nats:// URLs only), the three JetStream streams
 * and the workers' shared durable pull consumer, created when missing (docs/scale-out.md
 * "Streams"). Whoever connects first creates them; later joiners use them as they are.
 */
import { AckPolicy, connect, DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { ErrorCodes, OptmarginError } from '../errors.js';
import { STREAMS, WORKERS_CONSUMER } from './protocol.js';

export interface BrokerOptions {
  /** seconds a delivered shard may stay unacknowledged before it is redelivered (consumer creation only) */
  ackWaitS?: number;
  /** deliveries of one shard before the broker gives up on it */
  maxDeliver?: number;
  /** name shown in the broker's connection list */
  name?: string;
}

export const DEFAULT_ACK_WAIT_S = 30;
export const DEFAULT_MAX_DELIVER = 10;
const DAY_NS = nanos(24 * 3600 * 1000);
const DUPLICATE_WINDOW_NS = nanos(10 * 60 * 1000);

export function clusterError(message: string): OptmarginError {
  return new OptmarginError(ErrorCodes.CLUSTER_FAILED, message);
}

/** Checks a --nats URL: nats://host:port (one or several, comma-separated). */
export function parseNatsUrl(url: string): string[] {
  const servers = url.split(',').map((s) => s.trim());
  for (const s of servers) {
    let u: URL;
    try {
      u = new URL(s);
    } catch (e) {
      void e; // reported below with the value
      throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--nats must be nats://HOST:PORT, got ${JSON.stringify(url)}`);
    }
    if (u.protocol !== 'nats:' || !u.hostname || !u.port) throw new OptmarginError(ErrorCodes.INVALID_OPTION, `--nats must be nats://HOST:PORT, got ${JSON.stringify(url)}`);
  }
  return servers;
}

/** Connects (a clear CLUSTER_FAILED when the broker is not there); reconnects for up to ~`reconnectS` seconds after a loss. */
export async function connectBroker(url: string, name: string, reconnectS = 20): Promise<NatsConnection> {
  const servers = parseNatsUrl(url);
  try {
    return await connect({ servers, name, maxReconnectAttempts: Math.ceil(reconnectS / 0.5), reconnectTimeWait: 500, timeout: 5000 });
  } catch (e) {
    throw clusterError(`cannot connect to the NATS broker at ${url}: ${(e as Error).message}`);
  }
}

export async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[], workQueue: boolean): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (e) {
    if (!/stream not found/i.test((e as Error).message)) throw e;
  }
  try {
    await jsm.streams.add({
      name,
      subjects,
      storage: StorageType.File,
      retention: workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: DAY_NS,
      duplicate_window: DUPLICATE_WINDOW_NS,
      ...(name === STREAMS.jobs ? { max_msgs_per_subject: 1 } : {}),
    });
  } catch (e) {
    // another process created it meanwhile
    if (!/already in use|exists/i.test((e as Error).message)) throw e;
  }
}

/** The streams and the workers' consumer, created when missing. */
export async function ensureTopology(nc: NatsConnection, opts: BrokerOptions = {}): Promise<JetStreamManager> {
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
  } catch (e) {
    throw clusterError(`the NATS broker has no JetStream (start nats-server with -js): ${(e as Error).message}`);
  }
  await ensureStream(jsm, STREAMS.jobs, ['optmargin.job.>'], false);
  await ensureStream(jsm, STREAMS.work, ['optmargin.work.>'], true);
  await ensureStream(jsm, STREAMS.results, ['optmargin.result.>'], false);
  try {
    await jsm.consumers.info(STREAMS.work, WORKERS_CONSUMER);
  } catch (e) {
    if (!/consumer not found/i.test((e as Error).message)) throw e;
    await jsm.consumers
      .add(STREAMS.work, {
        durable_name: WORKERS_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos((opts.ackWaitS ?? DEFAULT_ACK_WAIT_S) * 1000),
        max_deliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
        filter_subject: 'optmargin.work.>',
      })
      .catch((err: Error) => {
        if (!/already in use|exists/i.test(err.message)) throw err;
      });
  }
  return jsm;
}
