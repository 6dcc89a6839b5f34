// STUB: owned by the store helper (A).
import type { StoreBackend, StoreLink } from './types.js';

/** @internal */
export class StoreLinkImpl implements StoreLink {
  readonly down = false;
  constructor(
    readonly backend: StoreBackend,
    readonly timeout: number,
  ) {}
  run<R>(op: (backend: StoreBackend) => Promise<R>): Promise<R> {
    return op(this.backend);
  }
  onUp(up: (downtime: number) => void): () => void {
    up(0);
    return () => {};
  }
}
