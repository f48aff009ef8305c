import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

/**
 * The HMAC key of a Standard Webhooks secret: the base64 after "whsec_". Decoded once per
 * prepared webhook, as a KeyObject: an HMAC keyed with one is about a third cheaper to start
 * than one keyed with a Buffer (the key is not copied into OpenSSL on every call).
 */
export function signingKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64"));
}

/**
 * Standard Webhooks signing: HMAC-SHA256 over "id.timestamp.body", sent as "v1,<base64>".
 * Several keys (during a rotation) give several space-separated signatures; a receiver
 * accepts any one it can verify.
 */
export function sign(keys: readonly KeyObject[], messageId: string, timestampSeconds: number, body: string): string {
  const content = `${messageId}.${timestampSeconds}.${body}`;
  if (keys.length === 1) return `v1,${createHmac("sha256", keys[0]!).update(content).digest("base64")}`;
  return keys.map((key) => `v1,${createHmac("sha256", key).update(content).digest("base64")}`).join(" ");
}
