import { IPv4, IPv4CidrRange } from "ip-num";
import { cidrError, isIPv4 } from "./addresses.ts";
import { HOSTNAME, IFNAME, IFNAME_HINT, isNetnsSysctl, NAME, NAME_HINT, NETNS_SYSCTL_PREFIXES, SYSCTL_VALUE } from "./names.ts";
import type { Path, Problems } from "./problem-list.ts";
import type { LabDocT } from "./schema.ts";
import { type Broken, didYouMean } from "./shape.ts";
import { hasSwitch, softwareProblems } from "./software.ts";
import { parseOvnCentralDefaults, type OvnCentralSettings } from "./commands/ovn-ctl.ts";
import type { InterfaceSpec, LanSpec, NodeSpec } from "./types.ts";

/** What an interface's checks need of the rest of the document. */
interface Sections {
  doc: LabDocT;
  problems: Problems;
  broken: Broken;
  /** The address range of each LAN with a valid cidr. */
  ranges: Map<string, IPv4CidrRange>;
}

// ---------------------------------------------------------------- LANs

/** The LANs, checked (names, cidrs, overlaps); `ranges` has the address range of each LAN with a valid cidr. */
export function lanSpecs(doc: LabDocT, problems: Problems, broken: Broken): { lans: LanSpec[]; ranges: Map<string, IPv4CidrRange> } {
  const lans: LanSpec[] = [];
  const ranges = new Map<string, IPv4CidrRange>();
  for (const [lanName, lan] of Object.entries(doc.lans)) {
    const at: Path = ["lans", lanName];
    if (!NAME.test(lanName)) problems.add(["lans"], `LAN name "${lanName}" is not valid`, NAME_HINT, lanName);
    if (lan.cidr === undefined) {
      lans.push({ name: lanName, prefix: 32, description: lan.description });
      continue;
    }
    const err = cidrError(lan.cidr);
    if (err) {
      problems.add(
        [...at, "cidr"],
        err,
        err.includes("host bits") ? `write the network address: ${err.split("network is ")[1]}` : "write it like 10.10.35.0/24",
      );
      continue;
    }
    const range = IPv4CidrRange.fromCidr(lan.cidr);
    for (const [other, r] of ranges) {
      if (range.isOverlapping(r)) {
        problems.add([...at, "cidr"], `${lan.cidr} overlaps LAN "${other}" (${r.toCidrString()})`, "give each LAN its own address range");
      }
    }
    ranges.set(lanName, range);
    lans.push({ name: lanName, cidr: lan.cidr, prefix: Number(range.getPrefix().getValue()), description: lan.description });
  }
  if (Object.keys(doc.lans).length === 0 && broken.lans.size === 0 && !broken.absent.has("lans")) {
    problems.add(["lans"], "a lab needs at least one LAN", "add `lans: { lan1: { cidr: 10.0.0.0/24 } }`");
  }
  return { lans, ranges };
}

// ---------------------------------------------------------------- nodes and their interfaces

/** The nodes with their interfaces, checked; `nodeNames` also has the nodes whose shape was broken. */
export function nodeSpecs(
  doc: LabDocT,
  problems: Problems,
  broken: Broken,
  ranges: Map<string, IPv4CidrRange>,
): { nodeNames: Set<string>; nodes: NodeSpec[] } {
  const nodeNames = new Set([...Object.keys(doc.nodes), ...broken.nodes]);
  if (nodeNames.size === 0 && !broken.absent.has("nodes"))
    problems.add(["nodes"], "a lab needs at least one node", "add a node under `nodes:`");
  const sections: Sections = { doc, problems, broken, ranges };
  const owners = new Map<string, string>(); // address -> "node/if"
  const nodes: NodeSpec[] = [];
  for (const [nodeName, n] of Object.entries(doc.nodes)) {
    if (!NAME.test(nodeName)) problems.add(["nodes"], `node name "${nodeName}" is not valid`, NAME_HINT, nodeName);
    const interfaces = Object.entries(n.interfaces).map(([ifName, i]) => interfaceSpec(nodeName, ifName, i, sections, owners));
    nodes.push({
      name: nodeName,
      description: n.description,
      interfaces,
      routes: n.routes,
      sysctls: Object.fromEntries(Object.entries(n.sysctls).map(([k, v]) => [k, typeof v === "boolean" ? (v ? "1" : "0") : String(v)])),
      nat: n.nat,
      dns: n.dns
        ? { records: Object.fromEntries(Object.entries(n.dns.records).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])) }
        : undefined,
      resolver: n.resolver,
      services: n.services,
      software: [...new Set(n.software)],
      bridges: Object.fromEntries(Object.entries(n.bridges).map(([b, br]) => [b, br.ports])),
      ovnCentral: ovnCentralOf(nodeName, n, interfaces, problems),
    });
  }
  return { nodeNames, nodes };
}

