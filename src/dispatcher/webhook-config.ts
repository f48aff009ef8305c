import type { KeyObject } from "node:crypto";
import type { SecretBox } from "../crypto/secret-box.js";
import type { SqlClient } from "../store/database.js";
import type { RetryPolicySettings } from "./retry-schedule.js";
import { signingKey } from "./signature.js";

/** A webhook ready to send to: secrets opened once, headers assembled once, until it changes. */
export interface PreparedWebhook {
  readonly id: number;
  readonly version: number;
  readonly url: URL;
  /** url as text, as the attempt log keeps it. */
  readonly urlText: string;
  readonly method: "POST" | "PUT" | "PATCH";
  /** Everything but the per-message signature headers, as undici's flat [name, value, …] list. */
  readonly headers: readonly string[];
  /** The same headers as they appear in the attempt log: auth and extra header values redacted. */
  readonly loggedHeaders: Record<string, string>;
  /** HMAC keys, decoded once. */
  readonly signingKey: KeyObject;
  /** [signingKey]: what signs while no previous secret is still valid. */
  readonly signingKeys: readonly KeyObject[];
  readonly previousKey: KeyObject | null;
  readonly previousKeyExpiresAt: Date | null;
  readonly retry: RetryPolicySettings;
  /** FIFO webhooks: what a head that fails finally does to the rest of the line; null when unordered. */
  readonly fifo: "CONTINUE" | "PAUSE" | null;
}

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

/** Keeps prepared webhooks keyed by id and updated_at, so a changed webhook is prepared again. */
export class WebhookConfigCache {
  private readonly cache = new Map<number, PreparedWebhook>();

  constructor(
    private readonly sql: SqlClient,
    private readonly secrets: SecretBox,
    private readonly onError: (webhookId: number, error: unknown) => void,
  ) {}

  async get(wanted: readonly { webhookId: number; webhookVersion: number }[]): Promise<Map<number, PreparedWebhook>> {
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
          // One unreadable webhook (a secret sealed with another key) must not hold up the others.
          this.onError(Number(row.id), error);
        }
      }
    }
    return this.cache;
  }

  private prepare(row: WebhookRow): PreparedWebhook {
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": USER_AGENT };
    const logged: Record<string, string> = { ...headers };
    for (const h of JSON.parse(this.secrets.open(row.request_headers_sealed)) as { name: string; value: string }[]) {
      headers[h.name] = h.value;
      logged[h.name] = REDACTED; // extra headers often carry tokens (the SMS gateway's shared secret)
    }
    if (row.auth_type !== "NONE" && row.auth_secret_sealed) {
      const secret = this.secrets.open(row.auth_secret_sealed);
      headers.authorization =
        row.auth_type === "BASIC" ? `Basic ${Buffer.from(`${row.auth_username}:${secret}`).toString("base64")}` : secret;
      logged.authorization = REDACTED;
    }
    const url = new URL(row.url);
    const key = signingKey(this.secrets.open(row.signing_secret_sealed));
    return {
      id: Number(row.id),
      version: new Date(row.updated_at).getTime(),
      url,
      urlText: url.toString(),
      method: row.request_method,
      headers: Object.entries(headers).flat(),
      loggedHeaders: logged,
      signingKey: key,
      signingKeys: [key],
      previousKey: row.previous_secret_sealed ? signingKey(this.secrets.open(row.previous_secret_sealed)) : null,
      previousKeyExpiresAt: row.previous_secret_expires_at ? new Date(row.previous_secret_expires_at) : null,
      retry: {
        policy: row.retry_policy,
        intervalSeconds: Number(row.retry_interval_seconds),
        windowSeconds: Number(row.retry_window_seconds),
      },
      fifo: row.ordering === "FIFO" ? row.fifo_on_failure : null,
    };
  }
}
