// Where webhooks may be sent. A webhook URL is chosen by whoever may create webhooks, and Aerie posts
// to it from inside the network: aimed at loopback, a private network, link-local (cloud metadata at
// 169.254.169.254) or a unique-local IPv6 address it would reach services no outsider should (a
// webhook at Aerie's own API once re-issued a device token). So only public unicast addresses are
// allowed, unless AERIE_WEBHOOK_ALLOW lists the host or its network.
//
// Checked twice: when the webhook is created (the URL's host and every address it resolves to), and
// at every delivery on the address actually connected to (a custom `lookup` for the socket), so a
// name that resolved to a public address at creation and to 127.0.0.1 later (DNS rebinding) is
// refused. Address classes come from ipaddr.js; IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as
// the IPv4 address it maps to, and NAT64/6to4/Teredo forms, which embed IPv4, are refused.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import ipaddr from "ipaddr.js";

export type Lookup = (hostname: string, options: { all: true }) => Promise<LookupAddress[]>;

const systemLookup: Lookup = (hostname, options) =>
  new Promise((resolve, reject) => dnsLookup(hostname, options, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/** Refusal of a webhook target; `reason` is safe to show (no credentials). */
export class WebhookTargetRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

interface AllowList {
  hosts: Set<string>;
  networks: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

/**
 * AERIE_WEBHOOK_ALLOW: comma-separated host names (exact, case-insensitive), IP addresses and CIDR
 * networks that may be targeted although they are not public, e.g. "hooks.internal,10.1.0.0/16,::1".
 * Throws naming the entry that is neither.
 */
export function parseAllowList(raw: string | undefined): AllowList {
  const list: AllowList = { hosts: new Set(), networks: [] };
  for (const entry of (raw ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
    if (entry.includes("/")) {
      try {
        const [address, bits] = ipaddr.parseCIDR(entry);
        // Addresses are compared after ipaddr.process (mapped IPv6 becomes IPv4), so networks are too.
        const mapped = address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() && bits >= 96;
        list.networks.push(mapped ? [(address as ipaddr.IPv6).toIPv4Address(), bits - 96] : [address, bits]);
      } catch {
        throw new Error(`not a CIDR network: ${entry}`);
      }
    } else if (ipaddr.isValid(entry.replace(/^\[|\]$/g, ""))) {
      const address = ipaddr.process(entry.replace(/^\[|\]$/g, ""));
      list.networks.push([address, address.kind() === "ipv4" ? 32 : 128]);
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)) {
      list.hosts.add(entry.toLowerCase().replace(/\.$/, ""));
    } else {
      throw new Error(`not a host name, IP address or CIDR network: ${entry}`);
    }
  }
  return list;
}

/** Why this address may not be a webhook target, or undefined when it is public unicast. */
export function forbiddenAddressReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!ipaddr.isValid(bare)) return `${address} is not an IP address`;
  // ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket.
  const parsed = ipaddr.process(bare);
  const range = parsed.range();
  if (range === "unicast") return undefined;
  const names: Record<string, string> = {
    loopback: "a loopback address", private: "a private (RFC 1918) address", linkLocal: "a link-local address (cloud metadata lives here)",
    uniqueLocal: "a unique-local IPv6 address", unspecified: "the unspecified address", carrierGradeNat: "a shared (carrier-grade NAT) address",
    multicast: "a multicast address", broadcast: "the broadcast address", reserved: "a reserved address",
    rfc6052: "a NAT64 address (embeds IPv4)", rfc6145: "an IPv4-translated address", "6to4": "a 6to4 address (embeds IPv4)",
    teredo: "a Teredo address (embeds IPv4)", deprecatedSiteLocal: "a site-local IPv6 address",
  };
  return `${parsed.toString()} is ${names[range] ?? `not a public unicast address (${range})`}`;
}

export interface WebhookTargetPolicyOptions {
  /** AERIE_WEBHOOK_ALLOW. */
  allow?: string;
  /** DNS resolution, replaceable in tests; default: the system's (getaddrinfo, as connections use). */
  lookup?: Lookup;
  /** This machine's own addresses (refused even when public: Aerie's API may listen there); default: its interfaces'. */
  ownAddresses?: string[];
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
}

const normalise = (address: string): string => ipaddr.process(address.replace(/^\[|\]$/g, "").replace(/%.*$/, "")).toString();

export class WebhookTargetPolicy {
  private readonly allowed: AllowList;
  private readonly lookup: Lookup;
  private readonly own: Set<string>;

  constructor(options: WebhookTargetPolicyOptions = {}) {
    this.allowed = parseAllowList(options.allow);
    this.lookup = options.lookup ?? systemLookup;
    this.own = new Set((options.ownAddresses ?? interfaceAddresses()).filter((a) => ipaddr.isValid(a.replace(/%.*$/, ""))).map(normalise));
  }

  private hostAllowed(hostname: string): boolean {
    return this.allowed.hosts.has(hostname.toLowerCase().replace(/\.$/, ""));
  }

  private addressAllowed(address: string): boolean {
    const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
    if (!ipaddr.isValid(bare)) return false;
    const parsed = ipaddr.process(bare);
    return this.allowed.networks.some(([network, bits]) => network.kind() === parsed.kind() && parsed.match(network, bits));
  }

  /** Throws WebhookTargetRefused unless `address` (an IP) may be connected to for `hostname`. */
  checkAddress(hostname: string, address: string): void {
    if (this.hostAllowed(hostname) || this.addressAllowed(address)) return;
    const reason = forbiddenAddressReason(address) ?? (this.own.has(normalise(address)) ? `${normalise(address)} is an address of this machine` : undefined);
    if (reason) throw new WebhookTargetRefused(`${reason}; list it in AERIE_WEBHOOK_ALLOW to allow it`);
  }

  /** The URL's host and every address it resolves to; throws WebhookTargetRefused. */
  async checkUrl(url: string): Promise<void> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new WebhookTargetRefused("not a URL");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new WebhookTargetRefused("only http and https URLs");
    const hostname = parsed.hostname.replace(/^\[|\]$/g, "");
    if (isIP(hostname)) return this.checkAddress(hostname, hostname);
    if (this.hostAllowed(hostname)) return;
    let addresses: LookupAddress[];
    try {
      addresses = await this.lookup(hostname, { all: true });
    } catch (error) {
      throw new WebhookTargetRefused(`${hostname} does not resolve (${(error as NodeJS.ErrnoException).code ?? "lookup failed"})`);
    }
    if (addresses.length === 0) throw new WebhookTargetRefused(`${hostname} does not resolve`);
    for (const { address } of addresses) this.checkAddress(hostname, address);
  }

  /**
   * A `lookup` for http.request/net.connect: resolves, then refuses the connection when any address
   * is not allowed. The socket connects to the address checked here, so a rebinding DNS answer
   * cannot slip in between check and connect.
   */
  connectLookup(): (hostname: string, options: object, callback: (...args: unknown[]) => void) => void {
    return (hostname, options, callback) => {
      const all = (options as { all?: boolean }).all === true;
      this.lookup(hostname, { all: true }).then(
        (addresses) => {
          try {
            if (addresses.length === 0) throw new WebhookTargetRefused(`${hostname} does not resolve`);
            for (const { address } of addresses) this.checkAddress(hostname, address);
          } catch (error) {
            callback(error);
            return;
          }
          if (all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error) => callback(error),
      );
    };
  }
}
