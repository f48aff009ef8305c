import type { Logger } from "../log.js";
import type { SqlClient } from "../store/database.js";
import { isReservedEventName, type Publisher, type PublishRequest } from "./publisher.js";

/**
 * Hookgate's operational events (README, "Operational events"): after the dispatcher has stored
 * a batch of attempts, the deliveries that failed finally and the webhooks that were disabled
 * are published, through the publisher (so the dispatcher, metrics and live subscriptions see
 * them like any event), each to the service that owns the webhook concerned and to no other.
 * One publish per recorded batch. A batch with neither costs one pass over its records.
 *
 * No loops: a delivery of a hookgate.* event that fails finally produces no event (and a
 * webhook disabled by such failures produces hookgate.webhook.disabled once, as any other: a
 * disabled webhook is not sent anything, so it cannot be disabled again until it is enabled).
 */
export const OPERATIONAL_EVENT_TYPES = {
  deliveryFailed: "hookgate.delivery.failed",
  webhookDisabled: "hookgate.webhook.disabled",
  webhookFailing: "hookgate.webhook.failing",
} as const;

/** A webhook whose failure streak reached HOOKGATE_FAILING_AFTER_FAILURES (reported once per streak by the recorder). */
export interface FailingWebhookReport {
  readonly id: number;
  readonly consecutiveFailures: number;
  readonly failingSince: Date | null;
  /** When it was marked failing (the recorder's clock). */
  readonly reportedAt: Date;
}

/** What this module reads of a recorded attempt (the dispatcher's AttemptRecord is one). */
export interface RecordedAttempt {
  readonly deliveryId: string;
  readonly webhookId: number;
  readonly status: "SUCCEEDED" | "RETRYING" | "FAILED";
  readonly attemptNumber: number;
  readonly responseStatus: number | null;
  readonly errorClass: string | null;
  readonly errorMessage: string | null;
}

export interface OperationalEvents {
  /** Called after a batch of attempts is stored; never throws, and publishes in the background. */
  recorded(
    records: readonly RecordedAttempt[],
    disabled: readonly { readonly id: number; readonly reason: string }[],
    failing?: readonly FailingWebhookReport[],
  ): void;
  /** Resolves when what was handed over so far is published (tests, shutdown). */
  idle(): Promise<void>;
}

const FAILED_DELIVERIES = `
SELECT d.id::text AS delivery_id, d.event_id::text AS event_id, e.event_name, w.id AS webhook_id, w.url, w.service_id,
       d.updated_at
FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
WHERE d.id = ANY($1::bigint[]) AND d.status = 'FAILED'`;

const DISABLED_WEBHOOKS = `
SELECT id, url, service_id, disabled_at FROM webhooks WHERE id = ANY($1::int[])`;

export function createOperationalEvents(sql: SqlClient, publisher: Publisher, logger: Logger): OperationalEvents {
  let pending: Promise<void> = Promise.resolve();

  async function publish(
    records: readonly RecordedAttempt[],
    failed: readonly RecordedAttempt[],
    disabled: readonly { id: number; reason: string }[],
    failing: readonly FailingWebhookReport[],
  ): Promise<void> {
    const requests: PublishRequest[] = [];
    if (failing.length) requests.push(...(await failingRequests(records, failing)));
    if (failed.length) {
      const byId = new Map(failed.map((r) => [r.deliveryId, r]));
      const rows = await sql.query<{
        delivery_id: string;
        event_id: string;
        event_name: string;
        webhook_id: number;
        url: string;
        service_id: number;
        updated_at: Date | string;
      }>(FAILED_DELIVERIES, [[...byId.keys()]]);
      for (const row of rows) {
        // Never about a delivery of an operational event: a failing receiver of these must not feed itself.
        if (isReservedEventName(row.event_name)) continue;
        const r = byId.get(row.delivery_id)!;
        requests.push({
          eventName: OPERATIONAL_EVENT_TYPES.deliveryFailed,
          ownerServiceId: Number(row.service_id),
          payload: {
            deliveryId: row.delivery_id,
            eventId: row.event_id,
            eventName: row.event_name,
            webhookId: String(row.webhook_id),
            url: row.url,
            serviceId: String(row.service_id),
            attempts: r.attemptNumber,
            lastStatus: r.responseStatus,
            lastError: errorText(r),
            failedAt: new Date(row.updated_at).toISOString(),
          },
        });
      }
    }
    if (disabled.length) {
      const reasons = new Map(disabled.map((d) => [d.id, d.reason]));
      const rows = await sql.query<{ id: number; url: string; service_id: number; disabled_at: Date | string | null }>(DISABLED_WEBHOOKS, [
        [...reasons.keys()],
      ]);
      for (const row of rows) {
        requests.push({
          eventName: OPERATIONAL_EVENT_TYPES.webhookDisabled,
          ownerServiceId: Number(row.service_id),
          payload: {
            webhookId: String(row.id),
            url: row.url,
            serviceId: String(row.service_id),
            reason: reasons.get(Number(row.id))!,
            disabledAt: new Date(row.disabled_at ?? Date.now()).toISOString(),
          },
        });
      }
    }
    if (requests.length) await publisher.publish(requests);
  }

  /** hookgate.webhook.failing, with the last failed attempt of each webhook in the batch. */
  async function failingRequests(records: readonly RecordedAttempt[], failing: readonly FailingWebhookReport[]): Promise<PublishRequest[]> {
    const rows = await sql.query<{ id: number; url: string; service_id: number }>(DISABLED_WEBHOOKS, [failing.map((f) => f.id)]);
    const last = new Map<number, RecordedAttempt>();
    for (const r of records) if (r.status !== "SUCCEEDED") last.set(r.webhookId, r);
    return rows.map((row) => {
      const f = failing.find((x) => x.id === Number(row.id))!;
      const r = last.get(Number(row.id));
      return {
        eventName: OPERATIONAL_EVENT_TYPES.webhookFailing,
        ownerServiceId: Number(row.service_id),
        payload: {
          webhookId: String(row.id),
          url: row.url,
          serviceId: String(row.service_id),
          consecutiveFailures: f.consecutiveFailures,
          failingSince: f.failingSince ? f.failingSince.toISOString() : null,
          lastStatus: r?.responseStatus ?? null,
          lastError: r ? errorText(r) : null,
          reportedAt: f.reportedAt.toISOString(),
        },
      };
    });
  }

  return {
    recorded(records, disabled, failing = []) {
      let failed: RecordedAttempt[] | undefined;
      for (const r of records) if (r.status === "FAILED") (failed ??= []).push(r);
      if (!failed && !disabled.length && !failing.length) return; // the common case: nothing to say
      const batch = failed ?? [];
      pending = pending
        .then(() => publish(records, batch, disabled, failing))
        .catch((error: unknown) => logger.error({ err: error }, "publishing operational events failed; they are lost (the deliveries and webhooks are stored as they are)"));
    },
    idle() {
      return pending;
    },
  };
}

/** An attempt's error as the payloads carry it: "HTTP_STATUS: HTTP 500", "TIMEOUT: …". */
function errorText(r: RecordedAttempt): string | null {
  return r.errorClass === null ? r.errorMessage : `${r.errorClass}: ${r.errorMessage ?? ""}`.trim();
}
