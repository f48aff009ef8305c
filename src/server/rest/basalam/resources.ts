import type { z } from "zod";
import type { Page } from "../../../schema/pagination.js";
import type { RestCaller } from "../route.js";
import type { EventResource, WebhookResource } from "./schemas.js";

// Hookgate's GraphQL objects as Basalam's resources: the selections the routes ask for, and the
// conversions of their answers (string ids to integers, header lists to "Name: value" objects).

/** A Basalam-shaped page as GraphQL answers it. */
export type GqlPage<T> = Page<T>;

/** Basalam's list fields of a Hookgate page. */
export function listOf<T, R>(page: GqlPage<T>, item: (t: T) => R) {
  return {
    data: page.data.map(item),
    result_count: page.resultCount,
    total_count: page.totalCount,
    total_page: page.totalPage,
    page: page.page,
    per_page: page.perPage,
  };
}

export const PAGE_FIELDS = "resultCount totalCount totalPage page perPage";

export const EVENT_TYPE_FIELDS = "id name description sampleData scopes";

export interface GqlEventType {
  id: string;
  name: string;
  description: string;
  sampleData: unknown;
  scopes: string[];
}

export function eventResource(e: GqlEventType): z.output<typeof EventResource> {
  const sample = e.sampleData;
  return {
    id: Number(e.id),
    name: e.name,
    description: e.description,
    // Basalam's sample_data is an object; a sample of another JSON type has no place there.
    sample_data: sample !== null && typeof sample === "object" && !Array.isArray(sample) ? (sample as Record<string, unknown>) : null,
    scopes: e.scopes.length ? e.scopes.join(" ") : null,
  };
}

/**
 * The webhook fields the caller may read: a customer token may not read a webhook's URL, method
 * or headers (FORBIDDEN in GraphQL), so for it they are not asked for and answered null.
 */
export function webhookFields(caller: RestCaller | undefined): string {
  const common = `id service { id } eventTypes { ${EVENT_TYPE_FIELDS} } isActive createdAt`;
  return caller?.principal.kind === "customer" ? common : `${common} url requestMethod requestHeaders { name value } updatedAt`;
}

export interface GqlWebhook {
  id: string;
  service: { id: string };
  eventTypes: GqlEventType[];
  isActive: boolean;
  createdAt: string;
  url?: string;
  requestMethod?: string;
  requestHeaders?: { name: string; value: string }[];
  updatedAt?: string;
}

export function webhookResource(w: GqlWebhook): z.output<typeof WebhookResource> {
  return {
    id: Number(w.id),
    service_id: Number(w.service.id),
    events: w.eventTypes.map(eventResource),
    request_headers: w.requestHeaders ? Object.fromEntries(w.requestHeaders.map((h) => [h.name, h.value])) : null,
    request_method: w.requestMethod ?? null,
    url: w.url ?? null,
    is_active: w.isActive,
    created_at: w.createdAt,
    updated_at: w.updatedAt ?? null,
  };
}

/**
 * Basalam's request_headers string, "Name: value" per line, as Hookgate's header list. The
 * header rules themselves (names, reserved headers, sizes) are createWebhook's; a line without
 * a colon is passed on as a name with an empty value, which those rules refuse. Basalam's own
 * example, "Content-Type: application/json", is dropped: Hookgate always sends that (any other
 * Content-Type is passed on, and refused as a header the gateway sets).
 */
export function headerList(text: string | null | undefined): { name: string; value: string }[] | undefined {
  if (text === null || text === undefined) return undefined;
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const colon = line.indexOf(":");
      return colon < 0 ? { name: line.trim(), value: "" } : { name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() };
    })
    .filter((h) => !(h.name.toLowerCase() === "content-type" && /^application\/json\s*(;|$)/i.test(h.value)));
}

/** A Basalam integer id as a GraphQL ID. */
export const gid = (n: number | null | undefined): string | undefined => (n === null || n === undefined ? undefined : String(n));
