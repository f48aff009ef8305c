import { checkPayloadFilter, PARSE_JSONPATH_SQL, type JsonpathParser } from "../publishing/payload-filter.js";
import type { PrismaClient } from "../store/database.js";

// The payload-filter rules (publishing/payload-filter.ts) take a jsonpath parser; this one is
// PostgreSQL's, through the store, for the filters clients give: a webhook's and a live
// subscription's, so both are refused alike.

/** A payload filter as an argument gives it (a webhook's, a subscription's): checked, or BAD_USER_INPUT naming `field`. */
export function payloadFilterInput(prisma: PrismaClient, field: string, text: string): Promise<string> {
  return checkPayloadFilter(jsonpathParser(prisma), field, text);
}

/** PostgreSQL's jsonpath parser, through the store: its message, without the driver's wrapping, on a syntax error. */
function jsonpathParser(prisma: PrismaClient): JsonpathParser {
  return async (text) => {
    try {
      const rows = await prisma.$queryRawUnsafe<{ path: string }[]>(PARSE_JSONPATH_SQL, text);
      return rows[0]!.path;
    } catch (error) {
      throw new Error(postgresMessage(error));
    }
  };
}

/** The database's own message inside a Prisma driver-adapter error. */
function postgresMessage(error: unknown): string {
  const e = error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: string; message?: string } } }; message?: string };
  const cause = e.meta?.driverAdapterError?.cause;
  return cause?.originalMessage ?? cause?.message ?? String(e.message ?? error).split("\n").pop()!;
}
