import type { ArgBuilder, ObjectRef } from "@pothos/core";
import { builder } from "./builder.js";
import { formatPrismaCursor, parsePrismaCursor, queryFromInfo } from "@pothos/plugin-prisma";
import type { GraphQLResolveInfo } from "graphql";
import { badInput, gatewayError } from "../errors.js";
import type { Config } from "../config.js";
import type { GatewayContext } from "./context.js";

/** What the page checks read: the largest page a client may ask for. */
export interface PageLimits {
  readonly config: Pick<Config, "HOOKGATE_MAX_PAGE_SIZE">;
}

/** Basalam's list shape: the page of items and the counts around it. */
export interface Page<T> {
  data: T[];
  resultCount: number;
  totalCount: number;
  totalPage: number;
  page: number;
  perPage: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any object ref of the builder
export function pageType<T>(name: string, item: ObjectRef<any, T>) {
  return builder.objectRef<Page<T>>(name).implement({
    description: `A page of ${item.name}, with the counts around it.`,
    fields: (t) => ({
      data: t.field({ type: [item], description: "The items on this page.", resolve: (p) => p.data }),
      resultCount: t.exposeInt("resultCount", { description: "Items on this page." }),
      totalCount: t.exposeInt("totalCount", { description: "Items on all pages." }),
      totalPage: t.exposeInt("totalPage", { description: "How many pages there are at this perPage." }),
      page: t.exposeInt("page", { description: "This page's number, from 1." }),
      perPage: t.exposeInt("perPage", { description: "Items per page." }),
    }),
  });
}

export interface PageArgs {
  page?: number | null;
  perPage?: number | null;
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** page and perPage, for every Basalam-shaped list. */
export const pageArgs = (arg: ArgBuilder<Types>) => ({
  page: arg.int({ description: "1-based page number (default 1)." }),
  perPage: arg.int({ description: "Items per page (default 10, at most HOOKGATE_MAX_PAGE_SIZE)." }),
});

/** Validates page arguments and runs the count and the page query together. */
export async function paginate<T>(
  ctx: PageLimits,
  args: PageArgs,
  count: () => Promise<number>,
  fetch: (skip: number, take: number) => Promise<T[]>,
): Promise<Page<T>> {
  const page = args.page ?? 1;
  const perPage = args.perPage ?? 10;
  if (!Number.isInteger(page) || page < 1) throw badInput("page", "must be 1 or more");
  const max = ctx.config.HOOKGATE_MAX_PAGE_SIZE;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > max) {
    throw badInput("perPage", `must be between 1 and ${max}`);
  }
  const [totalCount, data] = await Promise.all([count(), fetch((page - 1) * perPage, perPage)]);
  return { data, resultCount: data.length, totalCount, totalPage: Math.ceil(totalCount / perPage), page, perPage };
}

/** first, last, after and before: a Relay connection's arguments. */
export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** The part of a where clause on `id` that a page adds to its list's own filter. */
export type IdRange = { lt?: bigint; gt?: bigint; lte?: bigint; gte?: bigint };

/** A connection's page as Pothos' relay plugin resolves it. */
export interface IdConnection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * A Relay connection over a list ordered by its bigint `id`, newest first, by the algorithm of
 * the Relay cursor connections spec: `after` and `before` narrow the list to the items between
 * them (either, both or neither), then `first` takes from the start of that range or `last` from
 * its end (not both: BAD_USER_INPUT). `first: 0` / `last: 0` give an empty page whose pageInfo
 * still says whether the range holds items. hasNextPage with `first` (hasPreviousPage with
 * `last`) says whether the range held more than the page; otherwise it says whether the list has
 * items at or beyond `before`'s (at or before `after`'s): what paging on from this page would
 * find. `rows(id, order, take, idsOnly)` reads the list's rows whose id lies in `id`, ordered by
 * id, at most `take` of them (only their ids when idsOnly). Cursors are @pothos/plugin-prisma's,
 * so cursors handed out before stay valid.
 */
export async function idConnection<T extends { id: bigint }>(
  ctx: PageLimits,
  args: ConnectionArgs,
  rows: (id: IdRange, order: "asc" | "desc", take: number, idsOnly: boolean) => Promise<T[]>,
): Promise<IdConnection<T>> {
  if (args.first != null && args.last != null) {
    throw gatewayError("BAD_USER_INPUT", "first, last: give one of them, not both", { field: "last", arguments: ["first", "last"] });
  }
  const fromEnd = args.last != null;
  const size = connectionSize(ctx, fromEnd ? args.last : args.first, fromEnd ? "last" : "first");
  const after = args.after != null ? idCursor(args.after, "after") : undefined;
  const before = args.before != null ? idCursor(args.before, "before") : undefined;
  // Newest first: after a cursor means a smaller id, before it a larger one.
  const range: IdRange = { ...(after !== undefined ? { lt: after } : {}), ...(before !== undefined ? { gt: before } : {}) };
  const found = await rows(range, fromEnd ? "asc" : "desc", size + 1, false);
  // Whether the list has a row in `id`, looking from the cursor outwards.
  const any = (id: IdRange, order: "asc" | "desc") => rows(id, order, 1, true).then((r) => r.length > 0);
  const more = found.length > size;
  const page = found.slice(0, size);
  if (fromEnd) page.reverse();
  const [hasPreviousPage, hasNextPage] = await Promise.all([
    fromEnd ? more : after !== undefined && any({ gte: after }, "asc"),
    fromEnd ? before !== undefined && any({ lte: before }, "desc") : more,
  ]);
  const edges = page.map((node) => ({ cursor: formatPrismaCursor(node, "id"), node }));
  return {
    edges,
    pageInfo: { hasNextPage, hasPreviousPage, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/**
 * The prisma selection (select with the nested relations) for the nodes of the connection `info`
 * resolves, the one t.prismaConnection makes, so a page and what its nodes select load in one
 * query. Typed as nothing in particular, so a findMany spreading it is typed with whole rows, as
 * Pothos types a prisma object's nodes.
 */
export async function connectionNodeQuery(ctx: GatewayContext, info: GraphQLResolveInfo, typeName: string): Promise<object> {
  const query = await queryFromInfo({
    context: ctx,
    info,
    typeName,
    select: { id: true },
    paths: [["nodes"], ["edges", "node"]],
    awaitSelections: true,
  });
  return query;
}

/** Validates `first` (or `last`, named by `field`): 0 to HOOKGATE_MAX_PAGE_SIZE, default 20. */
function connectionSize(ctx: PageLimits, size: number | null | undefined, field: string): number {
  const max = ctx.config.HOOKGATE_MAX_PAGE_SIZE;
  const n = size ?? Math.min(20, max);
  if (!Number.isInteger(n) || n < 0 || n > max) throw badInput(field, `must be between 0 and ${max}`);
  return n;
}

/**
 * Any well-formed cursor decodes, whatever it holds; a list on a 64-bit id accepts only a
 * positive bigint, so a forged or foreign cursor is bad input rather than a database error.
 */
function idCursor(cursor: string, field: "after" | "before"): bigint {
  let id: unknown;
  try {
    id = parsePrismaCursor(cursor);
  } catch {
    throw badInput(field, "is not a cursor of this list");
  }
  if (typeof id !== "bigint" || id < 1n || id > 9_223_372_036_854_775_807n) throw badInput(field, "is not a cursor of this list");
  return id;
}
