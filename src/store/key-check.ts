import { ConfigError } from "../config.js";
import type { SqlClient } from "./database.js";
import type { SecretBox } from "../crypto/secret-box.js";

/**
 * The start-up check of HOOKGATE_ENCRYPTION_KEY (README, "Configuration"): a process whose key
 * does not open the secrets already stored refuses to start, in one line, instead of claiming
 * deliveries it cannot sign.
 *
 * What it opens: the check value (table encryption_key_check, one row), sealed by the first
 * process that started with this check. A database from before it (webhooks, no check value)
 * is judged by its most recently changed webhooks' signing secrets instead: when one opens, the
 * key is right and the check value is stored; when none does, the key is refused. An empty
 * database takes the key of the first process that starts on it.
 */

/** The row's name: what the key seals. */
export const KEY_CHECK_NAME = "webhook-secrets";
/** What the check value holds once opened. Not secret: it only proves the key. */
const KEY_CHECK_TEXT = "hookgate encryption key check v1";
/** Signing secrets tried on a database with no check value yet. */
const LEGACY_SAMPLE = 20;

/** The key does not open the stored secrets: one line for the operator (exit code 2, as a setting error). */
export class EncryptionKeyMismatch extends ConfigError {
  override name = "EncryptionKeyMismatch";
}

export interface KeyCheckOptions {
  /** Where the key came from, for the message: the setting, or embedded mode's generated key file. */
  readonly keyFile?: string;
  readonly log?: (line: string) => void;
}

export async function checkEncryptionKey(sql: SqlClient, secrets: SecretBox, options: KeyCheckOptions = {}): Promise<void> {
  const stored = await readCheck(sql);
  if (stored !== undefined) {
    if (!opens(secrets, stored, KEY_CHECK_TEXT)) throw mismatch(options);
    return;
  }
  // No check value yet: a database of an earlier release (judge by its webhooks' secrets) or an empty one.
  const rows = await sql.query<{ signing_secret_sealed: string }>(
    `SELECT signing_secret_sealed FROM webhooks ORDER BY updated_at DESC, id DESC LIMIT ${LEGACY_SAMPLE}`,
  );
  if (rows.length && !rows.some((r) => opens(secrets, r.signing_secret_sealed))) throw mismatch(options);
  await sql.query(`INSERT INTO encryption_key_check (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [
    KEY_CHECK_NAME,
    secrets.seal(KEY_CHECK_TEXT),
  ]);
  // Two first starts at once: the one whose row was stored decides, and the other is checked against it.
  const winner = await readCheck(sql);
  if (winner === undefined || !opens(secrets, winner, KEY_CHECK_TEXT)) throw mismatch(options);
  options.log?.("stored the encryption key check value (processes with another HOOKGATE_ENCRYPTION_KEY now refuse to start)");
}

async function readCheck(sql: SqlClient): Promise<string | undefined> {
  const [row] = await sql.query<{ sealed: string }>(`SELECT sealed FROM encryption_key_check WHERE name = $1`, [KEY_CHECK_NAME]);
  return row?.sealed;
}

function opens(secrets: SecretBox, sealed: string, expected?: string): boolean {
  try {
    const plain = secrets.open(sealed);
    return expected === undefined || plain === expected;
  } catch {
    return false;
  }
}

function mismatch(options: KeyCheckOptions): EncryptionKeyMismatch {
  const fix = options.keyFile
    ? `restore the ${options.keyFile} that came with this data directory, or set HOOKGATE_ENCRYPTION_KEY to the key they were sealed with`
    : "set it to the key every other process on this database uses (webhook secrets cannot be read without that key)";
  const which = options.keyFile ? `HOOKGATE_ENCRYPTION_KEY (unset: the key in ${options.keyFile})` : "HOOKGATE_ENCRYPTION_KEY";
  return new EncryptionKeyMismatch(`${which} does not open the secrets stored in this database (they were sealed with another key); ${fix}`);
}
