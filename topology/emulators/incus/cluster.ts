import { createHash } from "node:crypto";
import { IPv4, IPv4CidrRange } from "ip-num";
import { stringify } from "yaml";
import type { NodeSpec } from "../../model/types.ts";
import type { CommandResult } from "../../run/exec.ts";
import type { IncusCommand } from "../../model/commands/incus.ts";
import { script } from "../../run/tokens.ts";
import { dhcpClientCommand, table } from "../cli.ts";

/**
 * An Incus cluster as far as networking goes: physical uplinks and OVN networks, instances on them,
 * network forwards. Each verb does what Incus does (lxc/incus internal/server/network/driver_ovn.go
 * and driver_physical.go; see ../shared/notes/emulation-fidelity.md §1): the same OVN northbound
 * rows with the same names, the same OVS bridge and mapping on each member, the same checks and the
 * same error texts, and the same rollback — including setting the uplink NIC DOWN.
 */

/** What the emulator needs from the running lab. */
export interface IncusHost {
  readonly members: readonly NodeSpec[];
  /** Runs argv inside a node (members and instances), with the node's OVS/OVN environment. */
  exec(node: string, argv: string[], timeoutS?: number): Promise<CommandResult>;
  /** Applies the kernel-datapath behaviour after OVS changes on a member. */
  reconcile(node: string): Promise<void>;
  /** Creates the instance's namespace with `eth0`, whose peer `hostIf` is left in the member. */
  createInstance(name: string, member: string, hostIf: string, mac: string, mtu: number): Promise<void>;
  deleteInstance(name: string): Promise<void>;
  /** Networks the lab already uses (its LANs): an auto subnet must not overlap them. */
  readonly usedCidrs: readonly string[];
}

export class IncusError extends Error {}

export interface NetworkRecord {
  id: number;
  name: string;
  type: "physical" | "ovn";
  config: Record<string, string>;
  /** physical: parent NIC per member. */
  parents: Record<string, string>;
  status: "Pending" | "Created" | "Errored";
  /** ovn: DHCP_Options row of the internal subnet. */
  dhcp?: string;
}

export interface InstanceRecord {
  name: string;
  member: string;
  network: string;
  mac: string;
  hostIf: string;
  port: string;
  address?: string;
}

export interface ForwardRecord {
  network: string;
  listen: string;
  config: Record<string, string>;
  ports: { protocol: "tcp" | "udp"; listenPorts: string; target: string; targetPorts?: string }[];
}

const PHYSICAL_KEYS = new Set(["parent", "ipv4.ovn.ranges", "ipv4.gateway", "ipv4.routes", "dns.nameservers", "mtu", "description"]);
const OVN_KEYS = new Set(["network", "ipv4.address", "ipv4.nat", "ipv4.dhcp", "ipv6.address", "ipv6.nat", "bridge.mtu", "dns.domain", "description"]);
const GENEVE_MTU = 1442;

const hash = (s: string) => createHash("sha256").update(s).digest();

