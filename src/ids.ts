import { badInput } from "./errors.js";

// Ids as clients give them (GraphQL IDs, REST path parameters), parsed or refused with
// BAD_USER_INPUT naming the field. Below every layer: resolvers and the domain rules they call
// (a webhook's subscriptions by id) both parse them, and must refuse them alike.

/** Entity ids are positive integers, carried as GraphQL IDs. */
export function parseId(value: string | number): number | undefined {
  const n = typeof value === "number" ? value : /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n > 0 && n <= 2_147_483_647 ? n : undefined;
}

export function requireId(field: string, value: string | number): number {
  const id = parseId(value);
  if (id === undefined) throw badInput(field, `"${value}" is not a valid id`);
  return id;
}

/** Event, delivery and attempt ids are 64-bit. */
export function requireBigId(field: string, value: string | number): bigint {
  const text = String(value);
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > 9_223_372_036_854_775_807n) {
    throw badInput(field, `"${text}" is not a valid id`);
  }
  return BigInt(text);
}

/** eventIds come as a list or as one comma-separated string ("1,2,3", as some clients send them); both are accepted. */
export function parseEventIdFilter(raw: readonly (string | number)[] | null | undefined, field = "eventIds"): number[] | undefined {
  if (!raw) return undefined;
  return raw
    .flatMap((v) => String(v).split(","))
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v, i) => requireId(`${field}[${i}]`, v));
}
