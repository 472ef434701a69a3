import { createHash } from "node:crypto";
import { join } from "node:path";
import { IPv4, IPv4CidrRange } from "ip-num";
import type { CommandResult } from "../../run/exec.ts";
import { script } from "../../run/tokens.ts";
import { dhcpClientCommand, table } from "../cli.ts";
import type { OpenstackCommand } from "../../model/commands/openstack.ts";
import type { Ml2Config } from "./kolla.ts";

/**
 * Neutron with ML2/OVS and the L3 and DHCP agents on one all-in-one node, plus nova's part of
 * booting a server, as far as the network goes. State lives here (neutron's database); every
 * effect is real: OVS ports and OpenFlow rules the OVS agent would install, `qrouter-`/`qdhcp-`
 * namespaces with `qg-`/`qr-`/`tap` ports, the L3 agent's iptables chains, dnsmasq for DHCP, and
 * servers as namespaces on br-int that ask DHCP for their address.
 */

export class NeutronError extends Error {}

export interface CloudHost {
  /** The kolla node (controller, network and compute). */
  readonly node: string;
  /** Directory for this cloud's files (dnsmasq hosts files, logs). */
  readonly dir: string;
  exec(where: string, argv: string[], timeoutS?: number): Promise<CommandResult>;
  /** A namespace of the node, usable by name in expectations and steps. */
  createGuest(name: string): Promise<void>;
  /** A veth pair: `hostIf` in the node (for OVS), `guestIf` with `mac` in the guest. */
  addPort(guest: string, hostIf: string, guestIf: string, mac: string, mtu: number): Promise<void>;
  /** Starts a daemon in a guest, recorded for teardown; resolves once it listens on udp `port`. */
  spawnUdp(guest: string, name: string, argv: string[], port: number): Promise<(sig: NodeJS.Signals) => void>;
  /** Writes a file as node or guest `where` sees it. */
  writeFile(where: string, path: string, text: string): Promise<void>;
}

interface Network {
  id: string;
  name: string;
  external: boolean;
  shared: boolean;
  type: "flat" | "vlan" | "vxlan";
  physnet?: string;
  segment?: number;
  mtu: number;
  subnets: string[];
  localVlan?: number;
}
interface Subnet {
  id: string;
  name: string;
  networkId: string;
  cidr: string;
  gateway?: string;
  pools: [string, string][];
  dhcp: boolean;
  dns: string[];
  /** ip → port id */
  allocated: Map<string, string>;
}
type Owner = "network:dhcp" | "network:router_gateway" | "network:router_interface" | "network:floatingip" | "compute:nova";
interface Port {
  id: string;
  networkId: string;
  mac: string;
  subnetId: string;
  ip: string;
  owner: Owner;
  deviceId: string;
  /** The device on br-int (tap…, qr-…, qg-…); none for floating IP ports. */
  dev?: string;
}
interface Router {
  id: string;
  name: string;
  ns: string;
  gwPort?: string;
  interfaces: string[];
}
interface FloatingIp {
  id: string;
  ip: string;
  networkId: string;
  portId: string;
  fixedPort?: string;
  routerId?: string;
}
interface Server {
  id: string;
  name: string;
  portId: string;
  address?: string;
}
interface Dhcp {
  ns: string;
  /** Signals the DHCP server (SIGHUP: reload its hosts file). */
  signal: (sig: NodeJS.Signals) => void;
  hosts: string;
}

