// STUB: owned by the breaker helper — the ScriptOp (Lua + memory twin) and its request/reply types.
import type { ScriptOp } from './types.js';

/** What an instance asks of the store. */
export interface BreakerRequest {
  readonly instance: string;
}
/** What the store answers. */
export interface BreakerReply {
  readonly instances: number;
}
/** @internal */
export declare const breakerOp: ScriptOp<BreakerRequest, BreakerReply>;
