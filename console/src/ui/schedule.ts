import { EXPONENTIAL_DELAYS_MS, JITTER } from "../../../src/dispatcher/retry-schedule";
import { duration } from "./common";

/** The retry schedule in words, from the dispatcher's own constants (one place for the rule). */
export function scheduleInWords(policy: string, intervalSeconds: number, windowSeconds: number): string {
  if (policy === "FIXED") {
    if (!intervalSeconds || !windowSeconds) return "Give an interval and a window.";
    const attempts = Math.floor(windowSeconds / intervalSeconds) + 1;
    return `First attempt at once, then every ${duration(intervalSeconds)} for ${duration(windowSeconds)} from the event: at most ${attempts} attempts.`;
  }
  const steps = EXPONENTIAL_DELAYS_MS.map((ms) => duration(ms / 1000));
  const total = EXPONENTIAL_DELAYS_MS.reduce((a, b) => a + b, 0) / 1000;
  return `First attempt at once, then after ${steps.join(", ")} (each ±${Math.round(JITTER * 100)} %): ${EXPONENTIAL_DELAYS_MS.length + 1} attempts over about ${duration(Math.round(total))}.`;
}