const hash = (s: string) => createHash("sha256").update(s).digest();
/** A UUID derived from a seed: repeatable runs, real-looking ids. */
function uuid(seed: string): string {
  const h = hash(seed).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
/** Neutron's base_mac fa:16:3e:00:00:00. */
const macOf = (id: string) => ["fa", "16", "3e", ...[...hash(`mac/${id}`).subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
const ipInt = (ip: string) => ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
const intIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
const cidrOf = (c: string) => IPv4CidrRange.fromCidr(c);
const inCidr = (c: string, ip: string) => cidrOf(c).contains(IPv4.fromString(ip));

/** Neutron's MAX_WIN: a new address is picked at random among the first 1000 free ones. */
const MAX_WIN = 1000;
/** kolla: tenant networks are VXLAN over an IPv4 underlay: 1500 - 50. */
const VXLAN_MTU = 1450;

export class Neutron {
  readonly networks = new Map<string, Network>();
  readonly subnets = new Map<string, Subnet>();
  readonly ports = new Map<string, Port>();
  readonly routers = new Map<string, Router>();
  readonly fips = new Map<string, FloatingIp>();
  readonly servers = new Map<string, Server>();
  private readonly dhcp = new Map<string, Dhcp>();
  private nextVlan = 1;
  private nextVni = 1;
  private seq = 0;

  constructor(private readonly host: CloudHost, public ml2: Ml2Config, private readonly apiUrl: string) {}

  /** What the OVS agent does when it starts: br-int, br-tun, and each physical bridge patched to br-int. */
  async startAgent(): Promise<void> {
    const vs: string[] = [
      "--may-exist add-br br-int -- set bridge br-int datapath_type=netdev fail_mode=secure",
      "--may-exist add-br br-tun -- set bridge br-tun datapath_type=netdev fail_mode=secure",
      "--may-exist add-port br-int patch-tun -- set interface patch-tun type=patch options:peer=patch-int",
      "--may-exist add-port br-tun patch-int -- set interface patch-int type=patch options:peer=patch-tun",
    ];
    const flows: [string, string][] = [["br-int", "priority=0,actions=NORMAL"], ["br-tun", "priority=0,actions=drop"]];
    for (const br of this.ml2.bridgeMappings.values()) {
      vs.push(
        script`set bridge ${br} fail_mode=secure`,
        script`--may-exist add-port br-int int-${br} -- set interface int-${br} type=patch options:peer=phy-${br}`,
        script`--may-exist add-port ${br} phy-${br} -- set interface phy-${br} type=patch options:peer=int-${br}`,
      );
      flows.push([br, "priority=0,actions=NORMAL"], [br, script`priority=2,in_port=phy-${br},actions=drop`], ["br-int", script`priority=2,in_port=int-${br},actions=drop`]);
      for (const n of this.networks.values()) if (n.localVlan !== undefined) flows.push(...this.vlanFlows(n, n.localVlan));
    }
    await this.vsctl(vs);
    await this.addFlows(flows);
  }

  // ---------------------------------------------------------------- API

  async run(c: OpenstackCommand): Promise<string> {
    const one = (k: string) => (c.flags[k] as string[] | undefined)?.[0];
    switch (c.verb) {
      case "network create":
        return this.show(c, this.networkRow(this.networkCreate(c.args[0]!, c)));
      case "network list":
        return this.list(c, ["ID", "Name", "Subnets"], [...this.networks.values()].filter((n) => !c.flags.external || n.external).map((n) => [n.id, n.name, n.subnets.join(", ")]));
      case "network show":
        return this.show(c, this.networkRow(this.network(c.args[0]!)));
      case "subnet create":
        return this.show(c, this.subnetRow(await this.subnetCreate(c.args[0]!, c)));
      case "subnet list": {
        const net = one("network") ? this.network(one("network")!).id : undefined;
        return this.list(c, ["ID", "Name", "Network", "Subnet"], [...this.subnets.values()].filter((s) => !net || s.networkId === net).map((s) => [s.id, s.name, s.networkId, s.cidr]));
      }
      case "subnet show":
        return this.show(c, this.subnetRow(this.subnet(c.args[0]!)));
      case "router create":
        return this.show(c, this.routerRow(await this.routerCreate(c.args[0]!)));
      case "router set":
        await this.routerGateway(this.router(c.args[0]!), this.network(one("external-gateway")!));
        return "";
      case "router add subnet":
        await this.routerInterface(this.router(c.args[0]!), this.subnet(c.args[1]!));
        return "";
      case "router list":
        return this.list(c, ["ID", "Name", "Status", "State"], [...this.routers.values()].map((r) => [r.id, r.name, "ACTIVE", "UP"]));
      case "router show":
        return this.show(c, this.routerRow(this.router(c.args[0]!)));
      case "server create":
        return this.show(c, this.serverRow(await this.serverCreate(c.args[0]!, this.network(one("network")!))));
      case "server list":
        return this.list(c, ["ID", "Name", "Status", "Networks"], [...this.servers.values()].map((s) => [s.id, s.name, "ACTIVE", this.addresses(s)]));
      case "server show":
        return this.show(c, this.serverRow(this.server(c.args[0]!)));
      case "server add floating ip":
        await this.associate(this.server(c.args[0]!), this.fip(c.args[1]!));
        return "";
      case "floating ip create":
        return this.show(c, this.fipRow(await this.fipCreate(this.network(c.args[0]!), one("floating-ip-address"))));
      case "floating ip list":
        return this.list(c, ["ID", "Floating IP Address", "Fixed IP Address", "Port", "Floating Network"], [...this.fips.values()].map((f) => [f.id, f.ip, f.fixedPort ? this.ports.get(f.fixedPort)!.ip : "None", f.fixedPort ?? "None", f.networkId]));
      case "floating ip show":
        return this.show(c, this.fipRow(this.fip(c.args[0]!)));
      case "port list": {
        let ports = [...this.ports.values()];
        if (one("network")) ports = ports.filter((p) => p.networkId === this.network(one("network")!).id);
        if (one("router")) ports = ports.filter((p) => p.deviceId === this.router(one("router")!).id);
        if (one("server")) ports = ports.filter((p) => p.deviceId === this.server(one("server")!).id);
        return this.list(c, ["ID", "Name", "MAC Address", "Fixed IP Addresses", "Status"], ports.map((p) => [p.id, "", p.mac, `ip_address='${p.ip}', subnet_id='${p.subnetId}'`, p.owner === "network:floatingip" ? "N/A" : "ACTIVE"]));
      }
    }
  }

  // ---------------------------------------------------------------- lookups (by name or id, as the client does)

  private find<T extends { id: string; name?: string }>(m: Map<string, T>, key: string, what: string): T {
    const byId = m.get(key);
    if (byId) return byId;
    const named = [...m.values()].filter((x) => x.name === key);
    if (named.length > 1) throw new NeutronError(`More than one ${what} exists with the name '${key}'.`);
    if (!named[0]) throw new NeutronError(`No ${what} found for ${key}`);
    return named[0];
  }
  network(k: string): Network {
    return this.find(this.networks, k, "Network");
  }
  subnet(k: string): Subnet {
    return this.find(this.subnets, k, "Subnet");
  }
  router(k: string): Router {
    return this.find(this.routers, k, "Router");
  }
  server(k: string): Server {
    return this.find(this.servers, k, "Server");
  }
  fip(k: string): FloatingIp {
    const f = [...this.fips.values()].find((x) => x.id === k || x.ip === k);
    if (!f) throw new NeutronError(`No FloatingIP found for ${k}`);
    return f;
  }

  /** neutron-server's answer to a bad request, as openstackclient prints it. */
  private fault(code: 400 | 404 | 409, resource: string, msg: string): NeutronError {
    const kind = code === 400 ? "BadRequestException" : code === 404 ? "NotFoundException" : "ConflictException";
    return new NeutronError(`${kind}: ${code}: Client Error for url: ${this.apiUrl}/v2.0/${resource}, ${msg}`);
  }

  private id(kind: string, name: string): string {
    return uuid(`${kind}/${name}/${this.seq++}`);
  }

  // ---------------------------------------------------------------- networks and subnets

  private networkCreate(name: string, c: OpenstackCommand): Network {
    const one = (k: string) => (c.flags[k] as string[] | undefined)?.[0];
    const type = (one("provider-network-type") ?? (one("provider-physical-network") ? "flat" : "vxlan")) as Network["type"];
    const physnet = one("provider-physical-network");
    const seg = one("provider-segment") !== undefined ? Number(one("provider-segment")) : undefined;
    const bad = (m: string) => this.fault(400, "networks", `Invalid input for operation: ${m}.`);
    if (type === "flat") {
      if (!physnet) throw bad("physical_network required for flat provider network");
      if (seg !== undefined) throw bad(`segmentation_id specified for flat provider network`);
      if (!this.ml2.flatNetworks.includes(physnet) && !this.ml2.flatNetworks.includes("*")) throw bad(`physical_network '${physnet}' unknown for flat provider network`);
      if ([...this.networks.values()].some((n) => n.type === "flat" && n.physnet === physnet)) {
        throw this.fault(409, "networks", `Unable to create the flat network. Physical network ${physnet} is in use.`);
      }
    } else if (type === "vlan") {
      if (!physnet) throw bad("physical_network required for VLAN provider network");
      if (!this.ml2.vlanRanges.has(physnet)) throw bad(`physical_network '${physnet}' unknown for VLAN provider network`);
      if (seg === undefined || seg < 1 || seg > 4094) throw bad(`segmentation_id out of range (1 through 4094)`);
      if ([...this.networks.values()].some((n) => n.type === "vlan" && n.physnet === physnet && n.segment === seg)) {
        throw this.fault(409, "networks", `Unable to create the network. The VLAN ${seg} on physical network ${physnet} is in use.`);
      }
    } else if (physnet) throw bad("provider:physical_network specified for VXLAN network");
    const mtu = one("mtu") ? Number(one("mtu")) : type === "vxlan" ? VXLAN_MTU : 1500;
    const net: Network = { id: this.id("network", name), name, external: c.flags.external === true, shared: c.flags.share === true, type, physnet, segment: type === "vxlan" ? (seg ?? this.nextVni++) : seg, mtu, subnets: [] };
    this.networks.set(net.id, net);
    return net;
  }

  private async subnetCreate(name: string, c: OpenstackCommand): Promise<Subnet> {
    const one = (k: string) => (c.flags[k] as string[] | undefined)?.[0];
    const net = this.network(one("network")!);
    const bad = (m: string) => this.fault(400, "subnets", m);
    const range = one("subnet-range")!;
    if (!/^[\d.]+\/\d+$/.test(range)) throw bad(`Invalid input for cidr. Reason: '${range}' is not a valid IP subnet.`);
    const cidr = cidrOf(range).toCidrString();
    const first = ipInt(cidrOf(cidr).getFirst().toString());
    const last = ipInt(cidrOf(cidr).getLast().toString());
    for (const s of this.subnets.values()) {
      if (s.networkId === net.id && cidrOf(s.cidr).isOverlapping(cidrOf(cidr))) throw bad(`Invalid input for operation: Requested subnet with cidr: ${cidr} for network: ${net.id} overlaps with another subnet.`);
    }
    const gwArg = one("gateway") ?? "auto";
    const gateway = gwArg === "none" ? undefined : gwArg === "auto" ? intIp(first + 1) : gwArg;
    if (gateway && (!/^\d+(\.\d+){3}$/.test(gateway) || !inCidr(cidr, gateway))) throw bad(`Invalid input for operation: Gateway IP ${gateway} is not in subnet ${cidr}.`);
    let pools: [string, string][] = ((c.flags["allocation-pool"] as string[] | undefined) ?? []).map((p) => {
      const m = /^start=([\d.]+),end=([\d.]+)$/.exec(p)!;
      return [m[1]!, m[2]!];
    });
    for (const [a, b] of pools) {
      if (!inCidr(cidr, a) || !inCidr(cidr, b) || ipInt(a) === first || ipInt(b) === last) throw bad(`The allocation pool ${a}-${b} spans beyond the subnet cidr ${cidr}.`);
      if (ipInt(a) > ipInt(b)) throw bad(`Invalid input for operation: The allocation pool ${a}-${b} is not valid.`);
      if (gateway && ipInt(gateway) >= ipInt(a) && ipInt(gateway) <= ipInt(b)) throw this.fault(409, "subnets", `Gateway ip ${gateway} conflicts with allocation pool ${a}-${b}`);
    }
    if (!pools.length) {
      // neutron's default: the whole range minus network, broadcast and gateway addresses.
      const g = gateway ? ipInt(gateway) : -1;
      const out: [number, number][] = [];
      let start = first + 1;
      for (let x = first + 1; x <= last; x++) {
        if (x === g || x === last) {
          if (x > start) out.push([start, x - 1]);
          start = x + 1;
        }
      }
      pools = out.map(([a, b]) => [intIp(a), intIp(b)]);
    }
    const sub: Subnet = { id: this.id("subnet", name), name, networkId: net.id, cidr, gateway, pools, dhcp: c.flags["no-dhcp"] !== true, dns: (c.flags["dns-nameserver"] as string[] | undefined) ?? [], allocated: new Map() };
    this.subnets.set(sub.id, sub);
    net.subnets.push(sub.id);
    if (sub.dhcp) {
      try {
        await this.dhcpFor(net, sub);
      } catch (e) {
        net.subnets.pop();
        this.subnets.delete(sub.id);
        throw e;
      }
    }
    return sub;
  }

  // ---------------------------------------------------------------- IPAM

  /** Neutron's IPAM: a requested address, the first free one for DHCP ports, else a random one among the first MAX_WIN free. */
  private allocate(sub: Subnet, owner: Owner, seed: string, want?: string): string {
    const net = this.networks.get(sub.networkId)!;
    if (want) {
      if (!inCidr(sub.cidr, want)) throw this.fault(400, "ports", `Invalid input for operation: IP address ${want} is not a valid IP for the specified subnet.`);
      if (sub.allocated.has(want) || (want === sub.gateway && owner !== "network:router_interface")) throw this.fault(409, "ports", `IP address ${want} already allocated in subnet ${sub.id}`);
      return want;
    }
    const free: string[] = [];
    for (const [a, b] of sub.pools) {
      for (let x = ipInt(a); x <= ipInt(b) && free.length < MAX_WIN; x++) if (!sub.allocated.has(intIp(x))) free.push(intIp(x));
    }
    if (!free.length) throw this.fault(409, owner === "network:floatingip" ? "floatingips" : "ports", `No more IP addresses available on network ${net.id}.`);
    if (owner === "network:dhcp") return free[0]!;
    return free[hash(`ipam/${sub.id}/${seed}`).readUInt32BE(0) % free.length]!;
  }

  private async newPort(net: Network, owner: Owner, deviceId: string, seed: string, want?: { subnet: Subnet; ip?: string }): Promise<Port> {
    const sub = want?.subnet ?? net.subnets.map((s) => this.subnets.get(s)!)[0];
    if (!sub) throw this.fault(400, "ports", `Invalid input for operation: Network ${net.id} requires a subnet in order to attach a port.`);
    const id = this.id("port", seed);
    const ip = this.allocate(sub, owner, id, want?.ip);
    const port: Port = { id, networkId: net.id, mac: macOf(id), subnetId: sub.id, ip, owner, deviceId };
    sub.allocated.set(ip, id);
    this.ports.set(id, port);
    return port;
  }

  private dropPort(p: Port): void {
    this.subnets.get(p.subnetId)?.allocated.delete(p.ip);
    this.ports.delete(p.id);
  }

  // ---------------------------------------------------------------- the OVS agent

  private vsctl(cmds: string[]): Promise<void> {
    // Each command was built from validated tokens (script``).
    return this.sh(`ovs-vsctl --timeout=10 ${cmds.map((c) => `-- ${c}`).join(" ")}`, "ovs-vsctl");
  }

  private addFlows(flows: [string, string][]): Promise<void> {
    const byBridge = new Map<string, string[]>();
    for (const [br, f] of flows) byBridge.set(br, [...(byBridge.get(br) ?? []), f]);
    return this.sh([...byBridge].map(([br, fs]) => `${script`ovs-ofctl add-flows ${br} - <<'EOF'`}\n${fs.join("\n")}\nEOF`).join("\n"), "ovs-ofctl");
  }

  private async sh(script: string, what: string, where = this.host.node): Promise<void> {
    const r = await this.host.exec(where, ["bash", "-c", `set -e\n${script}`], 30);
    if (r.exitCode !== 0) throw new Error(`${what} failed: ${(r.stderr || r.stdout).trim()}`);
  }

  /** The agent gives each network it hosts a local VLAN on br-int and translates it on the physical bridge. */
  private async bind(net: Network): Promise<number> {
    if (net.localVlan !== undefined) return net.localVlan;
    if (net.type !== "vxlan" && !this.ml2.bridgeMappings.has(net.physnet!)) {
      throw new NeutronError(`Port binding failed: no bridge mapping for physical network ${net.physnet} on host ${this.host.node} (bridge_mappings: ${[...this.ml2.bridgeMappings].map(([p, b]) => `${p}:${b}`).join(",")})`);
    }
    const lv = this.nextVlan++;
    await this.addFlows(this.vlanFlows(net, lv));
    net.localVlan = lv;
    return lv;
  }

  /** Local VLAN ↔ provider translation for a flat or VLAN network (none for VXLAN on a single node). */
  private vlanFlows(net: Network, lv: number): [string, string][] {
    if (net.type === "vxlan") return [];
    const br = this.ml2.bridgeMappings.get(net.physnet!)!;
    const out = net.type === "flat" ? "strip_vlan" : `mod_vlan_vid:${net.segment}`;
    const match = net.type === "flat" ? "vlan_tci=0x0000/0x1fff" : `dl_vlan=${net.segment}`;
    return [
      [br, `priority=4,in_port=phy-${br},dl_vlan=${lv},actions=${out},NORMAL`],
      ["br-int", `priority=3,in_port=int-${br},${match},actions=mod_vlan_vid:${lv},NORMAL`],
    ];
  }

  /** Plugs a port's device into br-int as nova/the agents do, and gives it the network's local VLAN. */
  private async plug(p: Port, guest: string, guestIf: string): Promise<void> {
    const net = this.networks.get(p.networkId)!;
    const lv = await this.bind(net);
    await this.host.addPort(guest, p.dev!, guestIf, p.mac, net.mtu);
    await this.vsctl([
      script`--may-exist add-port br-int ${p.dev}`,
      script`set port ${p.dev} tag=${lv}`,
      script`set interface ${p.dev} external_ids:iface-id=${p.id} external_ids:attached-mac=${p.mac} external_ids:iface-status=active`,
    ]);
  }

  // ---------------------------------------------------------------- DHCP agent

  private async dhcpFor(net: Network, sub: Subnet): Promise<void> {
    let d = this.dhcp.get(net.id);
    if (!d) {
      const ns = `qdhcp-${net.name}`;
      const port = await this.newPort(net, "network:dhcp", net.id, `dhcp/${net.id}`, { subnet: sub });
      port.dev = `tap${port.id.slice(0, 11)}`;
      try {
        await this.host.createGuest(ns);
        await this.plug(port, ns, port.dev);
        await this.sh(script`ip addr add ${port.ip}/${cidrOf(sub.cidr).getPrefix().getValue()} dev ${port.dev}`, "dhcp port address", ns);
      } catch (e) {
        this.dropPort(port);
        throw e;
      }
      const hosts = join(this.host.dir, `dhcp-${net.id}.hosts`);
      await this.host.writeFile(ns, hosts, "");
      const mask = intIp((0xffffffff << (32 - Number(cidrOf(sub.cidr).getPrefix().getValue()))) >>> 0);
      const tag = `subnet-${sub.id}`;
      const opts = [`--dhcp-option-force=tag:${tag},option:mtu,${net.mtu}`];
      opts.push(sub.gateway ? `--dhcp-option=tag:${tag},option:router,${sub.gateway}` : `--dhcp-option=tag:${tag},option:router`);
      if (sub.dns.length) opts.push(`--dhcp-option=tag:${tag},option:dns-server,${sub.dns.join(",")}`);
      const argv = [
        "dnsmasq", "--no-hosts", "--no-resolv", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--pid-file=", "--user=root", "--group=root",
        `--interface=${port.dev}`, "--except-interface=lo", "--bind-interfaces", "--log-facility=-", "--log-dhcp",
        `--dhcp-range=set:${tag},${cidrOf(sub.cidr).getFirst().toString()},static,${mask},86400s`,
        `--dhcp-hostsfile=${hosts}`, `--dhcp-leasefile=${join(this.host.dir, `dhcp-${net.id}.leases`)}`, "--dhcp-authoritative", ...opts,
      ];
      const signal = await this.host.spawnUdp(ns, `dnsmasq:${ns}`, argv, 67);
      d = { ns, signal, hosts };
      this.dhcp.set(net.id, d);
    }
  }

  /** The DHCP agent's reload_allocations: rewrite the hosts file, SIGHUP dnsmasq. */
  private async reloadDhcp(net: Network): Promise<void> {
    const d = this.dhcp.get(net.id);
    if (!d) return;
    const lines = [...this.ports.values()].filter((p) => p.networkId === net.id && p.owner === "compute:nova").map((p) => `${p.mac},host-${p.ip.replace(/\./g, "-")}.openstacklocal,${p.ip}`);
    await this.host.writeFile(d.ns, d.hosts, lines.join("\n") + "\n");
    d.signal("SIGHUP");
  }

  // ---------------------------------------------------------------- L3 agent

  private async routerCreate(name: string): Promise<Router> {
    const id = this.id("router", name);
    const r: Router = { id, name, ns: `qrouter-${name}`, interfaces: [] };
    if ([...this.routers.values()].some((x) => x.ns === r.ns)) throw new NeutronError(`labwright names router namespaces after the router: a router named ${name} already exists`);
    await this.host.createGuest(r.ns);
    await this.sh("sysctl -q -w net.ipv4.ip_forward=1; ip link set lo up", "router namespace", r.ns);
    this.routers.set(id, r);
    await this.applyNat(r);
    return r;
  }

  private async routerGateway(r: Router, net: Network): Promise<void> {
    if (!net.external) throw this.fault(400, `routers/${r.id}`, `Bad router request: Network ${net.id} is not a valid external network.`);
    if (r.gwPort) throw this.fault(400, `routers/${r.id}`, "labwright: the router already has an external gateway");
    const port = await this.newPort(net, "network:router_gateway", r.id, `gw/${r.id}`);
    port.dev = `qg-${port.id.slice(0, 11)}`;
    const sub = this.subnets.get(port.subnetId)!;
    try {
      await this.plug(port, r.ns, port.dev);
      const pfx = cidrOf(sub.cidr).getPrefix().getValue();
      await this.sh(
        [script`ip addr add ${port.ip}/${pfx} dev ${port.dev}`, script`ip link set ${port.dev} up`, ...(sub.gateway ? [script`ip route replace default via ${sub.gateway} dev ${port.dev}`] : []), script`arping -q -U -c 1 -I ${port.dev} ${port.ip} || true`].join("\n"),
        "router gateway",
        r.ns,
      );
    } catch (e) {
      this.dropPort(port);
      throw e;
    }
    r.gwPort = port.id;
    await this.applyNat(r);
  }

  private async routerInterface(r: Router, sub: Subnet): Promise<void> {
    if (!sub.gateway) throw this.fault(400, `routers/${r.id}/add_router_interface`, `Bad router request: Subnet ${sub.id} does not have a gateway IP.`);
    const net = this.networks.get(sub.networkId)!;
    if (net.external) throw this.fault(400, `routers/${r.id}/add_router_interface`, `Bad router request: Router already has a port on subnet ${sub.id}.`);
    if (r.interfaces.some((p) => this.ports.get(p)!.subnetId === sub.id)) throw this.fault(400, `routers/${r.id}/add_router_interface`, `Bad router request: Router already has a port on subnet ${sub.id}.`);
    const port = await this.newPort(net, "network:router_interface", r.id, `ri/${r.id}/${sub.id}`, { subnet: sub, ip: sub.gateway });
    port.dev = `qr-${port.id.slice(0, 11)}`;
    try {
      await this.plug(port, r.ns, port.dev);
      await this.sh(script`ip addr add ${port.ip}/${cidrOf(sub.cidr).getPrefix().getValue()} dev ${port.dev}\nip link set ${port.dev} up`, "router interface", r.ns);
    } catch (e) {
      this.dropPort(port);
      throw e;
    }
    r.interfaces.push(port.id);
    await this.applyNat(r);
  }

  /** The L3 agent's iptables rules for a router (legacy, no DVR), applied with iptables-restore in its namespace. */
  routerRules(r: Router): string {
    const gw = r.gwPort ? this.ports.get(r.gwPort) : undefined;
    const qg = gw?.dev;
    const fips = [...this.fips.values()].filter((f) => f.routerId === r.id && f.fixedPort).map((f) => ({ fip: f.ip, fixed: this.ports.get(f.fixedPort!)!.ip }));
    const nat = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
      ...["OUTPUT", "POSTROUTING", "PREROUTING", "float-snat", "snat"].map((c) => script`:neutron-l3-agent-${c} - [0:0]`),
      ":neutron-postrouting-bottom - [0:0]",
      "-A PREROUTING -j neutron-l3-agent-PREROUTING",
      "-A OUTPUT -j neutron-l3-agent-OUTPUT",
      "-A POSTROUTING -j neutron-l3-agent-POSTROUTING",
      "-A POSTROUTING -j neutron-postrouting-bottom",
      ...fips.map((f) => script`-A neutron-l3-agent-OUTPUT -d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`),
      ...(qg ? [script`-A neutron-l3-agent-POSTROUTING ! -o ${qg} -m conntrack ! --ctstate DNAT -j ACCEPT`] : []),
      ...fips.map((f) => script`-A neutron-l3-agent-PREROUTING -d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`),
      ...fips.map((f) => script`-A neutron-l3-agent-float-snat -s ${f.fixed}/32 -j SNAT --to-source ${f.fip} --random-fully`),
      "-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat",
      ...(qg && gw
        ? [
            script`-A neutron-l3-agent-snat -o ${qg} -j SNAT --to-source ${gw.ip} --random-fully`,
            script`-A neutron-l3-agent-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source ${gw.ip} --random-fully`,
          ]
        : []),
      '-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat',
      "COMMIT",
    ];
    const mangle = [
      "*mangle",
      ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
      ":neutron-l3-agent-PREROUTING - [0:0]", ":neutron-l3-agent-mark - [0:0]",
      "-A PREROUTING -j neutron-l3-agent-PREROUTING",
      "-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-mark",
      ...(qg ? [script`-A neutron-l3-agent-mark -i ${qg} -j MARK --set-xmark 0x2/0xffff`] : []),
      "COMMIT",
    ];
    return [...nat, ...mangle, ""].join("\n");
  }

  private applyNat(r: Router): Promise<void> {
    return this.sh(`iptables-restore <<'EOF'\n${this.routerRules(r)}EOF`, "iptables-restore", r.ns);
  }

  // ---------------------------------------------------------------- floating IPs

  private async fipCreate(net: Network, want?: string): Promise<FloatingIp> {
    if (!net.external) throw this.fault(400, "floatingips", `Bad floatingip request: Network ${net.id} is not a valid external network.`);
    const sub = net.subnets.map((s) => this.subnets.get(s)!).find((s) => !want || inCidr(s.cidr, want));
    if (!sub) throw this.fault(400, "floatingips", `Bad floatingip request: Network ${net.id} does not contain any IPv4 subnet.`);
    const id = this.id("floatingip", want ?? "");
    const port = await this.newPort(net, "network:floatingip", id, `fip/${id}`, { subnet: sub, ip: want });
    const f: FloatingIp = { id, ip: port.ip, networkId: net.id, portId: port.id };
    this.fips.set(id, f);
    return f;
  }

  private async associate(s: Server, f: FloatingIp): Promise<void> {
    const port = this.ports.get(s.portId)!;
    const router = [...this.routers.values()].find(
      (r) => r.gwPort && this.ports.get(r.gwPort)!.networkId === f.networkId && r.interfaces.some((p) => this.ports.get(p)!.subnetId === port.subnetId),
    );
    if (!router) {
      throw this.fault(404, `floatingips/${f.id}`, `External network ${f.networkId} is not reachable from subnet ${port.subnetId}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`);
    }
    if (f.fixedPort) throw this.fault(409, `floatingips/${f.id}`, `Cannot associate floating IP ${f.ip} (${f.id}) with port ${port.id} using fixed IP ${port.ip}, as that fixed IP already has a floating IP on external network ${f.networkId}.`);
    f.fixedPort = port.id;
    f.routerId = router.id;
    const qg = this.ports.get(router.gwPort!)!.dev!;
    await this.sh(script`ip addr add ${f.ip}/32 dev ${qg}\narping -q -U -c 1 -I ${qg} ${f.ip} || true`, "floating IP address", router.ns);
    await this.applyNat(router);
  }

  // ---------------------------------------------------------------- nova

  private async serverCreate(name: string, net: Network): Promise<Server> {
    if ([...this.servers.values()].some((s) => s.name === name)) throw new NeutronError(`labwright: a server named ${name} already exists (expectations name servers; give each its own name)`);
    if (!net.subnets.length) throw new NeutronError(`Network ${net.id} requires a subnet in order to boot instances on. (HTTP 400)`);
    const id = this.id("server", name);
    const port = await this.newPort(net, "compute:nova", id, `vm/${id}`);
    port.dev = `tap${port.id.slice(0, 11)}`;
    const s: Server = { id, name, portId: port.id };
    try {
      await this.host.createGuest(name);
      await this.plug(port, name, "eth0");
      await this.sh("ip link set lo up; ip link set eth0 up", "server NIC", name);
      this.servers.set(id, s);
      const sub = this.subnets.get(port.subnetId)!;
      if (sub.dhcp) {
        await this.reloadDhcp(net);
        const r = await this.host.exec(name, dhcpClientCommand(), 30);
        const m = /bound (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout);
        if (r.exitCode !== 0 || !m) throw new NeutronError(`server ${name}: no DHCP answer from qdhcp-${net.name}: ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
        s.address = m[1];
      }
    } catch (e) {
      this.servers.delete(id);
      this.dropPort(port);
      throw e;
    }
    return s;
  }

  // ---------------------------------------------------------------- references for expectations

  /** `<server>:fixed`, `<server>:floating`, `<router>:gateway`. */
  refAddress(name: string, what: string): string | undefined {
    const server = [...this.servers.values()].find((s) => s.name === name);
    if (server && what === "fixed") return this.ports.get(server.portId)!.ip;
    if (server && what === "floating") {
      const f = [...this.fips.values()].find((x) => x.fixedPort === server.portId);
      if (!f) throw new NeutronError(`server ${name} has no floating IP`);
      return f.ip;
    }
    const router = [...this.routers.values()].find((r) => r.name === name);
    if (router && what === "gateway") {
      if (!router.gwPort) throw new NeutronError(`router ${name} has no external gateway`);
      return this.ports.get(router.gwPort)!.ip;
    }
    return undefined;
  }

  serverAddress(name: string): string | undefined {
    const s = [...this.servers.values()].find((x) => x.name === name);
    return s ? this.ports.get(s.portId)!.ip : undefined;
  }

  // ---------------------------------------------------------------- output

  private addresses(s: Server): string {
    const p = this.ports.get(s.portId)!;
    const f = [...this.fips.values()].find((x) => x.fixedPort === p.id);
    return `${this.networks.get(p.networkId)!.name}=${p.ip}${f ? `, ${f.ip}` : ""}`;
  }

  private networkRow(n: Network): [string, string][] {
    return [
      ["id", n.id], ["mtu", String(n.mtu)], ["name", n.name], ["provider:network_type", n.type],
      ["provider:physical_network", n.physnet ?? "None"], ["provider:segmentation_id", n.segment === undefined ? "None" : String(n.segment)],
      ["router:external", n.external ? "External" : "Internal"], ["shared", n.shared ? "True" : "False"], ["status", "ACTIVE"], ["subnets", n.subnets.join(", ")],
    ];
  }
  private subnetRow(s: Subnet): [string, string][] {
    return [
      ["allocation_pools", s.pools.map(([a, b]) => `${a}-${b}`).join(", ")], ["cidr", s.cidr], ["dns_nameservers", s.dns.join(", ")], ["enable_dhcp", s.dhcp ? "True" : "False"],
      ["gateway_ip", s.gateway ?? "None"], ["id", s.id], ["ip_version", "4"], ["name", s.name], ["network_id", s.networkId],
    ];
  }
  private routerRow(r: Router): [string, string][] {
    const gw = r.gwPort ? this.ports.get(r.gwPort)! : undefined;
    const info = gw ? `{"network_id": "${gw.networkId}", "external_fixed_ips": [{"subnet_id": "${gw.subnetId}", "ip_address": "${gw.ip}"}], "enable_snat": true}` : "None";
    const ifs = r.interfaces.map((p) => this.ports.get(p)!).map((p) => `{"port_id": "${p.id}", "ip_address": "${p.ip}", "subnet_id": "${p.subnetId}"}`);
    return [["external_gateway_info", info], ["id", r.id], ["interfaces_info", `[${ifs.join(", ")}]`], ["name", r.name], ["status", "ACTIVE"]];
  }
  private serverRow(s: Server): [string, string][] {
    return [["addresses", this.addresses(s)], ["flavor", "(ignored by labwright)"], ["id", s.id], ["image", "(ignored by labwright)"], ["name", s.name], ["status", "ACTIVE"]];
  }
  private fipRow(f: FloatingIp): [string, string][] {
    const fixed = f.fixedPort ? this.ports.get(f.fixedPort)! : undefined;
    return [["fixed_ip_address", fixed?.ip ?? "None"], ["floating_ip_address", f.ip], ["floating_network_id", f.networkId], ["id", f.id], ["port_id", fixed?.id ?? "None"], ["router_id", f.routerId ?? "None"], ["status", fixed ? "ACTIVE" : "DOWN"]];
  }

  private show(c: OpenstackCommand, rows: [string, string][]): string {
    const pick: [string, string][] = c.columns.length ? c.columns.map((k) => rows.find(([f]) => f === k) ?? [k, ""]) : rows;
    if (c.format === "value") return pick.map(([, v]) => v).join("\n") + "\n";
    if (c.format === "json") return JSON.stringify(Object.fromEntries(pick), null, 2) + "\n";
    return table(["Field", "Value"], pick);
  }

  private list(c: OpenstackCommand, head: string[], rows: string[][]): string {
    const idx = c.columns.length ? c.columns.map((k) => head.indexOf(k)).filter((k) => k >= 0) : head.map((_, k) => k);
    const h = idx.map((k) => head[k]!);
    const r = rows.map((row) => idx.map((k) => row[k] ?? ""));
    if (c.format === "value") return r.map((x) => x.join(" ")).join("\n") + (r.length ? "\n" : "");
    if (c.format === "json") return JSON.stringify(r.map((x) => Object.fromEntries(x.map((v, k) => [h[k], v]))), null, 2) + "\n";
    return table(h, r);
  }
}
