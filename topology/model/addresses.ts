import { IPv4CidrRange, Validator } from "ip-num";

// ---------------------------------------------------------------- address helpers

export function isIPv4(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && Validator.isValidIPv4String(s)[0];
}

/** Is this string a network in CIDR form, with no host bits set? Returns an error message or null. */
export function cidrError(s: string): string | null {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return `"${s}" is not an IPv4 network in CIDR form (like 10.10.35.0/24)`;
  if (!Validator.isValidIPv4CidrRange(s)[0]) {
    const net = IPv4CidrRange.fromCidr(s).getFirst().toString();
    return `"${s}" has host bits set: the network is ${net}/${m[2]}`;
  }
  return null;
}

/**
 * Addresses that exist only once steps ran: `<incus network>:gateway|uplink` (its router inside / on
 * the uplink), `<openstack router>:gateway` (the qg- address), `<server>:fixed|floating`.
 */
export const NETWORK_REF = /^([A-Za-z0-9][A-Za-z0-9_-]*):(gateway|uplink|fixed|floating)$/;
