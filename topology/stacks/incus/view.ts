import { join } from "node:path";
import type { Host } from "../../backends/host.ts";
import { OBJECT_NAME } from "../../model/names.ts";
import type { NodeSpec } from "../../model/types.ts";
import type { RunRecord } from "../../run/state.ts";
import { incusDir } from "./daemon.ts";
import { locate } from "./restart.ts";
import { ConvergenceError } from "../../wait/convergence.ts";
import { isAlive } from "../../run/process.ts";
import { logTail } from "../../wait/wait.ts";

/**
 * What the real Incus says exists, read with its own client (`incus list`, `incus network list`),
 * so expectations can name instances like nodes and networks by `<network>:gateway|uplink`. Each
 * running instance is attached as a guest: its network namespace (found through its member's
 * incusd) gets a name, and probes run in it with this machine's tools; its resolv.conf is its own.
 */

interface Instance {
  name: string;
  location: string;
  status: string;
  /** The instance's init, as its member's incusd (pid 1 of its own pid namespace) numbers it. */
  pid: number;
  address?: string;
  /** Managed networks its NICs are on (from its expanded devices). */
  networks: string[];
}

interface Network {
  name: string;
  type: string;
  config: Record<string, string>;
}

export interface ViewParts {
  readonly members: readonly NodeSpec[];
  readonly record: RunRecord;
  host(name: string): Host;
  /** Names a namespace given by path as guest `name` of `of`. */
  attach(name: string, of: string, nsPath: string, resolvConf: string): Promise<void>;
  detach(name: string): Promise<void>;
  isAttached(name: string): boolean;
  /** A note for the run's event log (an instance that cannot be named, and why). */
  note(message: string): void;
}

export class IncusView {
  readonly instances = new Map<string, Instance>();
  readonly networks = new Map<string, Network>();

  constructor(private readonly p: ViewParts) {}

  get memberNames(): string[] {
    return this.p.members.map((m) => m.name);
  }

  /**
   * Members whose incusd is no longer running, each with the tail of its log (an incusd that exits
   * mid-request shows to other members' clients as a bare EOF; its log says why).
   */
  deadDaemons(): { member: string; tail: string }[] {
    // A member booted after a crash or restarted has its earlier incusd on record: its latest is the one that counts.
    const procs = this.p.record.snapshot.processes.filter((x) => x.name === "incusd");
    const members = [...new Set(procs.map((x) => x.node))];
    return members
      .filter((m) => !isAlive(procs.findLast((x) => x.node === m)!))
      .map((member) => ({ member, tail: logTail(join(this.p.host(member).stateDir, "incusd.log"), 20) }));
  }

  /** A note for the run's event log and the step's record. */
  note(message: string): void {
    this.p.note(message);
  }

  isMember(node: string): boolean {
    return this.p.members.some((m) => m.name === node);
  }

  /**
   * The member labwright asks: the first whose incusd still runs (a `crash:` or `kill:` step may have
   * ended the first member's).
   */
  private asked(): { name: string } {
    const dead = new Set(this.deadDaemons().map((d) => d.member));
    return this.p.members.find((m) => !dead.has(m.name)) ?? this.p.members[0]!;
  }

  /** The real `incus` client on a live member (in its machine view: incusd's socket and config). */
  private client(argv: string[], timeoutS: number) {
    const h = this.p.host(this.asked().name);
    return (h.machineView?.() ?? h).exec(["incus", ...argv], { timeoutS });
  }

