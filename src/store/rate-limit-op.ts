// STUB: owned by the rate-limit helper — the ScriptOp (Lua + memory twin) and its request/reply types.
import type { ScriptOp } from './types.js';

/** What an instance asks of the store. */
export interface RateLimitRequest {
  readonly instance: string;
}
/** What the store answers. */
export interface RateLimitReply {
  readonly instances: number;
}
/** @internal */
export declare const rateLimitOp: ScriptOp<RateLimitRequest, RateLimitReply>;
