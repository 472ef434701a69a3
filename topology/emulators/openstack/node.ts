import type { OpenstackCommand } from "../../model/commands/openstack.ts";
import { bridgeMappings, type KollaGlobals, ml2Config, PLAYS, pullError, pullScript } from "./kolla.ts";
import { type CloudHost, Neutron, NeutronError } from "./neutron.ts";

/** What a kolla node needs from the lab beyond the cloud's needs. */
export interface KollaHost extends CloudHost {
  /** Starts the openvswitch_db and openvswitch_vswitchd "containers": ovsdb-server and ovs-vswitchd in the node. */
  startOvs(): Promise<void>;
  /** The kernel-datapath behaviour after OVS changes (a NIC in a bridge stops carrying the node's own traffic). */
  reconcile(): Promise<string[]>;
}

export interface StepOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Seconds curl waits for a connection per image pull (docker's own dial timeout is 30 s; the labs use less). */
export const PULL_CONNECT_TIMEOUT_S = 4;

/**
 * One kolla-ansible target: the all-in-one node of seed 003. `precheck` and `deploy` are
 * kolla-ansible's; `openstack` runs the client against the cloud once deployed.
 */
export class KollaNode {
  private ovsStarted = false;
  private deployed: { globals: KollaGlobals; neutron: Neutron } | null = null;

  constructor(private readonly host: KollaHost) {}

  get neutron(): Neutron | null {
    return this.deployed?.neutron ?? null;
  }

  /** Live checks of the node against globals.yml, before anything is deployed. Exit 1 with the findings. */
  async precheck(g: KollaGlobals): Promise<StepOutput> {
    const addrs = await this.addresses();
    const def = await this.defaultRoute();
    const findings: string[] = [];
    const mgmt = addrs.get(g.network_interface);
    if (!mgmt) findings.push(`network_interface ${g.network_interface}: no such interface on ${this.host.node}`);
    else if (!mgmt.length) findings.push(`network_interface ${g.network_interface} has no IPv4 address: kolla uses it for the APIs, tunnels and DNS, so it must have one`);
    if (g.neutron_bridge_names.length !== g.neutron_external_interfaces.length) {
      findings.push(`neutron_bridge_name lists ${g.neutron_bridge_names.length} bridge(s) for ${g.neutron_external_interfaces.length} neutron_external_interface(s): kolla zips them, so ${g.neutron_external_interfaces.slice(g.neutron_bridge_names.length).join(", ") || g.neutron_bridge_names.slice(g.neutron_external_interfaces.length).join(", ")} would be left out`);
    }
    for (const nic of g.neutron_external_interfaces) {
      const a = addrs.get(nic);
      if (a === undefined) {
        findings.push(`neutron_external_interface ${nic}: no such interface on ${this.host.node}`);
        continue;
      }
      if (nic === g.network_interface) findings.push(`neutron_external_interface ${nic} is also network_interface: its address ${mgmt?.join(", ") || ""} carries the APIs, and becomes unusable once ${nic} is an OVS port`);
      if (def?.dev === nic) {
        findings.push(
          `neutron_external_interface ${nic} holds the default route (default via ${def.via ?? "?"}): the openvswitch play makes ${nic} an OVS port, the node loses its way out and every later image pull fails. Move the default route to another interface (seed 003: via ${g.network_interface} to a node that forwards and NATs)`,
        );
      }
      if (a.length) {
        findings.push(
          `neutron_external_interface ${nic} holds ${a.join(", ")}: "Even though an IP address can exist on this interface, it will be unusable in most configurations" (kolla's globals.yml); traffic from this node to ${a.map((x) => this.networkOf(x)).join(", ")} would go into ${nic} and never come back. Remove the address (ip addr flush dev ${nic})`,
        );
      }
    }
    if (!findings.length) {
      return { exitCode: 0, stdout: `precheck: ok: ${g.neutron_external_interfaces.join(", ")} hold no address and no default route; network_interface ${g.network_interface} has ${mgmt!.join(", ")}\n`, stderr: "" };
    }
    return { exitCode: 1, stdout: "", stderr: findings.map((f) => `precheck: ${f}`).join("\n") + "\n" };
  }

  /**
   * `kolla-ansible deploy`: the plays in order, each pulling its images from the registry over the
   * node's own routes; the openvswitch play adds each external interface to its bridge; the neutron
   * play starts the OVS agent. Stops at the first failing task, as ansible does.
   */
  async deploy(g: KollaGlobals, ml2Override?: string): Promise<StepOutput> {
    const out: string[] = [];
    let ok = 0;
    let changed = 0;
    const recap = (failed: number) => {
      out.push("", "PLAY RECAP " + "*".repeat(60), `${this.host.node.padEnd(26)} : ok=${ok}    changed=${changed}    unreachable=0    failed=${failed}    skipped=0    rescued=0    ignored=0`);
      return out.join("\n") + "\n";
    };
    const fail = (msg: string): StepOutput => {
      out.push(`fatal: [${this.host.node}]: FAILED! => {"changed": false, "msg": ${JSON.stringify(msg)}}`);
      return { exitCode: 2, stdout: recap(1), stderr: "" };
    };
    const task = (role: string, name: string) => out.push("", `TASK [${role} : ${name}] ` + "*".repeat(Math.max(3, 60 - role.length - name.length)));
    if (g.ignored.length) out.push(`[labwright] globals.yml keys with no emulated network effect: ${g.ignored.join(", ")}`);

    const addrs = await this.addresses();
    const mgmt = addrs.get(g.network_interface);
    out.push("", "PLAY [Gather facts for all hosts] " + "*".repeat(40), "", "TASK [Gather facts] " + "*".repeat(50), `ok: [${this.host.node}]`);
    ok++;
    if (!mgmt) return fail(`Interface '${g.network_interface}' not present on host '${this.host.node}'`);
    if (!mgmt.length) return fail(`Address family 'IPv4' undefined on network interface '${g.network_interface}' on host '${this.host.node}'`);
    const vip = g.kolla_internal_vip_address ?? mgmt[0]!.split("/")[0]!;

    for (const play of PLAYS) {
      out.push("", `PLAY [Apply role ${play.role}] ` + "*".repeat(Math.max(3, 56 - play.role.length)));
      task(play.role, "Pull images");
      const r = await this.host.exec(this.host.node, ["bash", "-c", pullScript(g, play.images, PULL_CONNECT_TIMEOUT_S)], PULL_CONNECT_TIMEOUT_S * 2 * play.images.length + 30);
      for (const line of r.stdout.trim().split("\n").filter(Boolean)) {
        const [img, rc, code, ...err] = line.split(" ");
        const ref = `${g.docker_registry}/${g.docker_namespace}/${img}:${g.tag}`;
        if (rc === "0" && code === "200") {
          out.push(`changed: [${this.host.node}] => (item=${ref})`);
          changed++;
        } else return fail(`Unknown error message: ${pullError(g, img!, Number(rc), code ?? "", err.join(" "))}`);
      }
      if (r.exitCode !== 0) return fail(`image pull script failed: ${r.stderr.trim()}`);
      ok++;
      if (play.role === "openvswitch") {
        const err = await this.openvswitchPlay(g, addrs, task, out);
        if (err) return fail(err);
        ok += 2;
        changed += 2;
      }
      if (play.role === "neutron") {
        task("neutron", "Starting neutron-openvswitch-agent container");
        const ml2 = ml2Config(g, ml2Override);
        // A second deploy (or reconfigure) keeps neutron's database and restarts the agents with the new config.
        const neutron = this.deployed?.neutron ?? new Neutron(this.host, ml2, `http://${vip}:9696`);
        neutron.ml2 = ml2;
        try {
          await neutron.startAgent();
        } catch (e) {
          return fail((e as Error).message);
        }
        out.push(`changed: [${this.host.node}]`);
        ok++;
        changed++;
        this.deployed = { globals: g, neutron };
      }
    }
    return { exitCode: 0, stdout: recap(0), stderr: "" };
  }

  private async openvswitchPlay(g: KollaGlobals, addrs: Map<string, string[]>, task: (r: string, n: string) => void, out: string[]): Promise<string | null> {
    if (!this.ovsStarted) {
      await this.host.startOvs();
      this.ovsStarted = true;
    }
    const pairs = bridgeMappings(g);
    for (const p of pairs) if (!addrs.has(p.nic)) return `ovs-vsctl: cannot add ${p.nic} to ${p.bridge}: no such network device on ${this.host.node}`;
    task("openvswitch", "Ensuring OVS bridge is properly setup");
    const br = pairs.flatMap((p) => ["--", "--may-exist", "add-br", p.bridge, "--", "set", "bridge", p.bridge, "datapath_type=netdev", "fail_mode=standalone"]);
    let r = await this.host.exec(this.host.node, ["ovs-vsctl", "--timeout=10", ...br], 30);
    if (r.exitCode !== 0) return `ovs-vsctl: ${r.stderr.trim()}`;
    for (const p of pairs) out.push(`changed: [${this.host.node}] => (item=['${p.bridge}', '${p.nic}'])`);
    task("openvswitch", "Ensuring OVS ports are properly setup");
    const ports = pairs.flatMap((p) => ["--", "--may-exist", "add-port", p.bridge, p.nic]);
    r = await this.host.exec(this.host.node, ["ovs-vsctl", "--timeout=10", ...ports], 30);
    if (r.exitCode !== 0) return `ovs-vsctl: ${r.stderr.trim()}`;
    for (const p of pairs) out.push(`changed: [${this.host.node}] => (item=['${p.bridge}', '${p.nic}'])`);
    for (const c of await this.host.reconcile()) out.push(`[labwright] ${c}`);
    return null;
  }

  /** `openstack ...`: needs a deployed cloud, as the client needs keystone. */
  async openstack(c: OpenstackCommand): Promise<StepOutput> {
    if (!this.deployed) {
      const addrs = await this.addresses();
      const vip = [...addrs.values()].flat()[0]?.split("/")[0] ?? "localhost";
      return {
        exitCode: 1,
        stdout: "",
        stderr: `Failed to discover available identity versions when contacting http://${vip}:5000. Attempting to parse version from URL.\nUnable to establish connection to http://${vip}:5000/v3/auth/tokens: Connection refused (kolla-ansible deploy has not completed on ${this.host.node})\n`,
      };
    }
    try {
      const values: string[] = [];
      for (const inner of c.substitutions) values.push((await this.deployed.neutron.run(inner)).trim());
      const args = c.args.map((a) => a.replace(/\u0000(\d+)/g, (_, k: string) => values[Number(k)]!));
      return { exitCode: 0, stdout: await this.deployed.neutron.run({ ...c, args }), stderr: "" };
    } catch (e) {
      if (e instanceof NeutronError) return { exitCode: 1, stdout: "", stderr: e.message + "\n" };
      throw e;
    }
  }

  private async addresses(): Promise<Map<string, string[]>> {
    const r = await this.host.exec(this.host.node, ["ip", "-j", "addr", "show"]);
    const list = JSON.parse(r.stdout || "[]") as { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[];
    return new Map(list.filter((l) => l.ifname !== "lo").map((l) => [l.ifname, l.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`)]));
  }

  private async defaultRoute(): Promise<{ dev: string; via?: string } | undefined> {
    const r = await this.host.exec(this.host.node, ["ip", "-j", "-4", "route", "show", "default"]);
    const d = (JSON.parse(r.stdout || "[]") as { dev: string; gateway?: string }[])[0];
    return d ? { dev: d.dev, via: d.gateway } : undefined;
  }

  private networkOf(cidr: string): string {
    const [ip, p] = cidr.split("/");
    const n = ip!.split(".").reduce((a, b) => a * 256 + Number(b), 0);
    const mask = Number(p) === 0 ? 0 : (0xffffffff << (32 - Number(p))) >>> 0;
    const net = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".")}/${p}`;
  }
}

