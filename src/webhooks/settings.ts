import { newSigningSecret } from "../auth/tokens.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { BlockedTargetError, type TargetGuard } from "../dispatcher/target-guard.js";
import { badInput, gatewayError } from "../errors.js";
import { parseEventIdFilter } from "../ids.js";
import type { PrismaClient } from "../store/database.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { findEventTypes } from "./lookups.js";
import { payloadFilterInput } from "./payload-filter-input.js";
import { checkHeaders, checkUrl, type HeaderInput } from "./request-checks.js";

// A webhook's settings rules, apart from the GraphQL types that carry them (schema/webhooks.ts): what
// createWebhook and updateWebhook accept (URL and SSRF check, headers, auth, retry schedule,
// subscriptions), what an origin change drops, and what a secret rotation writes. Each turns
// input into the columns to write, refusing a bad field before anything is written.

/** What the rules reach: the store (event types, jsonpath), the secret box, the SSRF guard. */
export interface WebhookSettingsDeps {
  readonly prisma: PrismaClient;
  readonly secrets: SecretBox;
  readonly targets: TargetGuard;
}

/** The settings fields of CreateWebhookInput and UpdateWebhookInput, as resolvers receive them. */
export type SettingsInput = {
  eventIds?: readonly (string | number)[] | null;
  eventNames?: readonly string[] | null;
  url?: string | null;
  requestMethod?: "POST" | "PUT" | "PATCH" | null;
  requestHeaders?: readonly HeaderInput[] | null;
  isActive?: boolean | null;
  openToCustomers?: boolean | null;
  auth?: { basic?: { username: string; password: string } | null; token?: string | null } | null;
  retryPolicy?: "EXPONENTIAL" | "FIXED" | null;
  retryIntervalSeconds?: number | null;
  retryWindowSeconds?: number | null;
  /** Absent: unchanged; null: removed. */
  payloadFilter?: string | null;
  ordering?: "UNORDERED" | "FIFO" | null;
  fifoOnFailure?: "CONTINUE" | "PAUSE" | null;
  /** Absent: unchanged; null: no limit. */
  maxDeliveriesPerSecond?: number | null;
};

/** The range of maxDeliveriesPerSecond: one delivery every 100 s up to 10,000 a second. */
const MIN_RATE = 0.01;
const MAX_RATE = 10_000;

export interface CheckedSettings {
  data: Prisma.WebhookUncheckedUpdateInput;
  eventTypeIds: number[] | undefined;
}

/** Validates every field before anything is written; unknown event types are NOT_FOUND. */
export async function checkSettings(ctx: WebhookSettingsDeps, input: SettingsInput, creating: boolean): Promise<CheckedSettings> {
  const data: Prisma.WebhookUncheckedUpdateInput = {};
  if (input.url != null) data.url = await checkTarget(ctx, checkUrl("input.url", input.url));
  if (input.requestMethod != null) data.requestMethod = input.requestMethod;
  if (input.requestHeaders != null || creating) {
    const headers = checkHeaders("input.requestHeaders", input.requestHeaders ?? []);
    data.requestHeadersSealed = ctx.secrets.seal(JSON.stringify(headers));
  }
  if (input.isActive != null) {
    data.isActive = input.isActive;
    // Re-enabling clears the reason the gateway disabled it for.
    if (input.isActive) {
      Object.assign(data, { disabledReason: null, disabledAt: null, consecutiveFailures: 0, failingSince: null, failingNotifiedAt: null });
    }
  }
  if (input.openToCustomers != null || creating) data.openToCustomers = input.openToCustomers ?? false;
  if (input.auth !== undefined) Object.assign(data, checkAuth(ctx.secrets, input.auth));
  if (input.retryPolicy != null) data.retryPolicy = input.retryPolicy;
  if (input.retryIntervalSeconds != null) {
    if (!Number.isInteger(input.retryIntervalSeconds) || input.retryIntervalSeconds < 1 || input.retryIntervalSeconds > 86_400) {
      throw badInput("input.retryIntervalSeconds", "must be between 1 and 86400");
    }
    data.retryIntervalSeconds = input.retryIntervalSeconds;
  }
  if (input.retryWindowSeconds != null) {
    if (!Number.isInteger(input.retryWindowSeconds) || input.retryWindowSeconds < 60 || input.retryWindowSeconds > 30 * 86_400) {
      throw badInput("input.retryWindowSeconds", "must be between 60 and 2592000 (30 days)");
    }
    data.retryWindowSeconds = input.retryWindowSeconds;
  }
  if (input.payloadFilter !== undefined) {
    data.payloadFilter = input.payloadFilter === null ? null : await payloadFilterInput(ctx.prisma, "input.payloadFilter", input.payloadFilter);
  }
  if (input.ordering != null) data.ordering = input.ordering;
  if (input.fifoOnFailure != null) data.fifoOnFailure = input.fifoOnFailure;
  if (input.maxDeliveriesPerSecond !== undefined) {
    const rate = input.maxDeliveriesPerSecond;
    if (rate !== null && !(Number.isFinite(rate) && rate >= MIN_RATE && rate <= MAX_RATE)) {
      throw badInput("input.maxDeliveriesPerSecond", `must be between ${MIN_RATE} and ${MAX_RATE} (deliveries per second), or null for no limit`);
    }
    data.maxDeliveriesPerSecond = rate;
  }
  const eventTypeIds = await resolveSubscriptions(ctx, input, creating);
  return { data, eventTypeIds };
}

