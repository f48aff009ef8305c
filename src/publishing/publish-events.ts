import { contextRateLimitKey, type RateLimitedCaller, type RateLimits } from "../auth/rate-limits.js";
import { badInput, gatewayError } from "../errors.js";
import { PublishError, type PublishOutcome, type PublishRequest, type Publisher } from "./publisher.js";

// publishEvent and publishEvents once the caller is allowed to: the per-token publish limit, then
// the publisher, with its refusals turned into the API's errors at the input field they name.

/** What publishing on a client's behalf reaches: who is asking (for the limit), the limits, the publisher. */
export interface PublishEventsDeps extends RateLimitedCaller {
  readonly rateLimits: Pick<RateLimits, "consume">;
  readonly publisher: Pick<Publisher, "publish">;
}

/** Publishes the batch; `field(i)` is the input path of request i ("input", "input.events[2]"). */
export async function publishEvents(
  deps: PublishEventsDeps,
  field: (index: number) => string,
  requests: PublishRequest[],
): Promise<PublishOutcome[]> {
  // Counted per event, before anything is written: a refused batch stores nothing.
  await deps.rateLimits.consume(contextRateLimitKey(deps), "publish", requests.length);
  try {
    return await deps.publisher.publish(requests);
  } catch (error) {
    if (error instanceof PublishError) {
      const at = `${field(error.index)}.${error.field}`;
      throw error.code === "NOT_FOUND" ? gatewayError("NOT_FOUND", `${at}: ${error.message}`, { field: at }) : badInput(at, error.message);
    }
    throw error;
  }
}
