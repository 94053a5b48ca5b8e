// Restart delays: exponential, capped. Pure so it can be tested without waiting.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/** Delay before restart number `attempt` (1-based): base, 2 x base, 4 x base, ... up to max. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = defaultBackoff): number {
  if (attempt < 1) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
}

/** A process that ran this long before dying counts as healthy: its restart counter starts over. */
export const healthyAfterMs = 60_000;
