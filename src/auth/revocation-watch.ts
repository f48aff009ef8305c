import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import type { PrismaClient } from "../store/database.js";

/**
 * Ends what a revoked token still holds open (websocket connections, SSE and websocket
 * subscriptions) on every gateway: each gateway reads the store, which all gateways share, for
 * the tokens its open streams use, every `intervalMs` while it has any. Reading the store (not a
 * bus message) means a revocation is never missed, whatever happened to Redis; the delay is at
 * most one interval plus one query.
 */
export type TokenEnd = "revoked" | "expired";

export interface RevocationWatch {
  /**
   * Calls onRevoked once when token `tokenId` is found revoked, or past its expiry (a portal
   * session); the returned function stops watching.
   */
  watch(tokenId: number, onRevoked: (why: TokenEnd) => void): () => void;
  close(): void;
}

export function createRevocationWatch(prisma: PrismaClient, intervalMs: number, logger: Logger, clock: Clock): RevocationWatch {
  const watchers = new Map<number, Set<(why: TokenEnd) => void>>();
  let timer: NodeJS.Timeout | undefined;
  let checking = false;

  const check = async (): Promise<void> => {
    if (checking || !watchers.size) return;
    checking = true;
    try {
      const ended = await prisma.apiToken.findMany({
        where: { id: { in: [...watchers.keys()] }, OR: [{ revokedAt: { not: null } }, { expiresAt: { lte: clock.now() } }] },
        select: { id: true, revokedAt: true },
      });
      for (const { id, revokedAt } of ended) {
        const callbacks = watchers.get(id);
        watchers.delete(id);
        for (const callback of callbacks ?? []) callback(revokedAt ? "revoked" : "expired");
      }
    } catch (error) {
      // The store is away: try again next interval (the streams' own reads fail meanwhile too).
      logger.debug({ err: { message: (error as Error).message } }, "token revocation check failed");
    } finally {
      checking = false;
      if (!watchers.size && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    }
  };

  return {
    watch(tokenId, onRevoked) {
      let set = watchers.get(tokenId);
      if (!set) watchers.set(tokenId, (set = new Set()));
      set.add(onRevoked);
      if (!timer) {
        timer = setInterval(() => void check(), intervalMs);
        timer.unref();
      }
      return () => {
        const current = watchers.get(tokenId);
        current?.delete(onRevoked);
        if (current && !current.size) watchers.delete(tokenId);
      };
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      watchers.clear();
    },
  };
}
