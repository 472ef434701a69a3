import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckResult } from "../expect/check.ts";
import type { LogFinding } from "../logs/types.ts";
import type { StartedLab } from "./started-lab.ts";
import { isIPv4 } from "../model/addresses.ts";
import { OBJECT_NAME } from "../model/names.ts";
import { ovnCentral } from "../stacks/ovs/index.ts";
import { stacksOfNode } from "../stacks/registry.ts";

/**
 * When something fails, what an engineer would collect on each machine before touching anything:
 * addresses, routes, neighbours, the firewall, OVS and OVN state, daemon log tails (OVS/OVN, neutron), and an ovn-trace
 * of each failing flow whose two ends are OVN instances. One text file per node, every daemon log
 * whole (logs/<node>/), the daemon-log records that failed the verdict, whole
 * (daemon-log-records.txt), and the run's events with wall-clock times when given (events.txt);
 * returns the folder.
 */
export async function collectForensics(
  lab: StartedLab,
  failing: readonly CheckResult[],
  dir: string,
  extra: { logFindings?: readonly LogFinding[]; events?: readonly string[] } = {},
): Promise<string> {
  const { logFindings = [], events } = extra;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (events) writeFileSync(join(dir, "events.txt"), `${events.join("\n")}\n`, { mode: 0o600 });
  const records = await wholeRecords(lab, logFindings);
  if (records) writeFileSync(join(dir, "daemon-log-records.txt"), records, { mode: 0o600 });
  const guests = [...(lab.incus ? [...lab.incus.instances.keys()] : []), ...lab.neutron.flatMap((v) => v.guestNames())];
  const nodes = [...lab.lab.nodes.map((n) => n.name), ...guests.filter((g) => lab.guests.has(g))];
  // An instance Incus knows but that is not running (so no guest to look into): what Incus says of it.
  const incus = lab.incus;
  const stopped = incus
    ? [...incus.instances.keys()].filter((g) => !lab.guests.has(g) && OBJECT_NAME.test(g) && !lab.lab.nodes.some((n) => n.name === g))
    : [];
  await Promise.all(stopped.map(async (g) => writeFileSync(join(dir, `${g}.txt`), await incus!.info(g), { mode: 0o600 })));
  await Promise.all(
    nodes.map(async (name) => {
      const spec = lab.lab.nodes.find((n) => n.name === name);
      const cmds = [
        "ip -d addr",
        "ip route",
        "ip neigh",
        // TCP connections with their timers: a connection still retransmitting to a peer that went
        // away (`timer:(on,…)`, `backoff:`) is found dead only at its next retransmission, and the
        // next request on it fails then with `connection reset by peer`.
        "ss -tnoi",
        "sysctl net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv4.conf.all.rp_filter",
        "nft list ruleset",
      ];
      // What each of the node's stacks would show (switch, OVN, neutron's flows and firewall); a router's namespace: its NAT.
      const stacks = spec ? stacksOfNode(spec) : [];
      for (const st of stacks) for (const c of st.forensics?.(spec!) ?? []) if (!cmds.includes(c)) cmds.push(c);
      if (name.startsWith("qrouter-") && !spec) cmds.push("iptables-save");
      const parts: string[] = [];
      for (const c of cmds) {
        const r = await lab.sh(name, c, { timeoutS: 15 });
        parts.push(`### ${c}  (exit ${r.exitCode ?? "timeout"})\n${(r.stdout + r.stderr).trimEnd()}\n`);
      }
      // The tails of the stacks' daemon logs (OVS/OVN, neutron, RabbitMQ, MariaDB) here, and each
      // log whole under logs/<node>/: a flake's cause is often in what another daemon did seconds before.
      for (const st of stacks) {
        const host = lab.host(name);
        for (const [d, lines] of st.forensicLogs?.(host) ?? []) {
          for (const f of (await host.list(d)).filter((x) => x.endsWith(".log"))) {
            const text = (await host.readFile(join(d, f))) ?? "";
            parts.push(`### tail ${f}\n${text.trimEnd().split("\n").slice(-lines).join("\n")}\n`);
            keepWhole(join(dir, "logs", name), f, text);
          }
        }
      }
      writeFileSync(join(dir, `${name}.txt`), parts.join("\n"), { mode: 0o600 });
    }),
  );
  const traces = await ovnTraces(lab, failing);
  if (traces) writeFileSync(join(dir, "ovn-trace.txt"), traces, { mode: 0o600 });
  await flowCaptures(lab, failing, dir);
  return dir;
}

/** The most of one log the bundle keeps (its end): a daemon at debug level can write more in a long run. */
const WHOLE_LOG_MAX = 8 << 20;

function keepWhole(dir: string, file: string, text: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cut =
    text.length > WHOLE_LOG_MAX
      ? `[labwright: the first ${text.length - WHOLE_LOG_MAX} characters left out]\n${text.slice(-WHOLE_LOG_MAX)}`
      : text;
  writeFileSync(join(dir, file), cut, { mode: 0o600 });
}

/**
 * The daemon-log records that failed the verdict, whole: the first line the report shows and the
 * traceback or crash report lines after it (a log tail is too short for RabbitMQ's, and may have
 * moved past them), read again from each daemon's file.
 */