  private async json<T>(argv: string[]): Promise<T> {
    const first = this.asked();
    const r = await this.client([...argv, "--format", "json"], 60);
    if (r.exitCode !== 0) throw new Error(`incus ${argv.join(" ")} on ${first.name}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Reads instances and networks again, attaching new running instances and dropping gone ones. */
  async refresh(): Promise<void> {
    if (!this.p.members.length) return;
    type ListEntry = {
      name: string;
      location: string;
      status: string;
      expanded_devices?: Record<string, Record<string, string>>;
      state?: { pid?: number; network?: Record<string, { addresses?: { family: string; address: string; scope: string }[] }> };
    };
    const [list, nets] = await Promise.all([
      this.json<ListEntry[]>(["list"]),
      this.json<{ name: string; type: string; managed: boolean; config: Record<string, string> }[]>(["network", "list"]),
    ]);
    this.networks.clear();
    for (const n of nets) if (n.managed) this.networks.set(n.name, { name: n.name, type: n.type, config: n.config ?? {} });
    const seen = new Set<string>();
    for (const e of list) {
      const address = Object.entries(e.state?.network ?? {})
        .filter(([dev]) => dev !== "lo")
        .flatMap(([, n]) => n.addresses ?? [])
        .find((a) => a.family === "inet" && a.scope === "global")?.address;
      const networks = Object.values(e.expanded_devices ?? {}).flatMap((d) => (d.type === "nic" && d.network ? [d.network] : []));
      const inst: Instance = {
        name: e.name,
        location: e.location,
        status: e.status,
        pid: e.state?.pid ?? 0,
        networks,
        ...(address ? { address } : {}),
      };
      const before = this.instances.get(e.name);
      this.instances.set(e.name, inst);
      seen.add(e.name);
      if (before && before.pid !== inst.pid && this.p.isAttached(e.name)) await this.p.detach(e.name); // restarted: a new namespace
      if (inst.status === "Running" && inst.pid > 0 && !this.p.isAttached(e.name)) await this.attach(inst);
    }
    for (const name of [...this.instances.keys()]) {
      if (seen.has(name)) continue;
      this.instances.delete(name);
      if (this.p.isAttached(name)) await this.p.detach(name);
    }
  }

  /**
   * An instance on a managed network that hands out IPv4 leases (an `ipv4.address` other than
   * `none`, DHCP not switched off) is expected to get one.
   */
  private expectsLease(i: Instance): boolean {
    return i.networks.some((n) => {
      const c = this.networks.get(n)?.config;
      return !!c && !!c["ipv4.address"] && c["ipv4.address"] !== "none" && c["ipv4.dhcp"] !== "false";
    });
  }

  /**
   * Waits until every running instance that should get a lease has its DHCP client done: an IPv4
   * address, and a resolv.conf that names a server (the client writes it right after the address).
   * Throws a ConvergenceError naming the instances still waiting after `ms`.
   */
  async settle(ms = 15_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const waiting: string[] = [];
      for (const i of this.instances.values()) {
        if (i.status !== "Running" || !this.expectsLease(i)) continue;
        if (!i.address) waiting.push(`instance ${i.name} (on ${i.location}, network ${i.networks.join(", ")}): no IPv4 address`);
        else if (this.p.isAttached(i.name) && !/^nameserver /m.test((await this.p.host(i.name).readFile("/etc/resolv.conf")) ?? ""))
          waiting.push(`instance ${i.name} (on ${i.location}): an address but no nameserver in its resolv.conf`);
      }
      if (!waiting.length) return;
      if (Date.now() - t0 > ms) throw new ConvergenceError(waiting, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
      await this.refresh();
    }
  }

  private async attach(inst: Instance): Promise<void> {
    if (!OBJECT_NAME.test(inst.name) || !this.p.members.some((m) => m.name === inst.location)) {
      this.p.note(
        `instance ${JSON.stringify(inst.name)} on ${JSON.stringify(inst.location)}: not usable by name in expectations (name or member not known to the lab)`,
      );
      return;
    }
    const incusd = this.incusdPid(inst.location);
    if (!incusd) throw new Error(`incusd of ${inst.location} is not running`);
    // The namespace through incusd's /proc (its pid namespace numbers the instance); the root
    // filesystem at its path on this machine (a bind mount takes no source from another mount
    // namespace): the `dir` pool under the member's INCUS_DIR, no symlinks on the way.
    const rootfs = join(incusDir(this.p.host(inst.location).stateDir), "storage-pools", "local", "containers", inst.name, "rootfs");
    await this.p.attach(inst.name, inst.location, `/proc/${incusd}/root/proc/${inst.pid}/ns/net`, join(rootfs, "etc", "resolv.conf"));
  }

  /** A process in a member's incusd namespaces on this machine (their pid 1), whose /proc shows the instances' pids. */
  private incusdPid(member: string): number | undefined {
    return locate(this.p.record.snapshot.processes, member).keeper;
  }

  /** What Incus says of an instance and its last start (`incus info <name> --show-log`), for forensics. */
  async info(name: string): Promise<string> {
    const r = await this.client(["info", name, "--show-log"], 30);
    return `### incus info ${name} --show-log  (exit ${r.exitCode ?? "timeout"})\n${(r.stdout + r.stderr).trimEnd()}\n`;
  }

  /** `<network>:gateway` (its router's address inside) or `<network>:uplink` (on the uplink). */
  refAddress(network: string, what: string): string | undefined {
    const n = this.networks.get(network);
    if (!n) return undefined;
    const v = what === "gateway" ? n.config["ipv4.address"] : what === "uplink" ? n.config["volatile.network.ipv4.address"] : undefined;
    return v?.split("/")[0];
  }
}
