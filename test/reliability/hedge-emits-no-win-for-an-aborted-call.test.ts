// Review (R2), failing (minor): hedge's new `win` event is documented as "not emitted when the
// call was aborted". When `handle`/`handleResult` itself aborts the caller while judging an
// answer (and says it is no failure), the race ends with the caller's abort reason — but
// Race.#settle then emits `win` for that answer anyway (hedge.ts: `#finishWith(outcome)` is a
// no-op when the race is over, and `emitWin` follows unconditionally). A metric of wins then
// counts a call that the caller saw rejected with its abort reason.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hedge } from '../../src/index.js';

describe('hedge win for a call aborted while its answer was judged', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('emits no win when handleResult aborts the caller and lets the value through', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gone');
    const policy = hedge({
      delay: 100,
      handleResult: () => {
        controller.abort(reason);
        return false; // no failure: this answer would win
      },
    });
    const wins: unknown[] = [];
    policy.on('win', (e) => wins.push(e));
    const call = policy.execute(() => Promise.resolve('value'), controller.signal);
    await expect(call).rejects.toBe(reason); // the caller's abort ends it (as it does today)
    expect(wins).toEqual([]); // but a win was counted for it
  });

  it('emits no win when handle aborts the caller and lets the error through', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gone');
    const policy = hedge({
      delay: 100,
      handle: () => {
        controller.abort(reason);
        return false;
      },
    });
    const wins: unknown[] = [];
    policy.on('win', (e) => wins.push(e));
    const call = policy.execute(() => Promise.reject(new Error('boom')), controller.signal);
    await expect(call).rejects.toBe(reason);
    expect(wins).toEqual([]);
  });
});
