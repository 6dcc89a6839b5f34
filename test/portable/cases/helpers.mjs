// Helpers shared by the cases.

/** A function that fails `failures` times with distinct errors, then returns `value`. */
export function flaky(failures, value = 'ok') {
  const calls = [];
  const fn = (ctx) => {
    calls.push(ctx.attempt);
    if (calls.length <= failures) throw new Error(`failure ${calls.length}`);
    return value;
  };
  return { fn, calls };
}

/** Records the payloads of `events` of `policy`, as [event, payload] pairs. */
export function record(policy, ...events) {
  const seen = [];
  for (const event of events) policy.on(event, (payload) => seen.push([event, payload]));
  return seen;
}