async function wholeRecords(lab: StartedLab, findings: readonly LogFinding[]): Promise<string> {
  const out: string[] = [];
  for (const f of findings) {
    const lines = ((await lab.host(f.node).readFile(f.file)) ?? "").split("\n");
    const k = lines.indexOf(f.line);
    out.push(
      `### ${f.node} ${f.daemon} ${f.file}\n${k >= 0 ? lines.slice(k, k + 1 + f.more).join("\n") : `${f.line}\n(no longer in the file)`}\n`,
    );
  }
  return out.join("\n");
}

/** ovn-trace of an ICMP echo for each failing reach/trace between two OVN instances, run where the SB database is. */
async function ovnTraces(lab: StartedLab, failing: readonly CheckResult[]): Promise<string> {
  const incus = lab.incus;
  const central = ovnCentral(lab.lab);
  if (!incus || !central) return "";
  const out: string[] = [];
  for (const c of failing) {
    const e = c.expectation;
    if (!("from" in e) || !("to" in e)) continue;
    const src = incus.instances.get(e.from);
    if (!src?.address) continue;
    let dst: string;
    try {
      dst = lab.addressOf(e.from, e.to);
    } catch {
      continue;
    }
    if (!isIPv4(dst)) continue;
    // The instance's port, its switch and MACs, as Incus wrote them into the northbound database.
    const nb = async (args: string[]) =>
      (await lab.exec(central.name, ["ovn-nbctl", "--no-leader-only", "--timeout=5", ...args], { timeoutS: 15 })).stdout;
    // Each port's name and every "MAC IP..." string it carries (addresses, or dynamic_addresses for Incus's `dynamic` ports).
    const table = JSON.parse(
      (await nb(["-f", "json", "--columns=name,addresses,dynamic_addresses", "list", "logical_switch_port"])) || "{}",
    ) as { data?: unknown[][] };
    const strings = (v: unknown): string[] => (typeof v === "string" ? [v] : Array.isArray(v) ? v.flatMap(strings) : []);
    const rows = (table.data ?? []).map((r) => ({
      name: String(r[0]),
      macIps: strings(r.slice(1))
        .map((x) => /^([0-9a-f:]{17}) (.*)$/.exec(x))
        .filter((m) => m !== null),
    }));
    const portOf = (ip: string) => {
      for (const r of rows) for (const m of r.macIps) if (m[2]!.split(" ").includes(ip)) return [r.name, r.name, m[1]!] as const;
      return undefined;
    };
    const sp = portOf(src.address);
    if (!sp) continue;
    const ls = /\((.+)\)/.exec(await nb(["lsp-get-ls", sp[1]!]))?.[1];
    if (!ls) continue;
    const routerMacs = (await nb(["-f", "csv", "--no-headings", "--columns=mac,networks", "list", "logical_router_port"])).split("\n");
    const prefix = src.address.split(".").slice(0, 3).join(".") + ".";
    const ethDst = portOf(dst)?.[2] ?? /"?([0-9a-f:]{17})"?/.exec(routerMacs.find((l) => l.includes(prefix)) ?? "")?.[1];
    if (!ethDst) continue;
    const flow = `inport == "${sp[1]}" && eth.src == ${sp[2]} && eth.dst == ${ethDst} && ip4.src == ${src.address} && ip4.dst == ${dst} && ip.ttl == 64 && icmp4.type == 8`;
    const r = await lab.exec(central.name, ["ovn-trace", "--no-leader-only", "--minimal", ls, flow], { timeoutS: 15 });
    out.push(`### ${c.description}\n### ovn-trace --minimal ${ls} '${flow}'  (exit ${r.exitCode})\n${(r.stdout + r.stderr).trimEnd()}\n`);
  }
  return out.join("\n");
}

/**
 * A short pcap of each failing flow (reach, no_reach, tcp, trace: up to 4), taken on the source node
 * while the probe runs again: what left the node and what came back. Written in the node (its own
 * directory) and copied here, so it works for namespaces and containers alike.
 */
async function flowCaptures(lab: StartedLab, failing: readonly CheckResult[], dir: string): Promise<void> {
  let k = 0;
  for (const c of failing) {
    const e = c.expectation;
    if (k >= 4 || !("from" in e) || !("to" in e) || !lab.host(e.from).local) continue;
    let dest: string;
    try {
      dest = lab.addressOf(e.from, e.to);
    } catch {
      continue;
    }
    if (!isIPv4(dest)) continue;
    const host = lab.host(e.from);
    const name = `flow-${++k}-${e.from}-to-${dest}.pcap`;
    const inNode = join(host.stateDir, name);
    // --immediate-mode: packets go to the file as they come (not a second later, when tcpdump may be gone).
    const cap = host.spawn(
      "tcpdump",
      ["tcpdump", "-n", "-i", "any", "-c", "200", "-U", "--immediate-mode", "-w", inNode, "--", `host ${dest}`],
      { log: `${inNode}.log` },
    );
    const ready = Date.now() + 5000;
    while (!((await host.readFile(`${inNode}.log`)) ?? "").includes("listening on") && Date.now() < ready)
      await new Promise((r) => setTimeout(r, 20));
    await (e.kind === "tcp" ? lab.tcp(e.from, e.to, e.port, 1000) : lab.ping(e.from, e.to, { count: 2, waitS: 1 }));
    await new Promise((r) => setTimeout(r, 200));
    host.signal(cap, "SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    // A local host's own directory is the same path on this machine (bind-mounted into containers).
    if (await host.exists(inNode)) copyFileSync(inNode, join(dir, name));
  }
}
