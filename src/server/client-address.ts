import type { IncomingMessage } from "node:http";
import ipaddr from "ipaddr.js";

/** The address a request is counted under by the per-address limits. */
export type ClientAddress = (req: Pick<IncomingMessage, "headers" | "socket">) => string;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * HOOKGATE_TRUSTED_PROXIES: without it the TCP peer is the client. With it, a request whose
 * peer is a listed proxy is counted under the rightmost X-Forwarded-For hop that is not itself a
 * listed proxy: hops left of it were written by the client and prove nothing, the ones right of
 * it by proxies we trust. A header from anyone else is ignored (a client cannot choose its key).
 * Addresses are compared as IPv4 when IPv4-mapped (::ffff:a.b.c.d), as Node reports them on
 * dual-stack sockets.
 */
export function createClientAddress(trusted: readonly string[]): ClientAddress {
  const ranges: Range[] = trusted.map((entry) =>
    entry.includes("/") ? ipaddr.parseCIDR(entry) : ((a) => [a, a.kind() === "ipv4" ? 32 : 128] as Range)(ipaddr.process(entry)),
  );
  const isTrusted = (address: ipaddr.IPv4 | ipaddr.IPv6) =>
    ranges.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
  return (req) => {
    const peer = req.socket.remoteAddress ?? "unknown";
    if (!ranges.length) return peer;
    const peerAddress = parse(peer);
    if (!peerAddress || !isTrusted(peerAddress)) return peer;
    const header = req.headers["x-forwarded-for"];
    const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((h) => h.trim()).filter(Boolean);
    let client = peerAddress;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parse(hops[i]!);
      // Garbage in the header: the last hop we could trust is the best we know.
      if (!hop) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client.toString();
  };
}

function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  return ipaddr.isValid(text) ? ipaddr.process(text) : undefined;
}
