import type { NodeExec } from "./types.ts";

export interface LinkState {
  kind: "link";
  dev: string;
  exists: boolean;
  admin?: "up" | "down";
  oper?: string;
  carrier?: boolean;
  master?: string;
  mtu?: number;
  /** CIDR form, e.g. 10.10.35.1/24 */
  addresses: string[];
}

interface IpAddrJson {
  ifname: string;
  flags?: string[];
  operstate?: string;
  master?: string;
  mtu?: number;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export function toLinkState(j: IpAddrJson): LinkState {
  const flags = j.flags ?? [];
  return {
    kind: "link",
    dev: j.ifname,
    exists: true,
    admin: flags.includes("UP") ? "up" : "down",
    oper: (j.operstate ?? "unknown").toLowerCase(),
    carrier: flags.includes("LOWER_UP"),
    master: j.master,
    mtu: j.mtu,
    addresses: (j.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
  };
}

export async function linkState(exec: NodeExec, dev: string): Promise<LinkState> {
  const r = await exec(["ip", "-j", "addr", "show", "dev", dev], { timeoutS: 10 });
  if (r.exitCode !== 0) return { kind: "link", dev, exists: false, addresses: [] };
  const [j] = JSON.parse(r.stdout) as IpAddrJson[];
  return j ? toLinkState(j) : { kind: "link", dev, exists: false, addresses: [] };
}

/** Every interface of a node (lo excluded). */
export async function allLinks(exec: NodeExec): Promise<LinkState[]> {
  const r = await exec(["ip", "-j", "addr", "show"], { timeoutS: 10 });
  if (r.exitCode !== 0) return [];
  return (JSON.parse(r.stdout) as IpAddrJson[]).filter((j) => j.ifname !== "lo").map(toLinkState);
}
