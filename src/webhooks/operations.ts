import { newSigningSecret } from "../auth/tokens.js";
import type { Clock } from "../clock.js";
import { parkDeliveries, releaseDeferred, resumeDeliveries, setOrdering } from "../dispatcher/delivery-queue.js";
import { badInput, notFound, webhookNotFound } from "../errors.js";
import type { Publisher } from "../publishing/publisher.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { foundWebhook } from "./lookups.js";
import { checkSettings, credentialsLeftBehind, rotatedSecret, type SettingsInput, type WebhookSettingsDeps } from "./settings.js";

// What createWebhook, updateWebhook, deleteWebhook and rotateWebhookSecret do once the caller is
// allowed to: the GraphQL fields (schema/webhooks.ts) only parse their arguments and call these.

/** A webhook as stored. */
export type WebhookRow = Prisma.WebhookGetPayload<object>;

/** What a change to a webhook reaches besides the settings rules: the time, and the dispatcher's wake-up. */
export interface WebhookWriteDeps extends WebhookSettingsDeps {
  readonly clock: Clock;
  readonly publisher: Pick<Publisher, "deliveriesQueued">;
}

/** The columns and relations to answer with (what the GraphQL selection asks for). */
export interface WebhookRead {
  readonly select?: Prisma.WebhookSelect;
  readonly include?: Prisma.WebhookInclude;
}

export interface NewWebhookInput extends SettingsInput {
  deliveryMode?: "PUSH" | "PULL" | null;
}

/** A new webhook of `serviceId`, with its signing secret (shown only now). */
export async function createWebhook(
  deps: WebhookSettingsDeps,
  serviceId: number,
  input: NewWebhookInput,
): Promise<{ webhook: WebhookRow; signingSecret: string }> {
  if (!(await deps.prisma.service.findUnique({ where: { id: serviceId }, select: { id: true } }))) {
    throw notFound(`service ${serviceId}`);
  }
  const deliveryMode = input.deliveryMode ?? "PUSH";
  if (deliveryMode === "PULL" && input.url != null) throw badInput("input.url", "a PULL webhook has no URL (nothing is called: its consumer receives the deliveries)");
  if (deliveryMode === "PUSH" && input.url == null) throw badInput("input.url", "required for a PUSH webhook (or give deliveryMode: PULL)");
  if (deliveryMode === "PULL") refusePushOnlySettings(input);
  const { data, eventTypeIds } = await checkSettings(deps, input, true);
  const signingSecret = newSigningSecret();
  const webhook = await deps.prisma.webhook.create({
    data: {
      ...(data as Prisma.WebhookUncheckedCreateInput),
      url: deliveryMode === "PULL" ? "" : (data.url as string),
      deliveryMode,
      requestHeadersSealed: data.requestHeadersSealed as string,
      serviceId,
      signingSecretSealed: deps.secrets.seal(signingSecret),
      eventTypes: { create: eventTypeIds!.map((eventTypeId) => ({ eventTypeId })) },
    },
  });
  return { webhook, signingSecret };
}

/**
 * Order and rate are how the dispatcher calls a PUSH webhook. A PULL webhook's consumer already
 * receives in order, one batch at a time, at its own pace: these would mean nothing there.
 */
function refusePushOnlySettings(input: { ordering?: string | null; maxDeliveriesPerSecond?: number | null }): void {
  if (input.ordering === "FIFO") throw badInput("input.ordering", "a PULL webhook is always received in order (one batch at a time); FIFO is for PUSH webhooks");
  if (input.maxDeliveriesPerSecond != null) {
    throw badInput("input.maxDeliveriesPerSecond", "a PULL webhook's consumer takes deliveries at its own pace; the rate limit is for PUSH webhooks");
  }
}

/** Changes the settings given, with the delivery queue following them, in one transaction; answers the webhook as `read` asks. */
export async function updateWebhook(deps: WebhookWriteDeps, id: number, input: SettingsInput, read: WebhookRead): Promise<WebhookRow> {
  const { data, eventTypeIds } = await checkSettings(deps, input, false);
  const updated = await deps.prisma.$transaction(async (tx) => {
    const current = foundWebhook(id, await tx.webhook.findUnique({ where: { id }, select: { url: true, deliveryMode: true } }));
    if (current.deliveryMode === "PULL" && input.url != null) {
      throw badInput("input.url", "a PULL webhook has no URL (its delivery mode is set when it is created)");
    }
    if (current.deliveryMode === "PULL") refusePushOnlySettings(input);
    Object.assign(data, credentialsLeftBehind(deps, current.url, input));
    if (eventTypeIds) {
      await tx.webhookEventType.deleteMany({ where: { webhookId: id } });
      await tx.webhookEventType.createMany({ data: eventTypeIds.map((eventTypeId) => ({ webhookId: id, eventTypeId })) });
    }
    // Switched to FIFO or back: the waiting deliveries get (or lose) their places in line.
    if (input.ordering != null) await setOrdering(tx, id, input.ordering === "FIFO", deps.clock.now());
    // A new rate (or none): the turns the old one gave are taken back.
    if (input.maxDeliveriesPerSecond !== undefined) await releaseDeferred(tx, id, deps.clock.now());
    // Switched off: its waiting deliveries leave the dispatcher's due range. On: due at once.
    if (input.isActive != null) {
      const now = deps.clock.now();
      await (input.isActive ? resumeDeliveries : parkDeliveries)(tx, id, now);
    }
    return tx.webhook.update({ ...read, where: { id }, data });
  });
  if (input.isActive) deps.publisher.deliveriesQueued();
  return updated;
}

/** Deletes a webhook (its registrations, deliveries and logs go with it). */
export async function deleteWebhook(deps: Pick<WebhookSettingsDeps, "prisma">, id: number): Promise<void> {
  const { count } = await deps.prisma.webhook.deleteMany({ where: { id } });
  if (!count) throw webhookNotFound(id);
}

/** A new signing secret (shown only now); the replaced one keeps signing for a while (settings.ts). */
export async function rotateWebhookSecret(
  deps: Pick<WebhookWriteDeps, "prisma" | "secrets" | "clock">,
  id: number,
): Promise<{ webhook: WebhookRow; signingSecret: string }> {
  const current = foundWebhook(id, await deps.prisma.webhook.findUnique({ where: { id }, select: { signingSecretSealed: true } }));
  const { signingSecret, data } = rotatedSecret(deps.secrets, current.signingSecretSealed, deps.clock.now());
  const webhook = await deps.prisma.webhook.update({ where: { id }, data });
  return { webhook, signingSecret };
}
