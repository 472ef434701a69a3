import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./scratch.ts";

/** A lab file with many nodes, so that starting it takes long enough to be interrupted. */
export function bigLab(nodes = 40): string {
  const lines = [
    "name: big",
    "lans:",
    "  a: { cidr: 10.20.0.0/16 }",
    "  b: { cidr: 10.21.0.0/16 }",
    "nodes:",
    "  dns:",
    "    interfaces: { eth0: { lan: a, address: 10.20.0.1 } }",
    "    dns: { records: { example.org: 10.20.0.1 } }",
  ];
  for (let k = 1; k <= nodes; k++) {
    lines.push(`  n${k}:`, `    interfaces: { eth0: { lan: a, address: 10.20.1.${k} }, eth1: { lan: b, address: 10.21.1.${k} } }`);
  }
  return writeLab("big.yaml", lines.join("\n") + "\n");
}

export function writeLab(name: string, text: string): string {
  const file = join(scratchDir("lw-lab-"), name);
  writeFileSync(file, text);
  return file;
}
