// STUB: owned by the budget helper — the ScriptOp (Lua + memory twin) and its request/reply types.
import type { ScriptOp } from './types.js';

/** What an instance asks of the store. */
export interface BudgetRequest {
  readonly instance: string;
}
/** What the store answers. */
export interface BudgetReply {
  readonly instances: number;
}
/** @internal */
export declare const budgetOp: ScriptOp<BudgetRequest, BudgetReply>;
