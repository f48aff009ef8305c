import { hashToken, newToken } from "./tokens.js";
import type { Database } from "../store/database.js";

/** Serialises first-start bootstrap across processes sharing one database. */
const BOOTSTRAP_LOCK = 0x686b6774; // "hkgt"

/**
 * With no HOOKGATE_ADMIN_TOKEN and no stored admin token, creates one and returns it so the
 * caller can print it once. Only its hash is stored. Returns undefined when nothing was created.
 */
export async function ensureAdminToken(db: Database, fromEnv: string | undefined): Promise<string | undefined> {
  if (fromEnv) return undefined;
  return db.sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const [row] = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM admin_tokens`);
    if (row && row.n !== "0") return undefined;
    const token = newToken("admin");
    await tx.query(`INSERT INTO admin_tokens (label, token_hash) VALUES ($1, $2)`, ["generated at first start", hashToken(token)]);
    return token;
  });
}

/** Creates an admin token (the `hookgate token` command). */
export async function createAdminToken(db: Database, label: string): Promise<string> {
  const token = newToken("admin");
  await db.prisma.adminToken.create({ data: { label, tokenHash: hashToken(token) } });
  return token;
}
