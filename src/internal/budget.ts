import type { RetryBudgetLike } from '../retry.js';
import type { Ctx } from './context.js';

/**
 * Tells `budget` of the call's first attempt, unless a policy around this one
 * already told it of this call: one call is one first attempt, however many
 * policies share a budget (a retry around a hedge, a hedge around a retry, a
 * retry inside a retry). Otherwise a budget shared by two nested policies
 * would count every call twice and allow twice the retries its ratio says.
 * The mark rides on the context, which every context derived from it copies
 * (also the one inside a user's own policy): a policy marks the context it
 * runs with before it derives any, so the contexts inside see the mark.
 */
export function countFirstAttempt(ctx: Ctx, budget: RetryBudgetLike): void {
  const counted = ctx.budgets;
  if (counted === budget || (Array.isArray(counted) && counted.includes(budget))) return;
  budget.onFirstAttempt();
  // One budget as it is (no array per call); a new array rather than a push: contexts derived earlier keep theirs.
  ctx.budgets = counted === undefined ? budget : [counted, budget].flat();
}
