import { readdirSync, readFileSync } from "node:fs";
import { execa } from "execa";
import { listRunIds, NS_PREFIX } from "../../topology/run/state.ts";

export function listLabNamespaces(): string[] {
  try {
    return readdirSync("/run/netns").filter((n) => n.startsWith(NS_PREFIX));
  } catch {
    return [];
  }
}

export function runIds(): string[] {
  return listRunIds();
}

/** What the root namespace looks like: links, addresses, routes, rules, nftables, forwarding sysctls. */
export async function rootSnapshot(): Promise<Record<string, unknown>> {
  const j = async (argv: string[]) => JSON.parse((await execa(argv[0]!, argv.slice(1))).stdout || "[]");
  const links = (await j(["ip", "-j", "link", "show"])) as Record<string, unknown>[];
  const sys = async (k: string) => (await execa("sysctl", ["-n", k])).stdout.trim();
  return {
    links: links.map((l) => ({ ifname: l.ifname, flags: l.flags, mtu: l.mtu, address: l.address, master: l.master })),
    addresses: ((await j(["ip", "-j", "addr", "show"])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[]).map(
      (a) => ({
        ifname: a.ifname,
        addrs: a.addr_info.map((x) => `${x.local}/${x.prefixlen}`),
      }),
    ),
    routes: await j(["ip", "-j", "route", "show", "table", "all"]),
    rules: await j(["ip", "-j", "rule", "show"]),
    nft: (await execa("nft", ["list", "ruleset"])).stdout,
    sysctls: {
      ip_forward: await sys("net.ipv4.ip_forward"),
      all_forwarding: await sys("net.ipv4.conf.all.forwarding"),
      v6_forwarding: await sys("net.ipv6.conf.all.forwarding"),
    },
  };
}

/**
 * Is the process running? A zombie waiting to be reaped is not, nor a process in its exit (the
 * kernel's PF_EXITING, 0x4, in stat's flags): a killed pid namespace's init stays there until this
 * machine's pid 1 has reaped its namespace's processes (about once a second here), running nothing.
 */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] !== "Z" && fields[0] !== "X" && (Number(fields[6]) & 0x4) === 0;
  } catch {
    return false;
  }
}
