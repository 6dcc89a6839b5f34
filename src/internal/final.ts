// A call whose request cannot be sent again: resilientFetch adds its attempt
// function once a send-once request (a POST) went out. The built-in retry and
// hedge then give up on a failure at once, with no `retry` or `hedge` event and
// no budget spent, and the failure itself travels on to an outer fallback or
// breaker. Keyed by the call's `fn`, which every context of the call carries.
// A bare WeakSet rather than functions around one: retry's bundle pays for every byte.

/** The `fn`s of calls that no further attempt can send anything for. */
export const finals = /* @__PURE__ */ new WeakSet<object>();
