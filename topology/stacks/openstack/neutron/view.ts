import type { KollaNode } from "../kolla/node.ts";
import type { OpenstackCommand } from "../../../model/commands/openstack.ts";
import { OBJECT_NAME } from "../../../model/names.ts";
import { ConvergenceError } from "../../../wait/convergence.ts";

/**
 * What the real neutron of a kolla node says exists, read from its API, so expectations can name
 * `<router>:gateway`, `<server>:fixed|floating` and use a router's namespace as `qrouter-<name>`
 * (the L3 agent names it `qrouter-<router ID>` inside the node's enclave; labwright gives it the
 * router's name). After each step on the node it also waits, up to a bound, for what neutron does
 * asynchronously after an API call returns: the agents wiring ports (port status ACTIVE), the L3
 * agent configuring floating IPs (status ACTIVE) and creating router namespaces, and, after a
 * security group or port change, one full pass of the OVS agent (it applies firewall rules in its
 * next rpc_loop iteration). With ML2/OVN there are no agents to wait for: ports turn ACTIVE when
 * ovn-controller binds them, and after each step labwright waits until every chassis has installed
 * the northbound database's current state (`ovn-nbctl --wait=hv sync`).
 */

interface Router {
  id: string;
  name: string;
  gateway?: string;
}

interface FloatingIp {
  address: string;
  portId: string | null;
  status: string;
}

export interface NeutronViewParts {
  readonly node: string;
  readonly kolla: KollaNode;
  attach(name: string, of: string, nsPath: string): Promise<void>;
  detach(name: string): Promise<void>;
  isAttached(name: string): boolean;
  /** A note for the run's event log. */
  note(message: string): void;
}

export class NeutronView {
  private routers: Router[] = [];
  private fips: FloatingIp[] = [];
  private attached = new Map<string, string>();

  constructor(private readonly p: NeutronViewParts) {}

  get node(): string {
    return this.p.node;
  }

