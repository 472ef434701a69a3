import { IPv4, IPv4CidrRange } from "ip-num";
import type { IncusView } from "../stacks/incus/view.ts";
import type { NeutronView } from "../stacks/openstack/neutron/view.ts";
import { isIPv4, NETWORK_REF } from "../model/addresses.ts";
import type { Lab } from "../model/types.ts";

/** What a name in an expectation stands for: a node's address, an instance's, a network reference's. */
export class Addresses {
  constructor(
    private readonly lab: Lab,
    private readonly incus: IncusView | null,
    private readonly neutron: readonly NeutronView[],
    /** Is this name a guest (instance, server, router namespace) rather than a lab node? */
    private readonly isGuest: (name: string) => boolean,
  ) {}

  /** `<name>:<what>` references: an Incus network's, an OpenStack router's or server's address. */
  private refAddress(name: string, what: string): string {
    const incus = this.incus?.refAddress(name, what);
    if (incus) return incus;
    for (const v of this.neutron) {
      const a = v.refAddress(name, what);
      if (a) return a;
    }
    throw new Error(`${name}:${what}: no Incus network, OpenStack router or server of that name has such an address`);
  }

  /** The address a target names, seen from `from`: a node's address on a LAN they share (else its first), an instance's, a network reference's, or the IP itself. */
  addressOf(from: string, to: string): string {
    if (isIPv4(to)) return to;
    const ref = NETWORK_REF.exec(to);
    if (ref) return this.refAddress(ref[1]!, ref[2]!);
    const inst = this.incus?.instances.get(to);
    if (inst) {
      if (!inst.address) throw new Error(`instance ${to} has no address`);
      return inst.address;
    }
    for (const v of this.neutron) {
      const a = v.serverAddress(to);
      if (a) return a;
    }
    const target = this.lab.nodes.find((n) => n.name === to);
    if (!target) return to; // a DNS name: resolved inside the node by the probe itself
    const fromNode = this.isGuest(from) ? undefined : this.lab.nodes.find((n) => n.name === from);
    const mine = new Set(fromNode?.interfaces.map((i) => i.lan) ?? []);
    const withAddr = target.interfaces.filter((i) => i.address);
    const pick = withAddr.find((i) => mine.has(i.lan)) ?? withAddr[0];
    if (!pick?.address) throw new Error(`node ${to} has no address to reach it by`);
    return pick.address;
  }

  /** The node that holds an address in the lab file, if any. */
  ownerOf(ip: string): string | undefined {
    return this.lab.nodes.find((n) => n.interfaces.some((i) => i.address === ip))?.name;
  }

  /** The LAN an address belongs to, if any. */
  lanOf(ip: string): string | undefined {
    if (!isIPv4(ip)) return undefined;
    return this.lab.lans.find((l) => l.cidr && IPv4CidrRange.fromCidr(l.cidr).contains(IPv4.fromString(ip)))?.name;
  }
}
