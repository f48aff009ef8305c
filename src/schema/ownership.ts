import { isSession, type Principal } from "../auth/principal.js";
import type { PrismaClient } from "../store/database.js";
import { parseId } from "../ids.js";

/** A service token owns its own service id only. */
export function ownsService(principal: Principal, id: string | number): boolean {
  return principal.kind === "service" && String(principal.serviceId) === String(id);
}

/** True when the webhook exists and belongs to the service; false for another's or a missing one. */
export async function ownsWebhook(prisma: PrismaClient, serviceId: number, id: string | number): Promise<boolean> {
  const webhookId = parseId(id);
  if (webhookId === undefined) return false;
  const webhook = await prisma.webhook.findUnique({ where: { id: webhookId }, select: { serviceId: true } });
  return webhook?.serviceId === serviceId;
}

/** True when the delivery exists and its webhook belongs to the service. */
export async function ownsDelivery(prisma: PrismaClient, serviceId: number, id: string | number): Promise<boolean> {
  if (!/^\d{1,19}$/.test(String(id))) return false;
  const delivery = await prisma.delivery.findUnique({
    where: { id: BigInt(id) },
    select: { webhook: { select: { serviceId: true } } },
  });
  return delivery?.webhook.serviceId === serviceId;
}

/** True when the API token exists and belongs to this service or customer (a service: also a customer session it minted; a portal session: only itself). */
export async function ownsApiToken(prisma: PrismaClient, principal: Principal, id: string | number): Promise<boolean> {
  const tokenId = parseId(id);
  if (tokenId === undefined) return false;
  const row = await prisma.apiToken.findUnique({ where: { id: tokenId }, select: { serviceId: true, customerId: true, scopeServiceId: true } });
  if (!row) return false;
  // A portal session may revoke itself (sign out), and no other token.
  if (isSession(principal)) return principal.kind !== "admin" && principal.tokenId === tokenId;
  // A service owns the customer sessions it minted too.
  return principal.kind === "service" ? row.serviceId === principal.serviceId || row.scopeServiceId === principal.serviceId : principal.kind === "customer" && row.customerId === principal.customerId;
}