  /**
   * Reads routers and floating IPs again; names new router namespaces, drops gone ones. A neutron
   * that does not answer (a step stopped it) leaves the view as it was, with a note.
   */
  async refresh(): Promise<void> {
    try {
      await this.read();
    } catch (e) {
      this.p.note(`neutron on ${this.p.node} did not answer: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  private async read(): Promise<void> {
    const api = this.p.kolla.api;
    if (!api) return;
    type R = { id: string; name: string; external_gateway_info: { external_fixed_ips?: { ip_address: string }[] } | null };
    const [routers, fips] = await Promise.all([
      api.get<{ routers: R[] }>("/routers"),
      api.get<{ floatingips: { floating_ip_address: string; port_id: string | null; status: string }[] }>("/floatingips"),
    ]);
    this.routers = routers.routers.map((r) => ({
      id: r.id,
      name: r.name,
      ...(r.external_gateway_info?.external_fixed_ips?.[0] ? { gateway: r.external_gateway_info.external_fixed_ips[0].ip_address } : {}),
    }));
    this.fips = fips.floatingips.map((f) => ({ address: f.floating_ip_address, portId: f.port_id, status: f.status }));
    for (const [guest, id] of [...this.attached]) {
      if (this.routers.some((r) => r.id === id && `qrouter-${r.name}` === guest)) continue;
      this.attached.delete(guest);
      if (this.p.isAttached(guest)) await this.p.detach(guest);
    }
    for (const r of this.routers) {
      const guest = `qrouter-${r.name}`;
      if (this.attached.has(guest) || !OBJECT_NAME.test(r.name)) continue;
      if (this.routers.filter((x) => x.name === r.name).length > 1) {
        this.p.note(`routers named ${r.name}: more than one, so ${guest} names none of them`);
        continue;
      }
      const ns = this.p.kolla.namespacePath(`qrouter-${r.id}`);
      if (!ns) continue; // the L3 agent has not made it yet
      await this.p.attach(guest, this.p.node, ns);
      this.attached.set(guest, r.id);
    }
  }

  /**
   * Waits (at most `ms`) until neutron's agents have done what the step asked of them; throws a
   * ConvergenceError naming what they had not done by then. A neutron that does not answer (a step
   * stopped it) is not waited for: that leaves a note.
   */
  async settle(c: OpenstackCommand | null, ms = 60_000): Promise<void> {
    try {
      await this.converge(c, ms);
    } catch (e) {
      if (e instanceof ConvergenceError) throw e;
      this.p.note(`neutron on ${this.p.node} did not answer: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  private async converge(c: OpenstackCommand | null, ms: number): Promise<void> {
    const api = this.p.kolla.api;
    if (!api) return;
    const t0 = Date.now();
    const deadline = t0 + ms;
    const host = this.p.kolla.hostname;
    const ovn = this.p.kolla.plugin === "ovn";
    let waiting: string[] = [];
    let slowest = 0;
    for (;;) {
      const q0 = Date.now();
      await this.read();
      const ports = (
        await api.get<{ ports: { id: string; status: string; device_owner: string; device_id: string; "binding:host_id": string }[] }>(
          "/ports",
        )
      ).ports;
      // The L3 agent makes a router's namespace once the router has a port (a gateway or an interface).
      const wired = new Set(ports.filter((x) => x.device_owner.startsWith("network:router")).map((x) => x.device_id));
      slowest = Math.max(slowest, Date.now() - q0);
      const down = ports.filter((x) => x["binding:host_id"] === host && x.device_owner !== "network:floatingip" && x.status !== "ACTIVE");
      waiting = [
        ...down.map((x) => `port ${x.id} (${x.device_owner || "no owner"}): ${x.status}, not ACTIVE`),
        ...this.fips
          .filter((f) => f.portId !== null && f.status !== "ACTIVE")
          .map((f) => `floating IP ${f.address}: ${f.status}, not ACTIVE`),
        // ML2/OVS: the L3 agent's namespace (ML2/OVN routes in OVN's logical routers: no namespace).
        ...this.routers
          .filter((r) => ovn === false && wired.has(r.id) && !this.p.kolla.namespacePath(`qrouter-${r.id}`))
          .map((r) => `router ${r.name}: no qrouter namespace`),
      ];
      if (!waiting.length) break;
      if (Date.now() > deadline)
        throw new ConvergenceError(
          waiting.map((w) => `neutron on ${this.p.node}: ${w}`),
          Date.now() - t0,
          [
            `labwright: the slowest round of queries to neutron's API in this wait took ${(slowest / 1000).toFixed(1)} s`,
            ...this.p.kolla.logsAbout(down.map((x) => x.id)),
          ],
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    // ML2/OVN: every change reaches the chassis as OVN flows; `ovn-nbctl --wait=hv sync` returns once
    // each ovn-controller has installed what the northbound database says now.
    if (ovn) await this.p.kolla.awaitOvnSync(Math.max(5_000, deadline - Date.now()));
    else if (c && (c.argv[0] === "security" || c.argv[0] === "port"))
      await this.p.kolla.awaitAgentPass(t0, Math.max(5_000, deadline - Date.now()));
  }

  /** `<router>:gateway`, `<server>:fixed`, `<server>:floating`. */
  refAddress(name: string, what: string): string | undefined {
    const server = this.p.kolla.servers.get(name);
    if (server && what === "fixed") return server.address;
    if (server && what === "floating") {
      const f = this.fips.find((x) => x.portId === server.portId);
      if (!f) throw new Error(`server ${name} has no floating IP`);
      return f.address;
    }
    const router = this.routers.find((r) => r.name === name);
    if (router && what === "gateway") {
      if (!router.gateway) throw new Error(`router ${name} has no external gateway`);
      return router.gateway;
    }
    return undefined;
  }

  /** The names this view gives to guests: router namespaces and the stand-in's servers. */
  guestNames(): string[] {
    return [...this.attached.keys(), ...this.p.kolla.servers.keys()];
  }

  /** A server's fixed address (by its name, like a node). */
  serverAddress(name: string): string | undefined {
    return this.p.kolla.servers.get(name)?.address;
  }
}