/** `etc_default.ovn-central`, read (ovn-ctl's options), or its problems. */
function ovnCentralOf(
  nodeName: string,
  n: LabDocT["nodes"][string],
  interfaces: readonly InterfaceSpec[],
  problems: Problems,
): OvnCentralSettings | undefined {
  const text = n.etc_default?.["ovn-central"];
  if (text === undefined) return undefined;
  const at: Path = ["nodes", nodeName, "etc_default", "ovn-central"];
  if (!n.software.includes("ovn-central"))
    problems.add(at, `${nodeName} has /etc/default/ovn-central but not the ovn-central package`, "add ovn-central to its `software`");
  const own = interfaces.flatMap((i) => (i.address ? [i.address] : []));
  const r = parseOvnCentralDefaults(text, own);
  for (const [what, todo] of r.problems) problems.add(at, what, todo);
  return r.settings;
}

type InterfaceDoc = LabDocT["nodes"][string]["interfaces"][string];

/** One interface of a node: its name, its LAN and its address, checked. `owners`: address -> "node/if", over the whole lab. */
function interfaceSpec(nodeName: string, ifName: string, i: InterfaceDoc, s: Sections, owners: Map<string, string>): InterfaceSpec {
  const { doc, problems, broken } = s;
  const at: Path = ["nodes", nodeName];
  const iat: Path = [...at, "interfaces", ifName];
  if (ifName.length > 15) {
    problems.add(
      [...at, "interfaces"],
      `interface name "${ifName}" is ${ifName.length} characters; Linux allows at most 15`,
      "shorten it",
      ifName,
    );
  } else if (!IFNAME.test(ifName) || ifName === "lo") {
    problems.add([...at, "interfaces"], `interface name "${ifName}" is not usable`, `${IFNAME_HINT} (and not 'lo')`, ifName);
  }
  const range = s.ranges.get(i.lan);
  if (!(i.lan in doc.lans) && !broken.lans.has(i.lan)) {
    problems.add(
      [...iat, "lan"],
      `unknown LAN "${i.lan}"`,
      `${didYouMean(i.lan, Object.keys(doc.lans))}use one of the LANs defined under \`lans\`: ${Object.keys(doc.lans).join(", ") || "(none)"}`,
    );
  }
  let address: string | undefined;
  if (i.address !== undefined && i.lan in doc.lans && !range && doc.lans[i.lan]!.cidr === undefined) {
    problems.add(
      [...iat, "address"],
      `LAN "${i.lan}" has no cidr, so its interfaces carry no address`,
      `give LAN "${i.lan}" a cidr, or remove the address`,
    );
  }
  if (i.address !== undefined && range) {
    address = interfaceAddress(i.address, i.lan, range, iat, problems, owners);
    if (address !== undefined) owners.set(address, `${nodeName}/${ifName}`);
  }
  if (i.bridge !== undefined && (!IFNAME.test(i.bridge) || i.bridge.length > 15 || i.bridge in doc.nodes[nodeName]!.interfaces))
    problems.add([...iat, "bridge"], `bridge name "${i.bridge}" is not usable`, `${IFNAME_HINT}, and not one of the node's NICs`);
  return {
    name: ifName,
    lan: i.lan,
    address,
    prefix: range ? Number(range.getPrefix().getValue()) : 32,
    mac: i.mac,
    mtu: i.mtu,
    bridge: i.bridge,
  };
}

