import type { KeyObject } from "node:crypto";
import type { SecretBox } from "../crypto/secret-box.js";
import type { SqlClient } from "../store/database.js";
import type { RetryPolicySettings } from "./retry-schedule.js";
import { signingKey } from "./signature.js";

/** What the attempt log and the retry schedule need of a webhook, readable or not. */
interface WebhookBasics {
  readonly id: number;
  readonly version: number;
  /** url as text, as the attempt log keeps it. */
  readonly urlText: string;
  readonly method: "POST" | "PUT" | "PATCH";
  /** The headers as they appear in the attempt log: auth and extra header values redacted. */
  readonly loggedHeaders: Record<string, string>;
  readonly retry: RetryPolicySettings;
  /** FIFO webhooks: what a head that fails finally does to the rest of the line; null when unordered. */
  readonly fifo: "CONTINUE" | "PAUSE" | null;
}

/**
 * A webhook whose sealed secrets this process's key does not open (sealed with another key, or
 * damaged). Its deliveries are not sent: each claim records a failed attempt (SECRET_UNREADABLE)
 * on the retry schedule, until the secrets are set again (a change makes it prepared anew).
 */
export interface UnreadableWebhook extends WebhookBasics {
  readonly unreadable: readonly string[];
}

/** A webhook ready to send to: secrets opened once, headers assembled once, until it changes. */
export interface PreparedWebhook extends WebhookBasics {
  readonly unreadable?: undefined;
  readonly url: URL;
  /** Everything but the per-message signature headers, as undici's flat [name, value, …] list. */
  readonly headers: readonly string[];
  /** HMAC keys, decoded once. */
  readonly signingKey: KeyObject;
  /** [signingKey]: what signs while no previous secret is still valid. */
  readonly signingKeys: readonly KeyObject[];
  readonly previousKey: KeyObject | null;
  readonly previousKeyExpiresAt: Date | null;
}

export type CachedWebhook = PreparedWebhook | UnreadableWebhook;

interface WebhookRow {
  id: number;
  url: string;
  request_method: "POST" | "PUT" | "PATCH";
  request_headers_sealed: string;
  auth_type: "NONE" | "BASIC" | "TOKEN";
  auth_username: string | null;
  auth_secret_sealed: string | null;
  signing_secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | string | null;
  retry_policy: "EXPONENTIAL" | "FIXED";
  retry_interval_seconds: number;
  retry_window_seconds: number;
  ordering: "UNORDERED" | "FIFO";
  fifo_on_failure: "CONTINUE" | "PAUSE";
  updated_at: Date | string;
}

export const REDACTED = "[redacted]";
const USER_AGENT = "Hookgate/0.1 (+webhooks)";

/**
 * Keeps prepared webhooks keyed by id and updated_at, so a changed webhook is prepared again. A
 * webhook whose secrets do not open is kept as unreadable (until it changes), with the names of
 * the fields that did not open (never their contents); its attempts report it (dispatcher.ts).
 */
export class WebhookConfigCache {
  private readonly cache = new Map<number, CachedWebhook>();

  constructor(
    private readonly sql: SqlClient,
    private readonly secrets: SecretBox,
    private readonly onError: (webhookId: number, error: unknown) => void,
  ) {}

  async get(wanted: readonly { webhookId: number; webhookVersion: number }[]): Promise<Map<number, CachedWebhook>> {
    const stale = new Set<number>();
    for (const w of wanted) {
      if (this.cache.get(w.webhookId)?.version !== w.webhookVersion) stale.add(w.webhookId);
    }
    if (stale.size) {
      const rows = await this.sql.query<WebhookRow>(
        `SELECT id, url, request_method, request_headers_sealed, auth_type, auth_username, auth_secret_sealed,
                signing_secret_sealed, previous_secret_sealed, previous_secret_expires_at, retry_policy,
                retry_interval_seconds, retry_window_seconds, ordering, fifo_on_failure, updated_at
         FROM webhooks WHERE id = ANY($1::int[])`,
        [[...stale]],
      );
      for (const id of stale) this.cache.delete(id); // a webhook deleted since the claim is not sent to
      for (const row of rows) {
        try {
          this.cache.set(Number(row.id), this.prepare(row));
        } catch (error) {
          // One webhook that cannot be prepared must not hold up the others.
          this.onError(Number(row.id), error);
        }
      }
    }
    return this.cache;
  }

  private prepare(row: WebhookRow): CachedWebhook {
    const unreadable: string[] = [];
    /** The opened value, or undefined (and the field named as unreadable) when it does not open. */
    const open = <T>(field: string, sealed: string, read: (plain: string) => T): T | undefined => {
      try {
        return read(this.secrets.open(sealed));
      } catch {
        unreadable.push(field);
        return undefined;
      }
    };
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": USER_AGENT };
    const logged: Record<string, string> = { ...headers };
    const extra = open("requestHeaders", row.request_headers_sealed, (plain) => JSON.parse(plain) as { name: string; value: string }[]);
    for (const h of extra ?? []) {
      headers[h.name] = h.value;
      logged[h.name] = REDACTED; // extra headers often carry tokens (the SMS gateway's shared secret)
    }
    if (row.auth_type !== "NONE" && row.auth_secret_sealed) {
      const secret = open("auth", row.auth_secret_sealed, (plain) => plain);
      if (secret !== undefined) {
        headers.authorization =
          row.auth_type === "BASIC" ? `Basic ${Buffer.from(`${row.auth_username}:${secret}`).toString("base64")}` : secret;
      }
      logged.authorization = REDACTED;
    }
    const key = open("signingSecret", row.signing_secret_sealed, signingKey);
    const previousKey = row.previous_secret_sealed ? open("previousSigningSecret", row.previous_secret_sealed, signingKey) : null;
    const basics: WebhookBasics = {
      id: Number(row.id),
      version: new Date(row.updated_at).getTime(),
      urlText: row.url,
      method: row.request_method,
      loggedHeaders: logged,
      retry: {
        policy: row.retry_policy,
        intervalSeconds: Number(row.retry_interval_seconds),
        windowSeconds: Number(row.retry_window_seconds),
      },
      fifo: row.ordering === "FIFO" ? row.fifo_on_failure : null,
    };
    if (unreadable.length || !key || previousKey === undefined) return { ...basics, unreadable };
    const url = new URL(row.url);
    return {
      ...basics,
      url,
      urlText: url.toString(),
      headers: Object.entries(headers).flat(),
      signingKey: key,
      signingKeys: [key],
      previousKey,
      previousKeyExpiresAt: row.previous_secret_expires_at ? new Date(row.previous_secret_expires_at) : null,
    };
  }
}
