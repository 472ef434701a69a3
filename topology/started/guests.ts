import { join } from "node:path";
import type { Backend } from "../backends/backend.ts";
import { attachNamespace } from "../backends/netns.ts";
import type { Daemon, Host } from "../backends/host.ts";
import { applySysctls, BASE_SYSCTLS } from "../fabric/sysctls.ts";
import { must } from "../run/exec.ts";
import type { RunRecord } from "../run/state.ts";
import { isAlive, terminate } from "../run/process.ts";
import { teardownRun } from "../run/teardown.ts";
import { txOffScript } from "../stacks/ovs/daemons.ts";
import { listening } from "../wait/listening.ts";
import { waitFor } from "../wait/wait.ts";

/**
 * Guests: namespaces that belong to a node and are used by name like nodes (Incus instances,
 * neutron's router and DHCP namespaces, nova's servers). On every backend with namespaces they are
 * namespaces on this machine, wired to their node with a veth.
 */
export class Guests {
  /**
   * Guests that are another daemon's namespace, only named by labwright (`attach`: an Incus
   * instance's, neutron's qrouter/qdhcp): their processes are that daemon's, never labwright's to end.
   */
  private readonly foreign = new Set<string>();

  constructor(
    private readonly backend: Backend,
    private readonly record: RunRecord,
    /** Every Host of the run, by name: guests are added here. */
    private readonly hosts: Map<string, Host>,
    private readonly isNode: (name: string) => boolean,
  ) {}

  has(name: string): boolean {
    return this.hosts.has(name) && !this.isNode(name);
  }

  /** A namespace of node `of`, usable by name like a node; its resolv.conf is the guest's own. */
  async create(name: string, of: string): Promise<Host> {
    if (this.hosts.has(name) || this.isNode(name)) throw new Error(`${name} is already a node or guest of the lab`);
    const host = await this.backend.guest(this.record, name, of);
    this.hosts.set(name, host);
    await host.writeFile("/etc/resolv.conf", "# written by the guest's DHCP client\n");
    await applySysctls((argv, o) => host.exec(argv, o), BASE_SYSCTLS, `sysctls of ${name}`);
    await must(["ip", "-n", netnsOf(host), "link", "set", "lo", "up"], { timeoutS: 10 });
    return host;
  }

  /** Names a namespace someone else made (an Incus instance's) as guest `name` of node `of`. */
  async attach(name: string, of: string, nsPath: string, resolvConf: string | null): Promise<Host> {
    if (this.hosts.has(name) || this.isNode(name)) throw new Error(`${name} is already a node or guest of the lab`);
    const host = await attachNamespace(this.record, name, of, nsPath, resolvConf);
    this.hosts.set(name, host);
    this.foreign.add(name);
    return host;
  }

  /** A veth pair: `hostIf` in node `of` (for OVS), `guestIf` with `mac` in the guest; both up, tx offload off. */
  async addPort(of: Host, guest: Host, hostIf: string, guestIf: string, mac: string, mtu: number): Promise<void> {
    await must(
      [
        "ip",
        "-n",
        netnsOf(of),
        "link",
        "add",
        hostIf,
        "mtu",
        String(mtu),
        "type",
        "veth",
        "peer",
        "name",
        guestIf,
        "netns",
        netnsOf(guest),
        "address",
        mac,
        "mtu",
        String(mtu),
      ],
      { timeoutS: 10, context: `port ${hostIf} of ${guest.name}` },
    );
    await must(["ip", "-n", netnsOf(of), "link", "set", hostIf, "up"], { timeoutS: 10 });
    await must(["ip", "-n", netnsOf(guest), "link", "set", guestIf, "up"], { timeoutS: 10 });
    for (const [h, dev] of [
      [of, hostIf],
      [guest, guestIf],
    ] as const) {
      const r = await h.exec(["bash", "-c", txOffScript([dev])], { timeoutS: 10 });
      if (r.exitCode !== 0) throw new Error(`ethtool on ${h.name} ${dev}: ${r.stderr.trim()}`);
    }
  }

  /** Starts a daemon in a guest, recorded for teardown; resolves once it listens on udp `port`. */
  async spawnUdp(guest: string, name: string, argv: string[], port: number, logDir: string): Promise<Daemon> {
    const host = this.get(guest);
    const d = host.spawn(name, argv, { log: join(logDir, `${name.replace(/[:/]/g, "-")}.log`) });
    this.record.update((s) => s.processes.push({ ...d.ref, name, node: guest }));
    await waitFor(host, d, listening("udp", port));
    return d;
  }

  get(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no node or guest "${name}"`);
    return h;
  }

  /**
   * Removes a guest: its namespace's name and files, and the processes in it — for a guest another
   * daemon owns (attached), only those labwright started there. Measured before this rule
   * (2026-12-06, gateway-member-crashes, perf's signal:signal_generate): right after pamonha1's boot
   * the Incus view saw web1 (on pamonha3) change, dropped its name and, with it, SIGTERMed every
   * process in web1's namespace (its busybox init, udhcpc, httpd); web1's init took it as a reboot,
   * its stop hook met a stale OVN connection ("Failed to remove OVN device port") and web1 stayed
   * stopped: the red verdict of 1 run in 3.
   */
  async remove(name: string): Promise<void> {
    const host = this.get(name);
    const foreign = this.foreign.has(name);
    if (foreign) await terminate(this.record.snapshot.processes.filter((p) => p.node === name && isAlive(p)));
    await teardownRun(this.record.id, null, { keepRunDir: true, only: [netnsOf(host)], endProcesses: !foreign });
    this.foreign.delete(name);
    this.hosts.delete(name);
    this.record.update((s) => {
      s.namespaces = s.namespaces.filter((x) => x !== host.netns);
      delete s.nodes[name];
    });
  }
}

export function netnsOf(h: Host): string {
  if (!h.netns) throw new Error(`${h.name} has no network namespace on this machine (${h.backend} backend): guests need one`);
  return h.netns;
}
