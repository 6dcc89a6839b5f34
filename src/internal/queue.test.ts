import { describe, expect, it } from 'vitest';
import { type Linked, LinkedQueue } from './queue.js';
import { seededRandom } from './random.js';

class Node implements Linked<Node> {
  prev: Node | undefined = undefined;
  next: Node | undefined = undefined;
  constructor(readonly id: number) {}
}

function drain(queue: LinkedQueue<Node>): number[] {
  const ids: number[] = [];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) ids.push(node.id);
  return ids;
}

describe('LinkedQueue', () => {
  it('hands nodes back in the order they were pushed', () => {
    const queue = new LinkedQueue<Node>();
    for (let i = 0; i < 5; i++) queue.push(new Node(i));
    expect(queue.size).toBe(5);
    expect(drain(queue)).toEqual([0, 1, 2, 3, 4]);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('removes a node from the head, the middle and the tail, keeping the order of the rest', () => {
    const queue = new LinkedQueue<Node>();
    const nodes = [0, 1, 2, 3, 4].map((id) => new Node(id));
    for (const node of nodes) queue.push(node);
    expect(queue.remove(nodes[2]!)).toBe(true);
    expect(queue.remove(nodes[0]!)).toBe(true);
    expect(queue.remove(nodes[4]!)).toBe(true);
    expect(queue.size).toBe(2);
    queue.push(new Node(5));
    expect(drain(queue)).toEqual([1, 3, 5]);
  });

  it('removes the only node, leaving an empty queue that works again', () => {
    const queue = new LinkedQueue<Node>();
    const only = new Node(1);
    queue.push(only);
    expect(queue.remove(only)).toBe(true);
    expect(queue.size).toBe(0);
    queue.push(new Node(2));
    expect(drain(queue)).toEqual([2]);
  });

  it('refuses to remove a node that was already dequeued or removed, without touching the count', () => {
    const queue = new LinkedQueue<Node>();
    const a = new Node(1);
    const b = new Node(2);
    queue.push(a);
    queue.push(b);
    expect(queue.shift()).toBe(a);
    expect(queue.remove(a)).toBe(false);
    expect(queue.remove(b)).toBe(true);
    expect(queue.remove(b)).toBe(false);
    expect(queue.size).toBe(0);
    expect(queue.remove(new Node(3))).toBe(false);
  });

  it('lets a removed or dequeued node be pushed again', () => {
    const queue = new LinkedQueue<Node>();
    const a = new Node(1);
    queue.push(a);
    queue.push(new Node(2));
    queue.remove(a);
    queue.push(a);
    expect(drain(queue)).toEqual([2, 1]);
  });

  it('agrees with an array model under a seeded random mix of push, shift and remove', () => {
    const random = seededRandom(42);
    const queue = new LinkedQueue<Node>();
    const model: Node[] = [];
    let id = 0;
    let mismatches = 0;
    for (let step = 0; step < 20_000; step++) {
      const roll = random();
      if (roll < 0.5) {
        const node = new Node(id++);
        queue.push(node);
        model.push(node);
      } else if (roll < 0.75) {
        if (queue.shift() !== model.shift()) mismatches++;
      } else if (model.length > 0) {
        const at = Math.floor(random() * model.length);
        if (!queue.remove(model[at]!)) mismatches++;
        model.splice(at, 1);
      }
      if (queue.size !== model.length) mismatches++; // the order: by what shift returns
    }
    expect(mismatches).toBe(0);
    expect(id).toBeGreaterThan(9_000);
    expect(drain(queue)).toEqual(model.map((node) => node.id));
  });
});
