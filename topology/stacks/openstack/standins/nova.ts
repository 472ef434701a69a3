import { randomUUID } from "node:crypto";
import type { NovaCommand } from "../../../model/commands/openstack.ts";
import type { CommandResult } from "../../../run/exec.ts";
import { table } from "../../../report/table.ts";
import { type GuestHost, Guests, type Port, type Server, VmError } from "../vm/guests.ts";

/**
 * labwright's stand-in for nova, the one part of the cloud that cannot run here (no hypervisor, no
 * images): `server create` and `server add floating ip`. It does exactly nova's part of the
 * network and nothing else:
 * - the port, created through neutron's API as nova does it (device_owner compute:nova, the server's
 *   ID as device_id, binding:host_id the node's hostname, the given security groups, else neutron's
 *   project default) — or an existing port given with --port, updated the same way;
 * - the plugging os-vif does, the waiting for neutron to report the port ACTIVE (nova's
 *   network-vif-plugged), and the "VM": vm/guests.ts.
 * `server add floating ip` associates the floating IP with the server's port through neutron's API,
 * as python-openstackclient does. Everything else about servers (images, flavors, consoles, other
 * nova commands) is not here: with kolla's `enable_nova_fake`, the real nova runs (nova/).
 */

const out = (stdout: string, stderr = "", exitCode = 0): Omit<CommandResult, "argv" | "durationMs"> => ({
  exitCode,
  signal: null,
  stdout,
  stderr,
  timedOut: false,
});

export class Nova {
  private readonly vms: Guests;

  constructor(private readonly h: GuestHost) {
    this.vms = new Guests(h);
  }

  /** The servers it started, by name. */
  get servers(): Guests["servers"] {
    return this.vms.servers;
  }

  async run(c: NovaCommand): Promise<Omit<CommandResult, "argv" | "durationMs">> {
    try {
      return c.verb === "server create" ? await this.create(c) : await this.addFloatingIp(c.server, c.address);
    } catch (e) {
      if (e instanceof NovaError || e instanceof VmError) return out("", `${e.message}\n`, 1);
      throw e;
    }
  }

  private async create(c: Extract<NovaCommand, { verb: "server create" }>): Promise<Omit<CommandResult, "argv" | "durationMs">> {
    if (this.servers.has(c.name))
      throw new NovaError(`labwright: a server named ${c.name} exists already (expectations name servers: give each its own name)`);
    const api = this.h.api;
    const groups: string[] = [];
    for (const g of c.securityGroups) groups.push(found(await api.find<{ id: string }>("security_group", g)).id);
    const id = randomUUID();
    const binding = {
      device_owner: "compute:nova",
      device_id: id,
      "binding:host_id": this.h.hostname,
      ...(groups.length ? { security_groups: groups } : {}),
    };
    let port: Port;
    let created = false;
    if (c.port !== undefined) {
      const p = found(await api.find<Port>("port", c.port));
      port = neutron(await api.call<{ port: Port }>("PUT", `/ports/${p.id}`, { port: binding })).port;
    } else {
      const net = found(await api.find<{ id: string }>("network", c.network!));
      port = neutron(await api.call<{ port: Port }>("POST", "/ports", { port: { network_id: net.id, ...binding } })).port;
      created = true;
    }
    let server: Server;
    try {
      server = await this.vms.attach(c.name, id, port);
    } catch (e) {
      if (created) await api.call("DELETE", `/ports/${port.id}`);
      throw e;
    }
    const net = (await api.get<{ network: { name: string } }>(`/networks/${port.network_id}`)).network.name;
    const rows = [
      ["addresses", `${net}=${server.address ?? port.fixed_ips.map((f) => f.ip_address).join(", ")}`],
      ["id", id],
      ["name", c.name],
      [
        "port",
        `${port.id} (${port["binding:vif_details"].ovs_hybrid_plug ? "hybrid plug: qbr/qvb/qvo" : "tap on br-int"}, host ${this.h.hostname})`,
      ],
      ["status", "ACTIVE"],
    ];
    return out(
      table(["Field", "Value"], rows) +
        `(labwright stands in for nova: ${c.name} is a network namespace on this port, configured by neutron's DHCP)\n`,
    );
  }

  private async addFloatingIp(serverName: string, address: string): Promise<Omit<CommandResult, "argv" | "durationMs">> {
    const s = this.servers.get(serverName);
    if (!s) throw new NovaError(`No server with a name or ID of '${serverName}' exists.`);
    const fips = (
      await this.h.api.get<{ floatingips: { id: string }[] }>(`/floatingips?floating_ip_address=${encodeURIComponent(address)}`)
    ).floatingips;
    if (!fips[0]) throw new NovaError(`No FloatingIP found for ${address}`);
    neutron(await this.h.api.call("PUT", `/floatingips/${fips[0].id}`, { floatingip: { port_id: s.portId } }));
    return out("");
  }
}

class NovaError extends Error {}

function found<T>(x: T | { error: string }): T {
  if (x && typeof x === "object" && "error" in x && typeof (x as { error: unknown }).error === "string")
    throw new NovaError((x as { error: string }).error);
  return x as T;
}

/** neutron's answer, or its error as the stand-in reports it (neutron's own message, its status). */
function neutron<T>(a: { status: number; body: T; error?: string }): T {
  if (a.error !== undefined) throw new NovaError(`neutron answered ${a.status}: ${a.error}`);
  return a.body;
}
