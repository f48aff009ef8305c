import type { ArgBuilder, ObjectRef } from "@pothos/core";
import { builder } from "./builder.js";
import { badInput } from "../errors.js";
import type { GatewayContext } from "./context.js";

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
  ctx: GatewayContext,
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

/** Validates `first` (or `last`, named by `field`) for cursor connections. */
export function connectionSize(ctx: GatewayContext, first: number | null | undefined, field = "first"): number {
  const max = ctx.config.HOOKGATE_MAX_PAGE_SIZE;
  const size = first ?? Math.min(20, max);
  if (!Number.isInteger(size) || size < 1 || size > max) throw badInput(field, `must be between 1 and ${max}`);
  return size;
}

/**
 * Pothos decodes any well-formed cursor, whatever it holds; a connection on a 64-bit id accepts
 * only a positive bigint, so a forged or foreign cursor is bad input rather than a database error.
 */
export function checkIdCursor(query: object, args: { after?: string | null; before?: string | null }): void {
  const cursor = (query as { cursor?: { id?: unknown } }).cursor;
  if (cursor === undefined) return;
  const id = cursor.id;
  if (typeof id !== "bigint" || id < 1n || id > 9_223_372_036_854_775_807n) {
    throw badInput(args.after != null ? "after" : "before", "is not a cursor of this list");
  }
}
