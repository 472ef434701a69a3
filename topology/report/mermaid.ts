import type { Lab } from "../model/types.ts";

/** The lab's topology as a Mermaid flowchart: LANs as rounded boxes, nodes as boxes, links labelled. */
export function mermaid(lab: Lab): string {
  const id = (kind: string, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const out = ["flowchart LR"];
  for (const l of lab.lans) out.push(`  ${id("lan", l.name)}(["${l.name}<br/>${l.cidr ?? "(no addresses)"}"])`);
  for (const n of lab.nodes) {
    const extras = [
      n.nat.length ? "NAT" : "",
      n.dns ? "DNS" : "",
      n.services.length ? n.services.map((s) => `${s.type}:${s.port}`).join(" ") : "",
    ].filter(Boolean);
    out.push(`  ${id("node", n.name)}["${n.name}${extras.length ? `<br/><small>${extras.join(", ")}</small>` : ""}"]`);
  }
  for (const n of lab.nodes) {
    for (const i of n.interfaces)
      out.push(`  ${id("node", n.name)} ---|"${i.name}${i.address ? ` ${i.address}` : ""}"| ${id("lan", i.lan)}`);
  }
  return out.join("\n") + "\n";
}
