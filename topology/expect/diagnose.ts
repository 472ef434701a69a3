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
      notes.push(`${node} ${l.dev}: administratively DOWN with address ${l.addresses.join(", ")}: the address cannot be used until the link is set up`);
    } else if (l.admin === "up" && !l.carrier && l.addresses.length) {
      notes.push(`${node} ${l.dev}: up but without carrier (address ${l.addresses.join(", ")}): nothing is plugged in on the other side`);
    }
  }
  return notes;
}

/** Notes for a failed path between two nodes: looks at the interfaces of both ends. */
export async function pathNotes(lab: ProbeTarget, from: string, to: string): Promise<string[]> {
  const target = lab.lab.nodes.some((n) => n.name === to) ? to : lab.ownerOf(to);
  const nodes = [...new Set([from, target].filter((n): n is string => !!n))];
  const notes = await Promise.all(nodes.map(async (n) => linkNotes(n, await lab.links(n))));
  return notes.flat();
}
