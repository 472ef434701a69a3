import { IPv4CidrRange } from "ip-num";
import { stringify } from "yaml";
import type { Host } from "../backends/host.ts";
import { IFNAME, NAME } from "../model/names.ts";
import { SWITCH } from "../model/software.ts";

interface IpAddr {
  ifname: string;
  link_type?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  type?: string;
}

/** What was read from one host. */
export interface HostFacts {
  name: string;
  interfaces: { name: string; address?: string; prefix?: number; kind: string }[];
  routes: { to: string; via?: string; dev?: string }[];
  forwarding: boolean;
  /** OVS bridges and their ports (where ovs-vsctl answers). */
  bridges: Record<string, string[]>;
}

/** Interfaces a lab file can describe: NICs and veths (not bridges, tunnels or OVS internal ports). */
const WIRED = new Set(["", "veth", "dummy"]);

/** Reads one host: interfaces with their IPv4 address, routes (not the connected ones), forwarding, OVS bridges. */
export async function readHost(host: Host): Promise<HostFacts> {
  const addrs = await host.exec(["ip", "-j", "-d", "addr", "show"], { timeoutS: 20 });
  if (addrs.exitCode !== 0) throw new Error(`${host.name}: ip -j addr show: ${addrs.stderr.trim()}`);
  const routes = await host.exec(["ip", "-j", "-4", "route", "show", "table", "main"], { timeoutS: 20 });
  const fwd = await host.exec(["sysctl", "-n", "net.ipv4.ip_forward"], { timeoutS: 20 });
  const interfaces = (JSON.parse(addrs.stdout || "[]") as IpAddr[])
    .filter((l) => l.ifname !== "lo" && l.link_type === "ether")
    .map((l) => {
      const a = l.addr_info?.find((x) => x.family === "inet" && x.scope !== "host");
      return { name: l.ifname, kind: l.linkinfo?.info_kind ?? "", ...(a ? { address: a.local, prefix: a.prefixlen } : {}) };
    });
  const route = (JSON.parse(routes.stdout || "[]") as IpRoute[])
    .filter((r) => r.protocol !== "kernel" && (r.type ?? "unicast") === "unicast")
    .map((r) => ({ to: r.dst, ...(r.gateway ? { via: r.gateway } : { dev: r.dev }) }));
  const bridges: Record<string, string[]> = {};
  const br = await host.exec(["ovs-vsctl", "--timeout=5", "list-br"], { timeoutS: 10 });
  if (br.exitCode === 0) {
    for (const b of br.stdout.split("\n").filter(Boolean)) {
      const p = await host.exec(["ovs-vsctl", "--timeout=5", "list-ports", b], { timeoutS: 10 });
      bridges[b] = p.stdout.split("\n").filter(Boolean);
    }
  }
  return { name: host.name, interfaces, routes: route, forwarding: fwd.stdout.trim() === "1", bridges };
}

/** A LAN name from its network: `n-10-10-35-0-24`. */
function lanName(cidr: string): string {
  return `n-${cidr.replace(/[./]/g, "-")}`;
}

/**
 * A lab file for the machines read: LANs inferred from the subnets their addresses share, nodes
 * named as the hosts, interfaces named as on the hosts. Interfaces without an IPv4 address, and
 * whatever a lab file has no words for, are listed in each node's description.
 */
export function labFromFacts(name: string, facts: readonly HostFacts[]): { doc: Record<string, unknown>; notes: string[] } {
  const notes: string[] = [];
  const lans: Record<string, { cidr: string }> = {};
  const nodes: Record<string, Record<string, unknown>> = {};
  for (const f of facts) {
    if (!NAME.test(f.name)) {
      notes.push(`host ${f.name}: not a valid node name, left out`);
      continue;
    }
    const interfaces: Record<string, { lan: string; address: string }> = {};
    const unaddressed: string[] = [];
    for (const i of f.interfaces) {
      if (!IFNAME.test(i.name)) {
        notes.push(`${f.name}: interface ${JSON.stringify(i.name)} has a name a lab file cannot use, left out`);
        continue;
      }
      if (!WIRED.has(i.kind)) continue;
      if (!i.address || i.prefix === undefined) {
        unaddressed.push(i.name);
        continue;
      }
      const cidr = IPv4CidrRange.fromCidr(`${i.address}/${i.prefix}`).toCidrString();
      const net = `${IPv4CidrRange.fromCidr(cidr).getFirst().toString()}/${i.prefix}`;
      lans[lanName(net)] = { cidr: net };
      interfaces[i.name] = { lan: lanName(net), address: i.address };
    }
    const node: Record<string, unknown> = { interfaces };
    const ifs = new Set(Object.keys(interfaces));
    const routes = f.routes.filter((r) => (r.dev === undefined || ifs.has(r.dev)) && (r.via !== undefined || r.dev !== undefined));
    if (routes.length) node.routes = routes;
    if (f.forwarding) node.sysctls = { "net.ipv4.ip_forward": 1 };
    const bridges = Object.fromEntries(
      Object.entries(f.bridges)
        .map(([b, ports]) => [b, ports.filter((p) => ifs.has(p) || f.interfaces.some((i) => i.name === p && WIRED.has(i.kind)))] as const)
        .filter(([b, ports]) => IFNAME.test(b) && ports.length)
        .map(([b, ports]) => [b, { ports: Object.fromEntries(ports.map((p) => [p, {}])) }]),
    );
    if (Object.keys(bridges).length) {
      node.software = [SWITCH];
      node.bridges = bridges;
    }
    if (unaddressed.length) node.description = `imported; interfaces without an IPv4 address (not modelled): ${unaddressed.join(", ")}`;
    nodes[f.name] = node;
  }
  return { doc: { name, lans, nodes }, notes };
}

export function labYaml(name: string, facts: readonly HostFacts[], source: string): { text: string; notes: string[] } {
  const { doc, notes } = labFromFacts(name, facts);
  const head = [
    `# Imported by labwright from ${source} on ${new Date().toISOString()}.`,
    "# LANs are inferred from shared subnets; DNS, NAT and services are not imported: add them.",
    ...notes.map((n) => `# note: ${n}`),
  ];
  return { text: `${head.join("\n")}\n${stringify(doc)}`, notes };
}
