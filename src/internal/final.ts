// A call whose request cannot be sent again: resilientFetch marks its attempt
// function once a send-once request (a POST) went out. The built-in retry and
// hedge then give up on a failure at once, with no `retry` or `hedge` event and
// no budget spent, and the failure itself travels on to an outer fallback or
// breaker. Keyed by the call's `fn`, which every context of the call carries.

const finals = /* @__PURE__ */ new WeakSet<object>();

/** From now on, no attempt of the call running `fn` can send anything. */
export function markFinal(fn: object): void {
  finals.add(fn);
}

/** Whether another attempt of the call running `fn` would send nothing. */
export function isFinal(fn: object): boolean {
  return finals.has(fn);
}
