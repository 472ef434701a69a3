import type { Lab } from "../../model/types.ts";
import { PreflightError } from "../../run/preflight.ts";
import type { RunRecord, RunState } from "../../run/state.ts";
import type { Backend, Nodes } from "../backend.ts";
import type { Host } from "../host.ts";
import { Connections } from "./connection.ts";
import { type Inventory, loadInventory } from "./inventory.ts";
import { SshHost } from "./host.ts";

/** Which Debian package gives each tool a real host needs for the lab's expectations. */
const TOOLS: Record<string, string> = {
  bash: "bash",
  ping: "iputils-ping",
  traceroute: "traceroute",
  getent: "libc-bin",
  ip: "iproute2",
  timeout: "coreutils",
  curl: "curl",
  sysctl: "procps",
  "dpkg-query": "dpkg",
  systemctl: "systemd",
};

/** The tools a lab's expectations use on a real host. */
export function remoteTools(lab: Lab): string[] {
  const kinds = new Set(
    lab.scenarios.flatMap((s) => [...s.expect, ...s.steps.flatMap((st) => (st.kind === "check" ? st.checks : []))]).map((e) => e.kind),
  );
  const tools = new Set(["timeout", "ip"]);
  if (kinds.has("reach") || kinds.has("no_reach")) tools.add("ping");
  if (kinds.has("trace")) tools.add("traceroute");
  if (kinds.has("resolve")) tools.add("getent");
  if (kinds.has("tcp")) tools.add("bash");
  if (kinds.has("http")) tools.add("curl");
  if (kinds.has("sysctl")) tools.add("sysctl");
  if (kinds.has("package")) tools.add("dpkg-query");
  if (kinds.has("unit")) tools.add("systemctl");
  return [...tools];
}

/**
 * Real machines over SSH: every lab node is an inventory host. Nothing is built; `up` connects to
 * each host (host keys checked), and checks that the tools the expectations need are there.
 */
export class SshBackend implements Backend {
  readonly name = "ssh";
  readonly builds = false;
  readonly inventory: Inventory;
  private readonly conns: Connections;

  constructor(inventoryFile: string) {
    this.inventory = loadInventory(inventoryFile);
    this.conns = new Connections(this.inventory);
  }

  /** The inventory host of a node. */
  hostOf(node: string): SshHost {
    const entry = this.inventory.hosts.get(node);
    if (!entry) throw new PreflightError(`node ${node} is not in the inventory ${this.inventory.file}`);
    return new SshHost(node, entry, this.conns);
  }

  async preflight(lab: Lab): Promise<void> {
    const missing = lab.nodes.filter((n) => !this.inventory.hosts.has(n.name)).map((n) => n.name);
    if (missing.length)
      throw new PreflightError(`${this.inventory.file} maps no host to node(s) ${missing.join(", ")}: add them under hosts:`);
    const tools = remoteTools(lab);
    const problems = await Promise.all(
      lab.nodes.map(async (n) => {
        const h = this.hostOf(n.name);
        const r = await h.exec(["sh", "-c", 'for t in "$@"; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done', "sh", ...tools], {
          timeoutS: 20,
        });
        if (r.exitCode === null && !r.timedOut) return `${n.name}: ${r.stderr.trim()}`;
        if (r.exitCode !== 0) return `${n.name}: checking tools failed: ${(r.stderr || r.stdout).trim()}`;
        const lacks = r.stdout.split("\n").filter(Boolean);
        return lacks.length
          ? `${n.name}: missing ${lacks.join(", ")} (install: apt-get install ${[...new Set(lacks.map((t) => TOOLS[t] ?? t))].join(" ")})`
          : null;
      }),
    );
    const bad = problems.filter((p): p is string => p !== null);
    if (bad.length) {
      await this.close();
      throw new PreflightError(`real hosts not ready (nothing was run):\n  ${bad.join("\n  ")}`);
    }
  }

  async up(rec: RunRecord, lab: Lab): Promise<Nodes> {
    rec.update((s) => lab.nodes.forEach((n) => (s.nodes[n.name] = { namespace: "" })));
    return { hosts: new Map<string, Host>(lab.nodes.map((n) => [n.name, this.hostOf(n.name)])) };
  }

  async guest(): Promise<Host> {
    throw new Error("real hosts have no guests: instances and servers are reached by their addresses");
  }

  attach(_state: Readonly<RunState>, node: string): Host {
    return this.hostOf(node);
  }

  async close(): Promise<void> {
    await this.conns.closeAll();
  }
}
