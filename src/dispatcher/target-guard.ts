import { lookup as dnsLookup } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * SSRF protection. Only public unicast addresses are allowed unless private targets are
 * explicitly enabled: loopback, private, link-local (cloud metadata), CGNAT, multicast,
 * unique-local and the other special ranges are refused. The check runs inside the
 * socket's own DNS lookup, so the address checked is the address connected to and a
 * DNS answer that changes between check and connect (rebinding) cannot slip through.
 */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (injectable: tests never touch real DNS). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
    });
  });

export class BlockedTargetError extends Error {
  override name = "BlockedTargetError";
  readonly code = "HOOKGATE_BLOCKED_TARGET";
}

/** The range name when an address is not public unicast, else undefined. */
export function blockedRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "invalid";
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range !== "unicast") return range;
  // ::a.b.c.d (IPv4-compatible, RFC 4291 2.5.5.1, deprecated) is "unicast" to ipaddr.js, yet
  // some stacks route it to the IPv4 address it embeds (::7f00:1 is 127.0.0.1): refuse all of ::/96.
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) return "ipv4Compatible";
  return undefined;
}

export interface TargetGuard {
  /** Throws BlockedTargetError when the host is (or resolves to) a refused address. */
  check(hostname: string): Promise<void>;
  /** A net.connect lookup that resolves, checks every address and hands back only checked ones. */
  readonly lookup: ConnectLookup;
}

type LookupCallback = (error: Error | null, address: string | ResolvedAddress[], family?: number) => void;
export type ConnectLookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => void;

export function createTargetGuard(allowPrivate: boolean, resolver: Resolver = systemResolver): TargetGuard {
  const resolveChecked = async (hostname: string): Promise<ResolvedAddress[]> => {
    const bare = hostname.replace(/^\[|\]$/g, "");
    const addresses = isIP(bare) ? [{ address: bare, family: isIP(bare) as 4 | 6 }] : await resolver(bare);
    if (!addresses.length) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    if (!allowPrivate) {
      for (const { address } of addresses) {
        const range = blockedRange(address);
        if (range) throw new BlockedTargetError(`${hostname} resolves to ${address} (${range}); private targets are not allowed`);
      }
    }
    return addresses;
  };
  return {
    check: async (hostname) => {
      await resolveChecked(hostname);
    },
    lookup: (hostname, options, callback) => {
      resolveChecked(hostname).then(
        (addresses) => {
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: Error) => callback(error, []),
      );
    },
  };
}
