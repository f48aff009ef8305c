import { createHmac } from "node:crypto";

/**
 * Standard Webhooks signing: HMAC-SHA256 over "id.timestamp.body" with the base64 key
 * after "whsec_", sent as "v1,<base64>". Several secrets (during a rotation) give several
 * space-separated signatures; a receiver accepts any one it can verify.
 */
export function sign(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): string {
  const content = `${messageId}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
      return `v1,${createHmac("sha256", key).update(content).digest("base64")}`;
    })
    .join(" ");
}