/**
 * SSRF: a URL whose host is, or resolves to, a private address is refused now (and again at
 * every delivery). A host that does not resolve yet is accepted: its deliveries fail with DNS.
 */
async function checkTarget(ctx: WebhookSettingsDeps, url: string): Promise<string> {
  try {
    await ctx.targets.check(new URL(url).hostname);
  } catch (error) {
    if (error instanceof BlockedTargetError) {
      throw badInput("input.url", `${error.message} (set HOOKGATE_ALLOW_PRIVATE_TARGETS=true to allow)`);
    }
  }
  return url;
}

function checkAuth(secrets: SecretBox, auth: SettingsInput["auth"]): Prisma.WebhookUncheckedUpdateInput {
  const none = { authType: "NONE" as const, authUsername: null, authSecretSealed: null };
  if (!auth || (auth.basic == null && auth.token == null)) return none;
  if (auth.basic != null && auth.token != null) throw badInput("input.auth", "give basic or token, not both");
  if (auth.basic != null) {
    const { username, password } = auth.basic;
    if (!username || username.includes(":") || /[\x00-\x1f\x7f]/.test(username) || username.length > 256) {
      throw badInput("input.auth.basic.username", "must be 1 to 256 characters without ':' or control characters");
    }
    if (/[\x00-\x1f\x7f]/.test(password) || password.length > 1024) {
      throw badInput("input.auth.basic.password", "must be at most 1024 characters without control characters");
    }
    return { authType: "BASIC", authUsername: username, authSecretSealed: secrets.seal(password) };
  }
  return { authType: "TOKEN", authUsername: null, authSecretSealed: secrets.seal(authorizationFromToken(auth.token!)) };
}

/** Green API's rule: "Basic X" is sent as Basic X, "Bearer X" or a bare X as Bearer X. */
export function authorizationFromToken(token: string): string {
  const trimmed = token.trim();
  if (!trimmed || trimmed.length > 4096 || /[\x00-\x1f\x7f]/.test(trimmed)) {
    throw badInput("input.auth.token", "must be 1 to 4096 characters without control characters");
  }
  const match = /^(basic|bearer)\s+(\S.*)$/i.exec(trimmed);
  if (!match) return `Bearer ${trimmed}`;
  return `${match[1]!.toLowerCase() === "basic" ? "Basic" : "Bearer"} ${match[2]}`;
}

async function resolveSubscriptions(ctx: WebhookSettingsDeps, input: SettingsInput, creating: boolean): Promise<number[] | undefined> {
  if (input.eventIds == null && input.eventNames == null) {
    if (creating) throw badInput("input.eventIds", "subscribe to at least one event type (eventIds or eventNames)");
    return undefined;
  }
  const ids = parseEventIdFilter(input.eventIds, "input.eventIds") ?? [];
  const names = [...(input.eventNames ?? [])];
  const { found, missingIds, missingNames } = await findEventTypes(ctx.prisma, ids, names);
  if (missingIds.length || missingNames.length) {
    const field = missingIds.length ? "input.eventIds" : "input.eventNames";
    const what = [...missingIds.map((id) => `id ${id}`), ...missingNames.map((n) => `"${n}"`)].join(", ");
    throw gatewayError("NOT_FOUND", `${field}: event types do not exist: ${what}`, { field });
  }
  const all = [...new Set(found.map((f) => f.id))];
  if (!all.length) throw badInput("input.eventIds", "subscribe to at least one event type");
  return all;
}

/**
 * Credentials stay with the origin they were given for: when the URL's origin (scheme, host,
 * port) changes, the stored auth and extra headers (a shared secret often travels in one) are
 * dropped unless the same update gives them again. Otherwise whoever may change the URL (the
 * service) could point the webhook at its own server and receive what the admin set.
 */
export function credentialsLeftBehind(ctx: WebhookSettingsDeps, currentUrl: string, input: SettingsInput): Prisma.WebhookUncheckedUpdateInput {
  if (input.url == null || new URL(input.url).origin === new URL(currentUrl).origin) return {};
  return {
    ...(input.auth === undefined ? { authType: "NONE" as const, authUsername: null, authSecretSealed: null } : {}),
    ...(input.requestHeaders == null ? { requestHeadersSealed: ctx.secrets.seal("[]") } : {}),
  };
}

/** How long the replaced secret keeps signing after a rotation, so receivers can switch over. */
const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/**
 * A new signing secret, and the columns that make it sign alongside the current one for
 * ROTATION_OVERLAP_MS. A current secret this key does not open (sealed with another key, or
 * damaged: its deliveries fail as SECRET_UNREADABLE) cannot sign: it is dropped, not kept.
 */
export function rotatedSecret(
  secrets: SecretBox,
  currentSealed: string,
  now: Date,
): { signingSecret: string; data: Prisma.WebhookUncheckedUpdateInput } {
  const signingSecret = newSigningSecret();
  let readable = true;
  try {
    secrets.open(currentSealed);
  } catch {
    readable = false;
  }
  return {
    signingSecret,
    data: {
      signingSecretSealed: secrets.seal(signingSecret),
      previousSecretSealed: readable ? currentSealed : null,
      previousSecretExpiresAt: readable ? new Date(now.getTime() + ROTATION_OVERLAP_MS) : null,
    },
  };
}
