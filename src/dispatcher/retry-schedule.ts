/**
 * When to try again. EXPONENTIAL follows the common hosted-webhook schedule; FIXED is
 * Green API's promise (every minute for 24 hours by default).
 */
export interface RetryPolicySettings {
  readonly policy: "EXPONENTIAL" | "FIXED";
  readonly intervalSeconds: number;
  readonly windowSeconds: number;
}

/** Delays after the 1st, 2nd, … failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts in all). */
export const EXPONENTIAL_DELAYS_MS: readonly number[] = [5e3, 300e3, 1_800e3, 7_200e3, 18_000e3, 36_000e3, 36_000e3];

/** Spread of the jitter: each exponential delay is scaled by a factor in [1 - JITTER, 1 + JITTER]. */
export const JITTER = 0.1;

export interface RetryDecision {
  /** When to try again, or null when the schedule is spent (the delivery FAILED). */
  readonly nextAttemptAt: Date | null;
}

/**
 * @param attemptsMade attempts so far, including the one that just failed (1 after the first)
 * @param firstQueuedAt when the delivery was created: FIXED windows count from here
 * @param retryAfterMs the receiver's Retry-After on 429/503, honoured while it stays inside the window
 * @param random a number in [0, 1) for jitter (injectable for tests)
 */
export function nextAttempt(
  settings: RetryPolicySettings,
  attemptsMade: number,
  firstQueuedAt: Date,
  now: Date,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): RetryDecision {
  const windowEnd = firstQueuedAt.getTime() + windowMs(settings);
  let at: number;
  if (settings.policy === "FIXED") {
    at = now.getTime() + settings.intervalSeconds * 1000;
  } else {
    const base = EXPONENTIAL_DELAYS_MS[attemptsMade - 1];
    if (base === undefined) return { nextAttemptAt: null };
    at = now.getTime() + Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  }
  if (retryAfterMs !== undefined && retryAfterMs > 0 && now.getTime() + retryAfterMs <= windowEnd) {
    at = Math.max(at, now.getTime() + retryAfterMs);
  }
  if (at > windowEnd) return { nextAttemptAt: null };
  return { nextAttemptAt: new Date(at) };
}

/** How long a delivery may keep retrying. EXPONENTIAL: the schedule's length with the largest jitter. */
export function windowMs(settings: RetryPolicySettings): number {
  if (settings.policy === "FIXED") return settings.windowSeconds * 1000;
  return Math.ceil(EXPONENTIAL_DELAYS_MS.reduce((a, b) => a + b, 0) * (1 + JITTER));
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now.getTime());
}
