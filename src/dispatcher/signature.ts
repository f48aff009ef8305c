import { createHmac } from "node:crypto";

/** The HMAC key of a Standard Webhooks secret: the base64 after "whsec_". Decode once, sign many. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

/**
 * Standard Webhooks signing: HMAC-SHA256 over "id.timestamp.body", sent as "v1,<base64>".
 * Several keys (during a rotation) give several space-separated signatures; a receiver
 * accepts any one it can verify.
 */
export function sign(keys: readonly Buffer[], messageId: string, timestampSeconds: number, body: string): string {
  const content = `${messageId}.${timestampSeconds}.${body}`;
  return keys.map((key) => `v1,${createHmac("sha256", key).update(content).digest("base64")}`).join(" ");
}
