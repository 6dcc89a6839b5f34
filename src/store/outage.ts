import type { StoreLink } from './types.js';

type Emit = (event: 'storeError' | 'storeRecovered', payload: { error: unknown } | { downtime: number }) => void;

/**
 * One policy's view of its store's outages: `storeError` once when the policy
 * first meets a failure, `storeRecovered` once when the store answers again.
 * It listens to the link only during an outage, so an idle policy that is
 * dropped leaves nothing behind.
 * @internal
 */
export class Outage {
  #active = false;

  constructor(
    readonly link: StoreLink,
    readonly emit: Emit,
  ) {}

  /** Whether this policy is in an outage: it emitted `storeError`, not yet `storeRecovered`. */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Call when a store operation failed (an abort of the caller's own signal is no failure).
   * A failure the link did not count (the store is up: an operation sent before the last
   * recovery that failed late) begins no outage.
   */
  failed(error: unknown): void {
    if (this.#active || !this.link.down) return;
    this.#active = true;
    this.emit('storeError', { error });
    this.link.onUp((downtime) => {
      this.#active = false;
      this.emit('storeRecovered', { downtime });
    });
  }
}
