import { expect } from "vitest";
import type { StartedLab } from "../../topology/lab.ts";
import { parseIncus } from "../../topology/model/commands/incus.ts";

/** The real `incus` client on a member, as an operator types it. */
export async function incus(lab: StartedLab, member: string, line: string) {
  return lab.exec(member, ["incus", ...parseIncus(line).argv], { timeoutS: 120 });
}

/**
 * Creates OVN networks n1..n<count> on UPLINK from pamonha1, each expected to succeed, and returns
 * the uplink address each got (`volatile.network.ipv4.address`), by network name.
 */
export async function createOvnNetworks(lab: StartedLab, count: number): Promise<Map<string, string | undefined>> {
  for (let k = 1; k <= count; k++) {
    const r = await incus(lab, "pamonha1", `network create n${k} --type=ovn network=UPLINK`);
    expect(r.exitCode, `network ${k}: ${r.stderr}`).toBe(0);
  }
  const list = JSON.parse((await incus(lab, "pamonha1", "network list --format json")).stdout) as {
    name: string;
    config: Record<string, string>;
  }[];
  return new Map(list.map((n) => [n.name, n.config["volatile.network.ipv4.address"]]));
}
