import type { Prisma } from "../store/generated/prisma/client.js";
import type { Principal } from "./principal.js";

/**
 * Who may see an event: the admin every one, a customer those about itself (a customer session
 * a service minted: only those also routed to that service's webhooks), a service those
 * routed to one of its webhooks (a delivery to it exists). Stated once, in the three forms it is
 * applied in: a Prisma filter (the events query), an SQL condition on `events e` (a live
 * subscription's replay of stored events) and a check of one event in memory (live events, whose
 * routing travels with them). The three sit side by side here so they cannot drift apart.
 */

/** The events query's filter. */
export function visibleEventsWhere(p: Principal): Prisma.EventWhereInput {
  if (p.kind === "admin") return {};
  if (p.kind === "customer") {
    if (p.scopeServiceId === undefined) return { customerId: p.customerId };
    return { customerId: p.customerId, deliveries: { some: { webhook: { serviceId: p.scopeServiceId } } } };
  }
  return { deliveries: { some: { webhook: { serviceId: p.serviceId } } } };
}

/**
 * The SQL condition on `events e` (undefined: every event); `param` adds a parameter and returns
 * its placeholder.
 */
export function visibleEventsSql(p: Principal, param: (value: unknown) => string): string | undefined {
  if (p.kind === "customer") {
    const own = `e.customer_id = ${param(p.customerId)}::int`;
    return p.scopeServiceId === undefined ? own : `${own} AND ${routedToSql("w.service_id", param(p.scopeServiceId))}`;
  }
  if (p.kind === "service") return routedToSql("w.service_id", param(p.serviceId));
  return undefined;
}

/**
 * An event routed to a webhook (d.webhook_id) or to a service's webhooks (w.service_id), by the
 * deliveries publishing wrote for it: the SQL form of a live event's webhookIds and serviceIds.
 */
export function routedToSql(column: "d.webhook_id" | "w.service_id", placeholder: string): string {
  return `EXISTS (SELECT 1 FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.event_id = e.id AND ${column} = ${placeholder}::int)`;
}

/** What the in-memory check reads of an event: whom it is about, and where it was routed. */
export interface RoutedEvent {
  readonly customerId: number | null;
  readonly serviceIds: readonly number[];
}

/** The check of one live event. */
export function canSeeEvent(p: Principal, event: RoutedEvent): boolean {
  if (p.kind === "customer") {
    return event.customerId === p.customerId && (p.scopeServiceId === undefined || event.serviceIds.includes(p.scopeServiceId));
  }
  if (p.kind === "service") return event.serviceIds.includes(p.serviceId);
  return true;
}
