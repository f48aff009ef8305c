import { createHash, randomBytes } from "node:crypto";

/** Token kinds, told apart by prefix so a lookup touches one table only. */
export type TokenKind = "admin" | "service" | "customer";

const PREFIX: Record<TokenKind, string> = { admin: "hg_admin_", service: "hg_svc_", customer: "hg_cus_" };

/** 32 random bytes: high entropy, so a plain SHA-256 is a safe stored form (no salt or KDF needed). */
export function newToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function tokenKind(token: string): TokenKind | undefined {
  for (const kind of Object.keys(PREFIX) as TokenKind[]) {
    if (token.startsWith(PREFIX[kind])) return kind;
  }
  return undefined;
}

/** A Standard Webhooks signing secret: "whsec_" and base64 of 24 random bytes. */
export function newSigningSecret(): string {
  return "whsec_" + randomBytes(24).toString("base64");
}
