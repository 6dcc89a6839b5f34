/** The links a node carries itself, so the queue allocates nothing per entry. */
export interface Linked<N> {
  prev: N | undefined;
  next: N | undefined;
}

/**
 * An intrusive doubly-linked FIFO. Enqueue, dequeue and removal of any node
 * (a waiter that aborted or timed out) are O(1): no `Array#shift`, which is
 * O(n) and turns a drain of n waiters into O(n²), and no scan to find a node.
 * A node belongs to at most one queue at a time.
 */
export class LinkedQueue<N extends Linked<N>> {
  // #private: minifiers shorten these names, plain properties they cannot (bench/bundle.mjs).
  #head: N | undefined = undefined;
  #tail: N | undefined = undefined;
  #count = 0;

  /** Nodes in the queue. */
  get size(): number {
    return this.#count;
  }

  /** Appends `node`, which must not be in a queue. */
  push(node: N): void {
    node.prev = this.#tail;
    node.next = undefined;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#count++;
  }

  /** Removes and returns the oldest node. */
  shift(): N | undefined {
    const node = this.#head;
    if (node === undefined) return undefined;
    this.#head = node.next;
    if (this.#head === undefined) this.#tail = undefined;
    else this.#head.prev = undefined;
    node.next = undefined;
    this.#count--;
    return node;
  }

  /** Unlinks `node` wherever it is; `false` if it was not queued (already dequeued or removed). */
  remove(node: N): boolean {
    // Queued exactly while linked, or the head.
    if (node.prev === undefined && this.#head !== node) return false;
    if (node.prev === undefined) this.#head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.#count--;
    return true;
  }
}
