import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Seals secrets that must be read back (signing secrets, Basic passwords, auth tokens,
 * extra headers) with AES-256-GCM. Sealed form: "v1.<iv>.<tag>.<ciphertext>", base64url parts.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error("encryption key must be 32 bytes");
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), body].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split(".");
      if (version !== "v1" || !iv || !tag || body === undefined) throw new Error("not a sealed secret");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    },
  };
}

/**
 * The configured key, or in embedded mode a key generated once into the data directory
 * (readable by the owner only), or a fresh one for a throw-away in-memory database.
 */
export function resolveEncryptionKey(configured: string | undefined, dataDir: string | undefined): Buffer {
  if (configured) return Buffer.from(configured, "base64");
  const file = encryptionKeyFile(configured, dataDir);
  if (!dataDir || !file) return randomBytes(32);
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  return Buffer.from(readFileSync(file, "utf8").trim(), "base64");
}

/** The file embedded mode keeps its generated key in; undefined when the key is configured or thrown away. */
export function encryptionKeyFile(configured: string | undefined, dataDir: string | undefined): string | undefined {
  if (configured || !dataDir || dataDir.startsWith("memory://")) return undefined;
  return join(dataDir, "encryption.key");
}