/** An interface's address on a LAN with a cidr: the bare address, or undefined when it is not usable (then reported). */
function interfaceAddress(
  written: string,
  lan: string,
  range: IPv4CidrRange,
  iat: Path,
  problems: Problems,
  owners: Map<string, string>,
): string | undefined {
  const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(written);
  const ip = m?.[1] ?? "";
  const lanPrefix = Number(range.getPrefix().getValue());
  if (!m || !isIPv4(ip)) {
    problems.add(
      [...iat, "address"],
      `"${written}" is not an IPv4 address`,
      `write it like ${range.getFirst().nextIPNumber().toString()} (the prefix comes from the LAN)`,
    );
  } else if (m[2] !== undefined && Number(m[2]) !== lanPrefix) {
    problems.add(
      [...iat, "address"],
      `prefix /${m[2]} differs from LAN "${lan}" (${range.toCidrString()})`,
      `use /${lanPrefix} or leave the prefix out`,
    );
  } else if (!range.contains(IPv4.fromString(ip))) {
    problems.add(
      [...iat, "address"],
      `${ip} is outside LAN "${lan}" (${range.toCidrString()})`,
      `pick an address in ${range.toCidrString()}`,
    );
  } else if (lanPrefix < 31 && (ip === range.getFirst().toString() || ip === range.getLast().toString())) {
    problems.add(
      [...iat, "address"],
      `${ip} is the ${ip === range.getFirst().toString() ? "network" : "broadcast"} address of ${range.toCidrString()}`,
      "pick a host address",
    );
  } else if (owners.has(ip)) {
    problems.add([...iat, "address"], `${ip} is already used by ${owners.get(ip)}`, "give every interface its own address");
  } else {
    return ip;
  }
  return undefined;
}

// ---------------------------------------------------------------- per-node references

/** Per-node references: sysctls, routes, NAT, DNS, resolver, software, bridges, services. */
export function nodeChecks(node: NodeSpec, problems: Problems, ranges: Map<string, IPv4CidrRange>): void {
  const at: Path = ["nodes", node.name];
  const ifNames = new Set(node.interfaces.map((i) => i.name));
  sysctlChecks(node, at, problems);
  routeChecks(node, at, ifNames, problems, ranges);
  natChecks(node, at, ifNames, problems);
  dnsChecks(node, at, problems);
  if (node.resolver !== undefined && !isIPv4(node.resolver))
    problems.add([...at, "resolver"], `"${node.resolver}" is not an IPv4 address`, "write the DNS server's address");
  for (const [what, todo] of softwareProblems(node)) problems.add([...at, "software"], what, todo);
  bridgeChecks(node, at, ifNames, problems);
  serviceChecks(node, at, problems);
}

function sysctlChecks(node: NodeSpec, at: Path, problems: Problems): void {
  for (const [k, v] of Object.entries(node.sysctls)) {
    if (!isNetnsSysctl(k)) {
      problems.add(
        [...at, "sysctls"],
        `sysctl "${k}" is not a per-network-namespace key: setting it from a lab node would change the whole machine`,
        `remove it; a node may set keys under ${NETNS_SYSCTL_PREFIXES.join(", ")}`,
        k,
      );
    } else if (!SYSCTL_VALUE.test(v))
      problems.add([...at, "sysctls", k], `"${v}" is not a sysctl value`, "use a number or a word (or a few, separated by single spaces)");
  }
}

