import { IPv4, IPv4CidrRange } from "ip-num";
import { isIPv4 } from "../model/addresses.ts";
import type { ProbeTarget } from "./target.ts";
import type { LinkState } from "../probes/link.ts";

/** Plain-language notes on interfaces whose state explains an unreachable address. */
export function linkNotes(node: string, links: readonly LinkState[]): string[] {
  const notes: string[] = [];
  for (const l of links) {
    if (!l.exists) continue;
    if (l.master && l.addresses.length) {
      notes.push(
        `${node} ${l.dev}: ${l.admin}, oper ${l.oper}, ${l.carrier ? "carrier" : "no carrier"}, address ${l.addresses.join(", ")} configured but unusable: ` +
          `${l.dev} is a port of bridge ${l.master}, so every frame it receives goes to ${l.master}, not to its own IP stack`,
      );
    } else if (l.admin === "down" && l.addresses.length) {
      notes.push(
        `${node} ${l.dev}: administratively DOWN with address ${l.addresses.join(", ")}: the address cannot be used until the link is set up`,
      );
    } else if (l.admin === "up" && !l.carrier && l.addresses.length) {
      notes.push(`${node} ${l.dev}: up but without carrier (address ${l.addresses.join(", ")}): nothing is plugged in on the other side`);
    }
  }
  return notes;
}

/** Notes for a failed path between two nodes: the interfaces of both ends, and routers on the way that do not forward. */
export async function pathNotes(lab: ProbeTarget, from: string, to: string): Promise<string[]> {
  const target = lab.lab.nodes.some((n) => n.name === to) ? to : lab.ownerOf(to);
  const nodes = [...new Set([from, target].filter((n): n is string => !!n))];
  const notes = await Promise.all(nodes.map(async (n) => linkNotes(n, await lab.links(n))));
  return [...notes.flat(), ...(await forwardingNotes(lab, from, to))];
}

/**
 * The gateway `from` sends through (the lab file's route to the destination, else its default
 * route): when that node is a lab node whose net.ipv4.ip_forward is 0, it drops what it should
 * route, and the ping only says "no reply".
 */
async function forwardingNotes(lab: ProbeTarget, from: string, to: string): Promise<string[]> {
  const src = lab.lab.nodes.find((n) => n.name === from);
  if (!src) return [];
  let dest: string;
  try {
    dest = lab.addressOf(from, to);
  } catch {
    return [];
  }
  const onLink = src.interfaces.some(
    (i) => i.address && lab.lab.lans.find((l) => l.name === i.lan)?.cidr && sameNet(i.address, dest, i.prefix),
  );
  if (onLink) return [];
  const route =
    src.routes.find((r) => r.to !== "default" && r.via && inNet(dest, r.to)) ?? src.routes.find((r) => r.to === "default" && r.via);
  const gw = route?.via ? lab.ownerOf(route.via) : undefined;
  if (!gw || gw === to) return [];
  const r = await lab.sh(gw, "sysctl -n net.ipv4.ip_forward", { timeoutS: 10 });
  if (r.stdout.trim() !== "0") return [];
  return [
    `${gw} is the gateway ${from} uses towards ${dest} (route ${route!.to} via ${route!.via}), and it does not forward: net.ipv4.ip_forward is 0 there. Add \`sysctls: { net.ipv4.ip_forward: 1 }\` to ${gw}`,
  ];
}

/** Is `b` in the network of address `a` with this prefix? */
function sameNet(a: string, b: string, prefix: number): boolean {
  return isIPv4(b) && IPv4CidrRange.fromCidr(`${a}/${prefix}`).contains(IPv4.fromString(b));
}
function inNet(ip: string, cidr: string): boolean {
  return isIPv4(ip) && IPv4CidrRange.fromCidr(cidr).contains(IPv4.fromString(ip));
}