/** Incus-style stable MAC (00:16:3e prefix) derived from a seed. */
export function stableMac(seed: string): string {
  const h = hash(seed);
  return ["00", "16", "3e", ...[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

function parseRanges(spec: string): [number, number][] {
  return spec.split(",").map((r) => {
    const [a, b = a] = r.trim().split("-");
    if (!a || !/^\d+(\.\d+){3}$/.test(a) || !/^\d+(\.\d+){3}$/.test(b!)) throw new IncusError(`Failed to parse uplink IPv4 OVN ranges: Invalid IP range "${r.trim()}"`);
    return [ipToInt(a), ipToInt(b!)];
  });
}

function cidrOf(addr: string): IPv4CidrRange {
  const [ip, prefix] = addr.split("/");
  return IPv4CidrRange.fromCidr(`${ip}/${prefix}`);
}

export class IncusCluster {
  readonly networks = new Map<string, NetworkRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  readonly forwards: ForwardRecord[] = [];
  readonly serverConfig: Record<string, string> = {};
  private nextId = 1;

  constructor(private readonly host: IncusHost) {}

  /** Runs one `incus ...` command typed on a member, returning what the CLI would print. */
  async run(on: string, cmd: IncusCommand): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    try {
      const stdout = await this.dispatch(on, cmd);
      return { exitCode: 0, stdout, stderr: "" };
    } catch (e) {
      if (e instanceof IncusError) return { exitCode: 1, stdout: "", stderr: `Error: ${e.message}\n` };
      throw e;
    }
  }

  private async dispatch(on: string, c: IncusCommand): Promise<string> {
    switch (c.verb) {
      case "network-create":
        return this.networkCreate(on, c);
      case "network-delete":
        return this.networkDelete(on, c.name);
      case "network-list":
        return this.networkList(c.format);
      case "network-show":
        return stringify(this.networkView(this.network(c.name)));
      case "config-set":
        if (c.key !== "network.ovn.northbound_connection") throw new IncusError(`labwright emulates only network.ovn.northbound_connection among server keys, not "${c.key}"`);
        this.serverConfig[c.key] = c.value;
        return "";
      case "launch":
        return this.launch(on, c);
      case "delete":
        return this.deleteInstance(on, c.name, c.force);
      case "list":
        return this.list(c.format);
      case "forward-create":
        return this.forwardCreate(c.network, c.listen, c.config);
      case "forward-port-add":
        return this.forwardPortAdd(on, c);
      case "forward-list":
        return this.forwards.filter((f) => f.network === c.network).map((f) => `${f.listen}\t${f.ports.length} ports`).join("\n") + "\n";
    }
  }

  network(name: string): NetworkRecord {
    const n = this.networks.get(name);
    if (!n) throw new IncusError("Network not found");
    return n;
  }

  private member(name: string): NodeSpec {
    const m = this.host.members.find((x) => x.name === name);
    if (!m) throw new IncusError(`Member "${name}" not found`);
    return m;
  }

  // ---------------------------------------------------------------- OVN northbound access

  /** ovn-nbctl as incusd runs it on member `on`: against network.ovn.northbound_connection (default: the local socket). */
  private async nbctl(on: string, args: string[], timeoutS = 10): Promise<string> {
    const db = this.serverConfig["network.ovn.northbound_connection"];
    const argv = ["ovn-nbctl", `--timeout=${timeoutS}`, ...(db ? [`--db=${db}`] : []), ...args];
    const r = await this.host.exec(on, argv, timeoutS + 5);
    if (r.exitCode !== 0) {
      const why = (r.stderr || r.stdout).trim().split("\n").pop() ?? "";
      throw new IncusError(r.timedOut || /timed out|Connection refused|database connection failed/.test(why) ? `Failed to connect to OVN: ${why || "timed out"}` : `Failed to run OVN command: ${why}`);
    }
    return r.stdout;
  }

  private async vsctl(member: string, args: string[]): Promise<string> {
    const r = await this.host.exec(member, ["ovs-vsctl", "--timeout=10", ...args], 15);
    if (r.exitCode !== 0) throw new IncusError(`Failed to run OVS command on ${member}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  private async sh(member: string, script: string): Promise<CommandResult> {
    return this.host.exec(member, ["bash", "-c", script], 30);
  }

  // ---------------------------------------------------------------- network create

  private async networkCreate(on: string, c: Extract<IncusCommand, { verb: "network-create" }>): Promise<string> {
    const existing = this.networks.get(c.name);
    const type = c.type ?? existing?.type ?? "bridge";
    if (type !== "physical" && type !== "ovn") throw new IncusError(`labwright emulates network types physical and ovn, not "${type}"`);
    const keys = type === "physical" ? PHYSICAL_KEYS : OVN_KEYS;
    for (const k of Object.keys(c.config)) if (!keys.has(k) && !k.startsWith("user.")) throw new IncusError(`Invalid option for network "${c.name}" option "${k}"`);
    if (type === "physical") return this.physicalCreate(on, c, existing);
    if (c.target) throw new IncusError("OVN networks are cluster-wide: --target is not allowed (only physical networks are member-specific)");
    if (existing) throw new IncusError(`The network already exists`);
    return this.ovnCreate(on, c.name, c.config);
  }

  private async physicalCreate(on: string, c: Extract<IncusCommand, { verb: "network-create" }>, existing: NetworkRecord | undefined): Promise<string> {
    if (c.target) {
      const member = this.member(c.target);
      if (existing && existing.status !== "Pending") throw new IncusError("Network is not in pending state");
      const parent = c.config.parent;
      if (!parent) throw new IncusError(`Missing required "parent" config key`);
      const extra = Object.keys(c.config).filter((k) => k !== "parent");
      if (extra.length) throw new IncusError(`Config key "${extra[0]}" may not be used as member-specific key`);
      const r = await this.host.exec(member.name, ["ip", "link", "show", "dev", parent]);
      if (r.exitCode !== 0) throw new IncusError(`Parent interface "${parent}" not found`);
      for (const n of this.networks.values()) {
        if (n !== existing && n.type === "physical" && n.parents[member.name] === parent) throw new IncusError(`Parent interface "${parent}" in use by another network`);
      }
      const rec = existing ?? { id: this.nextId++, name: c.name, type: "physical" as const, config: {}, parents: {}, status: "Pending" as const };
      rec.parents[member.name] = parent;
      this.networks.set(c.name, rec);
      return `Network ${c.name} pending on member ${member.name}\n`;
    }
    if (!existing) throw new IncusError("Network not pending on any member (use --target <member> first)");
    if (existing.status !== "Pending") throw new IncusError("The network already exists");
    if (c.config.parent) throw new IncusError(`Config key "parent" is member-specific`);
    const missing = this.host.members.filter((m) => !existing.parents[m.name]).map((m) => m.name);
    if (missing.length) throw new IncusError(`Network not defined on members: ${missing.join(", ")}`);
    const gw = c.config["ipv4.gateway"];
    if (gw !== undefined && !/^\d+(\.\d+){3}\/\d{1,2}$/.test(gw)) throw new IncusError(`Invalid value for network "${c.name}" option "ipv4.gateway": Not an IP address in CIDR notation "${gw}"`);
    if (c.config["ipv4.ovn.ranges"] && gw) {
      const net = cidrOf(gw);
      for (const [a, b] of parseRanges(c.config["ipv4.ovn.ranges"])) {
        if (!net.contains(IPv4.fromString(intToIp(a))) || !net.contains(IPv4.fromString(intToIp(b)))) {
          throw new IncusError(`Invalid value for network "${c.name}" option "ipv4.ovn.ranges": IP range "${intToIp(a)}-${intToIp(b)}" does not fall within subnet "${net.toCidrString()}"`);
        }
      }
    }
    existing.config = { ...c.config };
    existing.status = "Created";
    return `Network ${c.name} created\n`;
  }

  private ovnUsedUplinkIps(uplink: string): Set<string> {
    return new Set(
      [...this.networks.values()].filter((n) => n.type === "ovn" && n.config.network === uplink).map((n) => n.config["volatile.network.ipv4.address"]).filter((x): x is string => !!x),
    );
  }

  private autoSubnet(name: string): string {
    const taken = [...this.host.usedCidrs, ...[...this.networks.values()].filter((n) => n.type === "ovn").map((n) => n.config["ipv4.address"]!)]
      .filter((x) => x && x.includes("/"))
      .map(cidrOf);
    for (let k = 0; k < 1000; k++) {
      const h = hash(`${name}/${k}`);
      const candidate = IPv4CidrRange.fromCidr(`10.${h[0]! % 255}.${h[1]! % 255}.0/24`);
      if (!taken.some((t) => t.isOverlapping(candidate))) return `10.${h[0]! % 255}.${h[1]! % 255}.1/24`;
    }
    throw new IncusError("Failed to determine an available subnet");
  }

  private async ovnCreate(on: string, name: string, config: Record<string, string>): Promise<string> {
    const uplinkName = config.network;
    if (!uplinkName) throw new IncusError(`Option "network" is required`);
    const uplink = this.networks.get(uplinkName);
    if (!uplink || uplink.status !== "Created") throw new IncusError(`Failed loading uplink network "${uplinkName}": Network not found`);
    if (uplink.type !== "physical") throw new IncusError(`Uplink network "${uplinkName}" is not of type physical`);
    const gw = uplink.config["ipv4.gateway"];
    if (!gw) throw new IncusError("Uplink network doesn't have IPv4 or IPv6 configured");
    const ranges = uplink.config["ipv4.ovn.ranges"];
    if (!ranges) throw new IncusError(`Missing required "ipv4.ovn.ranges" config key on uplink network`);

    const cfg: Record<string, string> = { ...config };
    if (cfg["ipv4.address"] === undefined || cfg["ipv4.address"] === "auto") {
      cfg["ipv4.address"] = this.autoSubnet(name);
      cfg["ipv4.nat"] ??= "true";
    }
    if (cfg["ipv4.address"] === "none") throw new IncusError("labwright emulates IPv4 OVN networks: ipv4.address=none is not supported");
    if (!/^\d+(\.\d+){3}\/\d{1,2}$/.test(cfg["ipv4.address"]!)) throw new IncusError(`Invalid value for network "${name}" option "ipv4.address": Not an IP address in CIDR notation "${cfg["ipv4.address"]}"`);
    const subnet = cidrOf(cfg["ipv4.address"]!);
    const gwIp = gw.split("/")[0]!;
    if (subnet.contains(IPv4.fromString(gwIp))) throw new IncusError(`Requested subnet "${subnet.toCidrString()}" would mask the uplink gateway`);

    const used = this.ovnUsedUplinkIps(uplinkName);
    let uplinkIp: string | undefined;
    for (const [a, b] of parseRanges(ranges)) {
      for (let x = a; x <= b && !uplinkIp; x++) if (!used.has(intToIp(x))) uplinkIp = intToIp(x);
      if (uplinkIp) break;
    }
    if (!uplinkIp) throw new IncusError("Failed to allocate uplink IPv4 address: No free IPs available");
    cfg["volatile.network.ipv4.address"] = uplinkIp;
    cfg["bridge.mtu"] ??= String(GENEVE_MTU);

    const rec: NetworkRecord = { id: this.nextId++, name, type: "ovn", config: cfg, parents: {}, status: "Created" };
    this.networks.set(name, rec);
    let nbTouched = false;
    try {
      await this.nbctl(on, ["--if-exists", "get", "nb_global", ".", "options"]);
      nbTouched = true;
      await this.ovnSetup(on, rec, uplink, uplinkIp, gw);
      const failures = await Promise.all(this.host.members.map((m) => this.startUplinkPort(m.name, uplink).then(() => null, (e: Error) => e)));
      const failed = failures.find((f) => f !== null);
      if (failed) throw new IncusError(`Failed starting network: ${failed.message}`);
      await this.haChassis(on, rec);
    } catch (e) {
      // Incus's revert: delete the network, which stops it on every member (uplink port stop sets the NIC down).
      this.networks.delete(name);
      const revert = await Promise.allSettled([nbTouched ? this.ovnTeardown(on, rec) : Promise.resolve(), ...this.host.members.map((m) => this.stopUplinkPort(m.name, uplink))]);
      const broken = revert.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => (r.reason as Error).message);
      if (broken.length) throw new IncusError(`${(e as Error).message} (and reverting failed: ${broken.join("; ")})`);
      throw e instanceof IncusError ? e : new IncusError((e as Error).message);
    }
    return `Network ${name} created\n`;
  }

  private names(rec: NetworkRecord) {
    const p = `incus-net${rec.id}`;
    return {
      lr: `${p}-lr`,
      lrpExt: `${p}-lr-lrp-ext`,
      lrpInt: `${p}-lr-lrp-int`,
      lsExt: `${p}-ls-ext`,
      lsInt: `${p}-ls-int`,
      lspProvider: `${p}-ls-ext-lsp-provider`,
      lspRouterExt: `${p}-ls-ext-lsp-router`,
      lspRouterInt: `${p}-ls-int-lsp-router`,
      group: p,
      instancePort: (inst: string) => `${p}-instance-${inst}-eth0`,
      lb: (listen: string, proto: string) => `${p}-lb-${listen}-${proto}`,
    };
  }

  private async ovnSetup(on: string, rec: NetworkRecord, uplink: NetworkRecord, uplinkIp: string, gw: string): Promise<void> {
    const n = this.names(rec);
    const [gwIp, gwPrefix] = gw.split("/") as [string, string];
    const routerIp = rec.config["ipv4.address"]!;
    const subnet = cidrOf(routerIp).toCidrString();
    const extMac = stableMac(`${rec.name}/ext`);
    const intMac = this.routerMac(rec.name);
    const dns = (uplink.config["dns.nameservers"] ?? gwIp).split(",").map((s) => s.trim());
    const nat = rec.config["ipv4.nat"] === "true";
    const ext = `external_ids:incus_network=${rec.name}`;
    const cmds: string[][] = [
      ["lr-add", n.lr],
      ["set", "logical_router", n.lr, "options:always_learn_from_arp_request=false", "options:dynamic_neigh_routers=true", ext],
      ["ls-add", n.lsExt],
      ["lrp-add", n.lr, n.lrpExt, extMac, `${uplinkIp}/${gwPrefix}`],
      ["set", "logical_router_port", n.lrpExt, "options:gateway_mtu=1500"],
      ["lsp-add", n.lsExt, n.lspRouterExt],
      ["lsp-set-type", n.lspRouterExt, "router"],
      ["lsp-set-addresses", n.lspRouterExt, "router"],
      ["lsp-set-options", n.lspRouterExt, `router-port=${n.lrpExt}`, "nat-addresses=router"],
      ["lsp-add", n.lsExt, n.lspProvider],
      ["lsp-set-type", n.lspProvider, "localnet"],
      ["lsp-set-addresses", n.lspProvider, "unknown"],
      ["lsp-set-options", n.lspProvider, `network_name=${uplink.name}`],
      ["lr-route-add", n.lr, "0.0.0.0/0", gwIp, n.lrpExt],
      ["ls-add", n.lsInt],
      ["set", "logical_switch", n.lsInt, `other_config:subnet=${subnet}`, `other_config:exclude_ips=${routerIp.split("/")[0]}`],
      ["lrp-add", n.lr, n.lrpInt, intMac, routerIp],
      ["lsp-add", n.lsInt, n.lspRouterInt],
      ["lsp-set-type", n.lspRouterInt, "router"],
      ["lsp-set-addresses", n.lspRouterInt, "router"],
      ["lsp-set-options", n.lspRouterInt, `router-port=${n.lrpInt}`],
      ...(nat ? [["lr-nat-add", n.lr, "snat", uplinkIp, subnet]] : []),
    ];
    await this.nbctl(on, cmds.flatMap((c, k) => (k === 0 ? c : ["--", ...c])));
    const options = [
      `lease_time="3600"`,
      `router="${routerIp.split("/")[0]}"`,
      `server_id="${routerIp.split("/")[0]}"`,
      `server_mac="${intMac}"`,
      `mtu="${rec.config["bridge.mtu"]}"`,
      `dns_server="{${dns.join(",")}}"`,
      `domain_name="\\"${rec.config["dns.domain"] ?? "incus"}\\""`,
    ];
    rec.dhcp = (await this.nbctl(on, ["create", "dhcp_options", `cidr=${subnet}`, `options={${options.join(", ")}}`, ext])).trim();
  }

  /** Every member's chassis in the network's HA group, priorities stable-random per group name; the highest hosts the gateway. */
  private async haChassis(on: string, rec: NetworkRecord): Promise<void> {
    const n = this.names(rec);
    const cmds: string[][] = [["ha-chassis-group-add", n.group]];
    for (const m of this.host.members) {
      const chassis = (await this.vsctl(m.name, ["get", "open_vswitch", ".", "external_ids:system-id"])).trim().replace(/"/g, "");
      cmds.push(["ha-chassis-group-add-chassis", n.group, chassis, String(hash(`${n.group}/${chassis}`).readUInt16BE(0) % 32768)]);
    }
    await this.nbctl(on, cmds.flatMap((c, k) => (k === 0 ? c : ["--", ...c])));
    const uuid = (await this.nbctl(on, ["--bare", "--columns=_uuid", "find", "ha_chassis_group", `name=${n.group}`])).trim();
    await this.nbctl(on, ["set", "logical_router_port", n.lrpExt, `ha_chassis_group=${uuid}`]);
  }

  private async ovnTeardown(on: string, rec: NetworkRecord): Promise<void> {
    const n = this.names(rec);
    const cmds = [
      ["--if-exists", "lr-del", n.lr],
      ["--if-exists", "ls-del", n.lsExt],
      ["--if-exists", "ls-del", n.lsInt],
      ...(rec.dhcp ? [["--if-exists", "destroy", "dhcp_options", rec.dhcp]] : []),
      ...this.forwards.filter((f) => f.network === rec.name).flatMap((f) => ["tcp", "udp"].map((p) => ["--if-exists", "lb-del", n.lb(f.listen, p)])),
    ];
    await this.nbctl(on, cmds.flatMap((c, k) => (k === 0 ? c : ["--", ...c])));
    // Only once the router port referring to it is gone (OVSDB checks references before collecting garbage).
    const group = (await this.nbctl(on, ["--bare", "--columns=_uuid", "find", "ha_chassis_group", `name=${n.group}`])).trim();
    if (group) await this.nbctl(on, ["destroy", "ha_chassis_group", group]);
  }

  private bridgeOf(uplink: NetworkRecord): string {
    return `incusovn${uplink.id}`;
  }

  /** driver_ovn.go startUplinkPortPhysical: refuse a NIC with addresses, else bridge it and map the uplink. */
  private async startUplinkPort(member: string, uplink: NetworkRecord): Promise<void> {
    const parent = uplink.parents[member]!;
    const r = await this.host.exec(member, ["ip", "-j", "-4", "addr", "show", "dev", parent]);
    if (r.exitCode !== 0) throw new IncusError(`Uplink network "${uplink.name}" is not started (interface "${parent}" is missing)`);
    const global = (JSON.parse(r.stdout) as { addr_info: { scope: string }[] }[]).flatMap((l) => l.addr_info).filter((a) => a.scope === "global");
    if (global.length) throw new IncusError(`Cannot start network as uplink network interface "${parent}" has one or more IP addresses configured on it`);
    const br = this.bridgeOf(uplink);
    await this.sh(member, script`sysctl -qw net.ipv6.conf.${parent}.disable_ipv6=1 net.ipv6.conf.${parent}.forwarding=0 2>/dev/null || true`);
    const mappings = (await this.vsctl(member, ["--if-exists", "get", "open_vswitch", ".", "external_ids:ovn-bridge-mappings"])).trim().replace(/"/g, "");
    const list = mappings ? mappings.split(",") : [];
    const mapping = `${uplink.name}:${br}`;
    if (!list.includes(mapping)) list.push(mapping);
    await this.vsctl(member, [
      "--may-exist", "add-br", br, "--", "set", "bridge", br, "datapath_type=netdev", "--",
      "--may-exist", "add-port", br, parent, "--",
      "set", "open_vswitch", ".", `external_ids:ovn-bridge-mappings=${list.join(",")}`,
    ]);
    const up = await this.host.exec(member, ["ip", "link", "set", parent, "up"]);
    if (up.exitCode !== 0) throw new IncusError(`Failed to bring up uplink interface "${parent}": ${up.stderr.trim()}`);
    await this.host.reconcile(member);
  }

  /** driver_ovn.go uplink port stop: no bridge found (or last network gone) → the parent NIC is set DOWN. */
  private async stopUplinkPort(member: string, uplink: NetworkRecord): Promise<void> {
    const stillUsed = [...this.networks.values()].some((n) => n.type === "ovn" && n.config.network === uplink.name);
    if (stillUsed) return;
    const parent = uplink.parents[member]!;
    const br = this.bridgeOf(uplink);
    const mappings = (await this.vsctl(member, ["--if-exists", "get", "open_vswitch", ".", "external_ids:ovn-bridge-mappings"])).trim().replace(/"/g, "");
    const rest = mappings.split(",").filter((m) => m && m !== `${uplink.name}:${br}`);
    await this.vsctl(member, ["--if-exists", "del-br", br, "--", rest.length ? "set" : "remove", "open_vswitch", ".", ...(rest.length ? [`external_ids:ovn-bridge-mappings=${rest.join(",")}`] : ["external_ids", "ovn-bridge-mappings"])]);
    await this.host.exec(member, ["ip", "link", "set", parent, "down"]);
    await this.host.reconcile(member);
  }

  private async networkDelete(on: string, name: string): Promise<string> {
    const rec = this.network(name);
    if (rec.type === "physical") {
      if ([...this.networks.values()].some((n) => n.type === "ovn" && n.config.network === name)) throw new IncusError("The network is currently in use");
      this.networks.delete(name);
      return `Network ${name} deleted\n`;
    }
    if ([...this.instances.values()].some((i) => i.network === name)) throw new IncusError("The network is currently in use");
    const uplink = this.network(rec.config.network!);
    await this.ovnTeardown(on, rec);
    this.networks.delete(name);
    for (let k = this.forwards.length - 1; k >= 0; k--) if (this.forwards[k]!.network === name) this.forwards.splice(k, 1);
    await Promise.all(this.host.members.map((m) => this.stopUplinkPort(m.name, uplink)));
    return `Network ${name} deleted\n`;
  }

  // ---------------------------------------------------------------- list / show

  networkView(n: NetworkRecord): Record<string, unknown> {
    return {
      name: n.name,
      type: n.type,
      managed: true,
      status: n.status,
      config: { ...n.config },
      locations: this.host.members.map((m) => m.name),
      used_by: [...this.instances.values()].filter((i) => i.network === n.name).map((i) => `/1.0/instances/${i.name}`),
    };
  }

  private networkList(format: "table" | "json" | "csv"): string {
    const views = [...this.networks.values()].map((n) => this.networkView(n));
    if (format === "json") return JSON.stringify(views) + "\n";
    const rows = [...this.networks.values()].map((n) => [n.name, n.type, "YES", n.type === "ovn" ? n.config["ipv4.address"]! : "", String([...this.instances.values()].filter((i) => i.network === n.name).length), n.status.toUpperCase()]);
    if (format === "csv") return rows.map((r) => r.join(",")).join("\n") + (rows.length ? "\n" : "");
    return table(["NAME", "TYPE", "MANAGED", "IPV4", "USED BY", "STATE"], rows);
  }

  private list(format: "table" | "json" | "csv"): string {
    const rows = [...this.instances.values()].map((i) => [i.name, "RUNNING", i.address ? `${i.address} (eth0)` : "", i.member]);
    if (format === "json") return JSON.stringify([...this.instances.values()].map((i) => ({ name: i.name, status: "Running", location: i.member, network: i.network, address: i.address }))) + "\n";
    if (format === "csv") return rows.map((r) => r.join(",")).join("\n") + (rows.length ? "\n" : "");
    return table(["NAME", "STATE", "IPV4", "LOCATION"], rows);
  }

  // ---------------------------------------------------------------- instances

  private async launch(on: string, c: Extract<IncusCommand, { verb: "launch" }>): Promise<string> {
    if (this.instances.has(c.name)) throw new IncusError(`Failed creating instance record: Instance "${c.name}" already exists`);
    if (!c.network) throw new IncusError("labwright emulates instances with one OVN NIC: give --network <ovn network> (no default profile NIC is emulated)");
    const net = this.network(c.network);
    if (net.type !== "ovn") throw new IncusError(`labwright emulates instances on OVN networks; "${c.network}" is ${net.type}`);
    const member = c.target ?? on;
    this.member(member);
    const n = this.names(net);
    const mac = stableMac(`instance/${c.name}`);
    const hostIf = `veth${hash(c.name).toString("hex").slice(0, 8)}`;
    const port = n.instancePort(c.name);
    const mtu = Number(net.config["bridge.mtu"] ?? GENEVE_MTU);
    const inst: InstanceRecord = { name: c.name, member, network: net.name, mac, hostIf, port };
    await this.nbctl(on, ["lsp-add", n.lsInt, port, "--", "lsp-set-addresses", port, `${mac} dynamic`, "--", "lsp-set-dhcpv4-options", port, net.dhcp!, "--", "set", "logical_switch_port", port, `external_ids:incus_instance=${c.name}`]);
    this.instances.set(c.name, inst);
    try {
      await this.host.createInstance(c.name, member, hostIf, mac, mtu);
      await this.vsctl(member, ["--may-exist", "add-port", "br-int", hostIf, "--", "set", "interface", hostIf, `external_ids:iface-id=${port}`]);
      await this.nbctl(on, ["--timeout=30", "wait-until", "logical_switch_port", port, "up=true"], 35);
      await this.nbctl(on, ["--wait=hv", "sync"], 30);
      // Port security as Incus sets it: the MAC and the address OVN handed out.
      const dyn = (await this.nbctl(on, ["get", "logical_switch_port", port, "dynamic_addresses"])).trim().replace(/"/g, "");
      if (dyn) await this.nbctl(on, ["lsp-set-port-security", port, dyn]);
      inst.address = await this.dhcp(c.name);
    } catch (e) {
      this.instances.delete(c.name);
      await this.nbctl(on, ["--if-exists", "lsp-del", port]).catch(() => undefined);
      await this.vsctl(member, ["--if-exists", "del-port", "br-int", hostIf]).catch(() => undefined);
      await this.host.deleteInstance(c.name).catch(() => undefined);
      throw e instanceof IncusError ? e : new IncusError(`Failed instance creation: ${(e as Error).message}`);
    }
    return `Launching ${c.name}\n`;
  }

  /** The instance's own DHCP client (busybox udhcpc) configures eth0 from OVN's answer: address, router, MTU, DNS. */
  private async dhcp(name: string): Promise<string> {
    const r = await this.host.exec(name, dhcpClientCommand(), 30);
    const m = /bound (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout);
    if (r.exitCode !== 0 || !m) throw new IncusError(`no DHCP answer from OVN for ${name}: ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
    return m[1]!;
  }

  private async deleteInstance(on: string, name: string, force: boolean): Promise<string> {
    const inst = this.instances.get(name);
    if (!inst) throw new IncusError("Failed checking instance exists \"local:" + name + "\": Instance not found");
    if (!force) throw new IncusError("The instance is currently running, stop it first or pass --force");
    await this.nbctl(on, ["--if-exists", "lsp-del", inst.port]);
    await this.vsctl(inst.member, ["--if-exists", "del-port", "br-int", inst.hostIf]);
    await this.host.deleteInstance(name);
    this.instances.delete(name);
    return "";
  }

  // ---------------------------------------------------------------- forwards

  private async forwardCreate(network: string, listen: string, config: Record<string, string>): Promise<string> {
    const net = this.network(network);
    if (net.type !== "ovn") throw new IncusError(`Network driver "${net.type}" does not support forwards`);
    const uplink = this.network(net.config.network!);
    const gw = uplink.config["ipv4.gateway"]!;
    if (!/^\d+(\.\d+){3}$/.test(listen)) throw new IncusError(`Invalid listen address "${listen}"`);
    if (!cidrOf(gw).contains(IPv4.fromString(listen)) || listen === gw.split("/")[0]) {
      throw new IncusError(`Uplink network doesn't contain "${listen}/32" in its routes`);
    }
    if (this.forwards.some((f) => f.listen === listen) || this.ovnUsedUplinkIps(uplink.name).has(listen)) throw new IncusError(`Listen address "${listen}" overlaps with another network or NIC`);
    for (const k of Object.keys(config)) if (k !== "description" && k !== "target_address") throw new IncusError(`Invalid option "${k}"`);
    this.forwards.push({ network, listen, config, ports: [] });
    return `Network forward ${listen} created\n`;
  }

  private async forwardPortAdd(on: string, c: Extract<IncusCommand, { verb: "forward-port-add" }>): Promise<string> {
    const net = this.network(c.network);
    const f = this.forwards.find((x) => x.network === c.network && x.listen === c.listen);
    if (!f) throw new IncusError("Network forward not found");
    const subnet = cidrOf(net.config["ipv4.address"]!);
    if (!/^\d+(\.\d+){3}$/.test(c.target) || !subnet.contains(IPv4.fromString(c.target))) throw new IncusError(`Target address "${c.target}" is not within the network subnet`);
    const lp = expandPorts(c.listenPorts);
    const tp = c.targetPorts ? expandPorts(c.targetPorts) : lp;
    if (tp.length !== 1 && tp.length !== lp.length) throw new IncusError("Mismatch between listen port(s) and target port(s) count");
    for (const p of f.ports) if (p.protocol === c.protocol && expandPorts(p.listenPorts).some((x) => lp.includes(x))) throw new IncusError(`Duplicate listen port ${lp[0]}`);
    f.ports.push({ protocol: c.protocol, listenPorts: c.listenPorts, target: c.target, targetPorts: c.targetPorts });
    const n = this.names(net);
    const lb = n.lb(c.listen, c.protocol);
    const vips = lp.map((p, k) => [`${c.listen}:${p}`, `${c.target}:${tp.length === 1 ? tp[0] : tp[k]}`]);
    const cmds = vips.map(([vip, backend]) => ["--may-exist", "lb-add", lb, vip!, backend!, c.protocol]);
    cmds.push(["--may-exist", "lr-lb-add", n.lr, lb], ["--may-exist", "ls-lb-add", n.lsInt, lb]);
    await this.nbctl(on, cmds.flatMap((x, k) => (k === 0 ? x : ["--", ...x])));
    return "";
  }

  /** MAC of a network's router port on its internal switch: the next hop of every routed packet. */
  routerMac(network: string): string {
    return stableMac(`${network}/int`);
  }

  /** Addresses an expectation can name: `<network>:gateway`, `<network>:uplink`. */
  refAddress(network: string, what: "gateway" | "uplink"): string {
    const n = this.network(network);
    const v = what === "gateway" ? n.config["ipv4.address"]?.split("/")[0] : n.config["volatile.network.ipv4.address"];
    if (!v) throw new IncusError(`network ${network} has no ${what} address`);
    return v;
  }
}

function expandPorts(spec: string): number[] {
  return spec.split(",").flatMap((p) => {
    const [a, b] = p.split("-").map(Number);
    if (!a || (b !== undefined && (!b || b < a))) throw new IncusError(`Invalid port "${p}"`);
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, k) => a + k);
  });
}

