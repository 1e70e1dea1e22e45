/**
 * The page's side of a worker: typed requests, answers matched by id. A request that fails
 * rejects with the engine's error (code, message, field path) as an EngineError.
 */
import type { Answers, Request, Response, WireError } from './protocol.js';

export class EngineError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
  get path(): string | undefined {
    return this.wire.path;
  }
}

export class EngineClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private readonly worker: Worker;

  constructor(url: string) {
    this.worker = new Worker(url, { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Response>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data.result);
      else p.reject(new EngineError(e.data.error));
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new EngineError({ code: 'OPTMARGIN_INTERNAL', message: `worker failed: ${e.message}` }));
      this.pending.clear();
    };
  }

  call<T extends Request['type']>(req: Extract<Request, { type: T }>): Promise<Answers[T]> {
    const id = this.next++;
    return new Promise<Answers[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, req });
    });
  }
}
