import type { Bus } from "../pubsub/bus.js";
import { topics } from "../pubsub/bus.js";

/**
 * Tells the dispatchers of other processes that deliveries were queued, so a worker process
 * (HOOKGATE_ROLE=worker beside api processes) sends a new event's deliveries at once instead of
 * at its next poll (HOOKGATE_POLL_MS). Only over Redis: without it there is one process, or
 * processes that share no bus and find new deliveries by polling.
 *
 * The message carries nothing (the queue in the store is the record; a lost message costs one
 * poll interval), and at most one goes out per COALESCE_MS however many publishes commit in it,
 * so the publish path pays a flag check per call, not a Redis command.
 */
export interface WakeSignal {
  /** Deliveries were queued in this process. */
  queued(): void;
  close(): void;
}

/** One message per this many ms at most, whatever the publish rate. */
const COALESCE_MS = 5;

export function createWakeSignal(bus: Bus, wakeHere: (() => void) | undefined): WakeSignal {
  if (!bus.shared) return { queued: () => wakeHere?.(), close: () => undefined };
  // Every process with a dispatcher listens (its own messages wake it once more: harmless).
  const unsubscribe = wakeHere ? bus.subscribe(topics.deliveriesQueued, () => wakeHere()) : () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let again = false;
  const send = () => {
    bus.publish(topics.deliveriesQueued, {});
    timer = setTimeout(() => {
      timer = undefined;
      if (again) {
        again = false;
        send();
      }
    }, COALESCE_MS);
    timer.unref();
  };
  return {
    queued() {
      wakeHere?.();
      if (timer) again = true;
      else send();
    },
    close() {
      clearTimeout(timer);
      unsubscribe();
    },
  };
}