function routeChecks(node: NodeSpec, at: Path, ifNames: Set<string>, problems: Problems, ranges: Map<string, IPv4CidrRange>): void {
  const onLink = (ip: string) => node.interfaces.some((i) => i.address && ranges.get(i.lan)?.contains(IPv4.fromString(ip)));
  node.routes.forEach((r, k) => {
    const rat: Path = [...at, "routes", k];
    if (r.to !== "default") {
      const err = cidrError(r.to);
      if (err) problems.add([...rat, "to"], err, "use `default` or a network like 10.50.0.0/24");
    }
    if (r.via === undefined && r.dev === undefined)
      problems.add(rat, "a route needs `via` (a gateway) or `dev`", "add `via: <gateway address>`");
    if (r.via !== undefined) {
      if (!isIPv4(r.via)) problems.add([...rat, "via"], `"${r.via}" is not an IPv4 address`, "write the gateway's address");
      else if (!onLink(r.via))
        problems.add(
          [...rat, "via"],
          `gateway ${r.via} is not on any LAN where ${node.name} has an address`,
          "use the address of a neighbour on one of this node's LANs",
        );
    }
    if (r.dev !== undefined && !ifNames.has(r.dev))
      problems.add([...rat, "dev"], `unknown interface "${r.dev}" on ${node.name}`, `use one of: ${[...ifNames].join(", ")}`);
  });
}

function natChecks(node: NodeSpec, at: Path, ifNames: Set<string>, problems: Problems): void {
  node.nat.forEach((rule, k) => {
    const nat: Path = [...at, "nat", k];
    const dev = rule.type === "masquerade" ? rule.out : rule.in;
    const key = rule.type === "masquerade" ? "out" : "in";
    if (!ifNames.has(dev))
      problems.add([...nat, key], `unknown interface "${dev}" on ${node.name}`, `use one of: ${[...ifNames].join(", ")}`);
    if (rule.type === "dnat") {
      const m = /^([\d.]+)(?::(\d+))?$/.exec(rule.to);
      if (!m || !isIPv4(m[1]!) || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
        problems.add([...nat, "to"], `"${rule.to}" is not an address or address:port`, "write it like 10.10.35.10:80");
      }
    }
  });
}

function dnsChecks(node: NodeSpec, at: Path, problems: Problems): void {
  if (!node.dns) return;
  for (const [name, ips] of Object.entries(node.dns.records)) {
    if (!HOSTNAME.test(name))
      problems.add([...at, "dns", "records"], `"${name}" is not a valid DNS name`, "use a name like google.com", name);
    for (const ip of ips)
      if (!isIPv4(ip)) problems.add([...at, "dns", "records", name], `"${ip}" is not an IPv4 address`, "give the record an IPv4 address");
  }
  if (!node.interfaces.some((i) => i.address))
    problems.add([...at, "dns"], `${node.name} serves DNS but has no address to serve it on`, "give one of its interfaces an address");
}

function bridgeChecks(node: NodeSpec, at: Path, ifNames: Set<string>, problems: Problems): void {
  const owned = new Map<string, string>();
  for (const [b, ports] of Object.entries(node.bridges)) {
    const bat: Path = [...at, "bridges", b];
    if (!hasSwitch(node)) problems.add([...at, "bridges"], `${node.name} has bridges but no Open vSwitch`, "add `software: [openvswitch]`");
    if (!IFNAME.test(b) || ifNames.has(b))
      problems.add(
        [...at, "bridges"],
        `bridge name "${b}" is not usable`,
        "use a short name (at most 15 characters) that is not one of the node's interfaces",
        b,
      );
    for (const [p, v] of Object.entries(ports)) {
      if (!ifNames.has(p))
        problems.add(
          [...bat, "ports"],
          `unknown interface "${p}" on ${node.name}`,
          `a switch port is one of the node's interfaces: ${[...ifNames].join(", ")}`,
          p,
        );
      else if (owned.has(p))
        problems.add([...bat, "ports"], `${p} is already a port of bridge ${owned.get(p)}`, "put each interface in one bridge", p);
      owned.set(p, b);
      if (v.tag !== undefined && v.trunks !== undefined)
        problems.add([...bat, "ports", p], "a port is either an access port (tag) or a trunk (trunks), not both", "keep one of them");
    }
  }
}

function serviceChecks(node: NodeSpec, at: Path, problems: Problems): void {
  const ports = new Set<number>();
  node.services.forEach((s, k) => {
    if (ports.has(s.port))
      problems.add(
        [...at, "services", k, "port"],
        `port ${s.port} is used by another service on ${node.name}`,
        "give each service its own port",
      );
    ports.add(s.port);
  });
}
