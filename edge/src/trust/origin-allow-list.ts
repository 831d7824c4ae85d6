/**
 * Which URLs a heartbeat may announce as a replica's address. The pool routes tenant prompts to
 * whatever URL a replica announces, so even a genuine node key must not be able to point traffic
 * at an arbitrary host (or at a cloud metadata address).
 *
 *   MOTIF_ORIGIN_ALLOW = entry[,entry…]   entry: CIDR (10.0.0.0/8, fd00::/8), IP, host name,
 *                                         or *.suffix (any name under the suffix)
 *
 * Unset, only loopback and private addresses are allowed (127.0.0.0/8, ::1, localhost, 10/8,
 * 172.16/12, 192.168/16, fc00::/7): right for the appliance and for `npm start`; a deployment
 * whose origins have public names lists them.
 */
import ipaddr from 'ipaddr.js';
import { ApiError } from '#shared/errors.ts';

export const DEFAULT_ORIGIN_ALLOW = '127.0.0.0/8,::1/128,localhost,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';

type Rule = { kind: 'cidr'; range: [ipaddr.IPv4 | ipaddr.IPv6, number] } | { kind: 'host'; name: string } | { kind: 'suffix'; suffix: string };

export interface OriginAllowList {
  allows(url: string): boolean;
  /** The configured entries, for messages. */
  readonly spec: string;
}

const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function parseRule(entry: string): Rule {
  const e = entry.toLowerCase();
  if (e.startsWith('*.')) {
    if (!HOST.test(e.slice(2))) throw new Error(`"${entry}" is not a valid *.suffix`);
    return { kind: 'suffix', suffix: e.slice(1) };
  }
  if (e.includes('/')) {
    try {
      return { kind: 'cidr', range: ipaddr.parseCIDR(e) };
    } catch {
      throw new Error(`"${entry}" is not a valid CIDR`);
    }
  }
  if (ipaddr.isValid(e)) {
    const ip = ipaddr.parse(e);
    return { kind: 'cidr', range: [ip, ip.kind() === 'ipv4' ? 32 : 128] };
  }
  if (!HOST.test(e)) throw new Error(`"${entry}" is neither a CIDR, an IP, a host name nor *.suffix`);
  return { kind: 'host', name: e };
}

/** Parse the allow-list; throws an Error naming the bad entry. */
export function parseOriginAllowList(spec: string = DEFAULT_ORIGIN_ALLOW): OriginAllowList {
  const rules = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseRule);
  if (rules.length === 0) throw new Error('the origin allow-list is empty');
  return {
    spec,
    allows(url) {
      let host: string;
      try {
        host = new URL(url).hostname.toLowerCase();
      } catch {
        return false;
      }
      const bare = host.startsWith('[') ? host.slice(1, -1) : host;
      if (ipaddr.isValid(bare)) {
        let ip = ipaddr.parse(bare);
        // ::ffff:10.0.0.1 is 10.0.0.1: compare it as the IPv4 address it is.
        if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
        return rules.some((r) => r.kind === 'cidr' && r.range[0].kind() === ip.kind() && ip.match(r.range));
      }
      return rules.some((r) => (r.kind === 'host' && r.name === host) || (r.kind === 'suffix' && host.endsWith(r.suffix)));
    },
  };
}

/** Refuse (403, param url) a replica URL outside the allow-list. */
export function assertOriginAllowed(list: OriginAllowList, url: string): void {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ApiError('invalid_request_error', 'Replica url must be http(s).', { param: 'url' });
  if (u.username || u.password) throw new ApiError('invalid_request_error', 'Replica url must not carry credentials.', { param: 'url' });
  if (!list.allows(url))
    throw new ApiError('permission_denied', `Replica url host ${u.hostname} is not in the edge's origin allow-list (MOTIF_ORIGIN_ALLOW).`, { param: 'url' });
}
