import type { Host } from "../backends/host.ts";
import { fabricPort } from "../fabric/wiring.ts";
import type { Lab } from "../model/types.ts";
import { isAlive } from "../run/process.ts";
import type { RunRecord } from "../run/state.ts";
import type { CommandResult } from "../run/exec.ts";

/**
 * Faults labwright makes on purpose, as steps. A cable pull sets the LAN side of the node's link
 * down in the fabric: the node's interface keeps its state and addresses but loses carrier, as
 * when a cable is pulled; plugging it back sets it up again. A kill sends SIGKILL to a daemon
 * labwright started in that node (by the pid and start time it recorded, never by name in the
 * process table): the crash of that daemon. Nothing to undo at teardown: the fabric and the node's
 * daemons go with the run.
 */
export interface FaultContext {
  readonly lab: Lab;
  readonly record: RunRecord;
  /** The fabric (where the LAN bridges are); absent on real hosts. */
  readonly fabric?: Host;
}

/** A labwright action's outcome, as a command's result (the step runner judges it like any command). */
export const result = (argv: string[], exitCode: number, stdout: string, stderr: string): CommandResult => ({
  argv,
  exitCode,
  signal: null,
  stdout,
  stderr,
  timedOut: false,
  durationMs: 0,
});
const done = (stdout: string) => result(["labwright"], 0, stdout, "");
const refused = (stderr: string) => result(["labwright"], 1, "", stderr);

export async function cable(ctx: FaultContext, node: string, dev: string, plugged: boolean): Promise<CommandResult> {
  if (!ctx.fabric) return refused("labwright pulls cables only in labs it builds (namespaces, containers), not on real hosts");
  const ni = ctx.lab.nodes.findIndex((n) => n.name === node);
  const ii = ni < 0 ? -1 : ctx.lab.nodes[ni]!.interfaces.findIndex((i) => i.name === dev);
  if (ii < 0) return refused(`${node} has no interface ${dev}`);
  const port = fabricPort(ni, ii);
  const r = await ctx.fabric.exec(["ip", "link", "set", port, plugged ? "up" : "down"], { timeoutS: 10 });
  if (r.exitCode !== 0) return refused(`setting the LAN side of ${node}'s ${dev} ${plugged ? "up" : "down"}: ${r.stderr.trim()}`);
  return done(
    plugged ? `${node} ${dev}: cable plugged back in (LAN side up)\n` : `${node} ${dev}: cable pulled (LAN side down, no carrier)\n`,
  );
}

export function kill(ctx: FaultContext, node: string, daemon: string): CommandResult {
  const mine = ctx.record.snapshot.processes.filter((p) => p.node === node);
  const alive = mine.filter((p) => p.name === daemon && isAlive(p));
  if (alive.length === 0) {
    const names = [...new Set(mine.filter((p) => isAlive(p)).map((p) => p.name))].sort();
    return refused(
      mine.some((p) => p.name === daemon)
        ? `${daemon} on ${node} is not running any more`
        : `labwright started no daemon "${daemon}" on ${node}; running there: ${names.join(", ") || "none"}`,
    );
  }
  for (const p of alive) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* it exited meanwhile */
    }
  }
  return done(`${daemon} on ${node}: killed (SIGKILL, pid ${alive.map((p) => p.pid).join(", ")})\n`);
}

/**
 * A daemon restarted as its service manager restarts it. The stack that started the daemon knows
 * its command line and when it is ready again: neutron's daemons on a kolla node (as kolla restarts
 * its containers; here), OVS/OVN daemons (as their systemd units; stacks/ovs/restart.ts, called by
 * the started lab); anything else is refused, naming what can be.
 */
export async function restart(
  kolla: { restart(d: string): Promise<{ exitCode: number; stdout: string; stderr: string }> } | undefined,
  node: string,
  daemon: string,
): Promise<CommandResult> {
  if (!kolla)
    return refused(
      `labwright restarts neutron's daemons on a kolla node, incusd on an Incus member, and ovn-controller, ovs-vswitchd and ovn-northd where a node runs them; not ${daemon} on ${node} (kill: ends any daemon labwright started, a crash: the whole node)`,
    );
  const r = await kolla.restart(daemon);
  return result(["labwright"], r.exitCode, r.stdout, r.stderr);
}

/**
 * A node crash, as when a machine loses power: every one of its cables pulled first, then every
 * live process labwright started in the node killed at once (SIGKILL; incusd's pid namespace takes
 * its instances with it). In that order because a killed process's sockets are closed by the
 * node's kernel, which would send a FIN or RST to every peer: with the cables still in, the other
 * members' ovn-controller saw the southbound connection "closed by peer" at once, marked its
 * engine for a full recompute it cannot run without the southbound database, and never took the
 * gateway over (one run in two, measured); after a power loss the peers hear nothing and notice
 * the loss by their own probes. The node stays down until a `boot:` step.
 */
export async function crash(ctx: FaultContext, node: string): Promise<CommandResult> {
  const spec = ctx.lab.nodes.find((n) => n.name === node);
  const out: string[] = [];
  for (const i of spec?.interfaces ?? []) {
    const r = await cable(ctx, node, i.name, false);
    if (r.exitCode !== 0) return refused(`${out.join("\n")}\n${r.stderr}`);
    out.push(r.stdout.trim());
  }
  const alive = ctx.record.snapshot.processes.filter((p) => p.node === node && isAlive(p));
  for (const p of alive) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* it exited meanwhile */
    }
  }
  out.push(`${node}: ${alive.length} process(es) killed (${[...new Set(alive.map((p) => p.name))].join(", ") || "none"})`);
  return done(out.join("\n") + "\n");
}

/**
 * Impairments and partitions, kept here and written as one nftables table in the fabric (bridge
 * family, forward hook): the LAN bridges drop what an impaired interface sends at random, hold it to
 * a rate, or drop every frame between two sets of nodes. Each step rewrites the whole table, so the
 * rules always say exactly what the steps asked for; the table goes with the fabric at teardown.
 */
export class FabricFaults {
  private readonly impaired = new Map<string, { node: string; dev: string; loss: number; rateKbit?: number }>();
  private readonly partitions: (readonly [readonly string[], readonly string[]])[] = [];

  constructor(private readonly ctx: FaultContext) {}

  private port(node: string, dev: string): string | undefined {
    const ni = this.ctx.lab.nodes.findIndex((n) => n.name === node);
    const ii = ni < 0 ? -1 : this.ctx.lab.nodes[ni]!.interfaces.findIndex((i) => i.name === dev);
    return ii < 0 ? undefined : fabricPort(ni, ii);
  }

  /** The fabric ends of every interface of `node`, with their LAN. */
  private ports(node: string): { port: string; lan: string }[] {
    const ni = this.ctx.lab.nodes.findIndex((n) => n.name === node);
    return ni < 0 ? [] : this.ctx.lab.nodes[ni]!.interfaces.map((i, ii) => ({ port: fabricPort(ni, ii), lan: i.lan }));
  }

  async impair(node: string, dev: string, loss: number, rateKbit?: number): Promise<CommandResult> {
    const port = this.port(node, dev);
    if (!port) return refused(`${node} has no interface ${dev}`);
    if (!loss && !rateKbit) this.impaired.delete(port);
    else this.impaired.set(port, { node, dev, loss, rateKbit });
    const r = await this.apply();
    if (r) return r;
    return done(
      loss || rateKbit
        ? `${node} ${dev}: what it sends ${[loss ? `loses ${loss}%` : "", rateKbit ? `is held to ${rateKbit} kbit/s` : ""].filter(Boolean).join(" and ")}\n`
        : `${node} ${dev}: no impairment\n`,
    );
  }

  async partition(sides: readonly [readonly string[], readonly string[]]): Promise<CommandResult> {
    this.partitions.push(sides);
    const r = await this.apply();
    return r ?? done(`partitioned: ${sides[0].join(", ")} | ${sides[1].join(", ")}\n`);
  }

  async heal(): Promise<CommandResult> {
    this.partitions.length = 0;
    const r = await this.apply();
    return r ?? done("every partition healed\n");
  }

  /** Writes the table; returns a failed result, or undefined when it was written. */
  private async apply(): Promise<CommandResult | undefined> {
    if (!this.ctx.fabric) return refused("labwright impairs and partitions only labs it builds (namespaces, containers), not real hosts");
    const rules: string[] = [];
    for (const [port, i] of this.impaired) {
      if (i.loss) rules.push(`iifname "${port}" numgen random mod 10000 < ${Math.round(i.loss * 100)} drop`);
      if (i.rateKbit) rules.push(`iifname "${port}" limit rate over ${Math.round((i.rateKbit * 1000) / 8)} bytes/second drop`);
    }
    for (const [a, b] of this.partitions) {
      const pa = a.flatMap((n) => this.ports(n));
      const pb = b.flatMap((n) => this.ports(n));
      for (const lan of new Set(pa.map((p) => p.lan))) {
        const x = pa.filter((p) => p.lan === lan).map((p) => `"${p.port}"`);
        const y = pb.filter((p) => p.lan === lan).map((p) => `"${p.port}"`);
        if (!x.length || !y.length) continue;
        rules.push(
          `iifname { ${x.join(", ")} } oifname { ${y.join(", ")} } drop`,
          `iifname { ${y.join(", ")} } oifname { ${x.join(", ")} } drop`,
        );
      }
    }
    const text = [
      "table bridge labwright_faults {}",
      "delete table bridge labwright_faults",
      "table bridge labwright_faults {",
      "  chain forward {",
      "    type filter hook forward priority 0; policy accept;",
      ...rules.map((r) => `    ${r}`),
      "  }",
      "}",
      "",
    ].join("\n");
    const r = await this.ctx.fabric.exec(["nft", "-f", "-"], { timeoutS: 10, input: text });
    return r.exitCode === 0 ? undefined : refused(`nft in the fabric: ${r.stderr.trim()}`);
  }
}
