import type { ProbeTarget } from "./target.ts";
import { isIPv4 } from "../model/addresses.ts";
import type { Expectation } from "../model/schema.ts";
import type { Located } from "../model/types.ts";
import type { LinkState } from "../probes/link.ts";
import type { PingResult } from "../probes/ping.ts";
import type { HttpResult, ResolveResult, TcpResult } from "../probes/sockets.ts";
import type { TraceResult } from "../probes/traceroute.ts";
import { recoveryAfter, type WatchResult } from "../probes/watch.ts";
import { linkNotes, pathNotes } from "./diagnose.ts";
import type { AppArmorState, FileState, PackageState, SysctlState, UnitState } from "../probes/host-state.ts";
import {
  type CommandMeasure,
  describe,
  judgeAppArmor,
  judgeCommand,
  judgeFile,
  judgePackage,
  judgeSysctl,
  judgeUnit,
  judgeWatch,
  judgeHttp,
  judgeLink,
  judgeNoReach,
  judgeReach,
  judgeResolve,
  judgeTcp,
  judgeTrace,
  type ReachMeasure,
  type Verdict,
} from "./judge.ts";

export type Measurement =
  | CommandMeasure
  | ReachMeasure
  | PingResult
  | LinkState
  | TraceResult
  | TcpResult
  | HttpResult
  | ResolveResult
  | FileState
  | UnitState
  | AppArmorState
  | PackageState
  | SysctlState
  | WatchResult;

export interface CheckResult {
  expectation: Located<Expectation> | Expectation;
  description: string;
  ok: boolean;
  reasons: string[];
  /** The measured values, in a short line: TTL, RTT, loss, hops, ... */
  measured: string;
  measurement: Measurement;
  /** Plain-language explanations of what the probes found (e.g. an address on a bridge port). */
  notes: string[];
  attempts: number;
  durationMs: number;
}

/** Probes what an expectation is about, then judges it. With `within`, re-probes until it holds or time is up. */
export async function runCheck(lab: ProbeTarget, e: Located<Expectation> | Expectation): Promise<CheckResult> {
  const t0 = performance.now();
  const within = "within" in e && e.within !== undefined ? e.within * 1000 : 0;
  let attempts = 0;
  for (;;) {
    attempts++;
    const [measurement, v] = await probeAndJudge(lab, e);
    const timeLeft = within - (performance.now() - t0);
    if (v.ok || timeLeft <= 0) {
      return {
        expectation: e,
        description: describe(e),
        ok: v.ok,
        reasons: v.reasons,
        measured: summarize(measurement),
        measurement,
        notes: await notesFor(lab, e, measurement),
        attempts,
        durationMs: performance.now() - t0,
      };
    }
    await new Promise((r) => setTimeout(r, Math.min(200, timeLeft)));
  }
}

async function probeAndJudge(lab: ProbeTarget, e: Expectation): Promise<[Measurement, Verdict]> {
  switch (e.kind) {
    case "reach": {
      let m: ReachMeasure;
      if (e.source !== undefined) {
        let dest = lab.addressOf(e.from, e.to);
        let resolved: ResolveResult | undefined;
        if (!isIPv4(dest)) {
          // A name: the capture runs on the node that owns the address it resolves to, so a name that
          // does not resolve now (a DNS answer lost, no resolver yet) or resolves outside the lab fails the check.
          resolved = await lab.resolve(e.from, dest);
          if (!resolved.addresses[0])
            return [
              resolved,
              {
                ok: false,
                reasons: [
                  `${e.from} could not resolve ${dest} (${resolved.error ?? "no address"}), so there is no node to see the source on`,
                ],
              },
            ];
          dest = resolved.addresses[0];
        }
        const owner = lab.lab.nodes.some((n) => n.name === e.to) ? e.to : lab.ownerOf(dest);
        if (!owner && resolved)
          return [
            resolved,
            { ok: false, reasons: [`${e.to} resolves to ${dest}, which no lab node holds: the source can only be seen on a lab node`] },
          ];
        if (!owner) throw new Error(`reach.source needs a destination that is a lab node or one of its addresses (got ${e.to})`);
        const cap = await lab.capture(owner, "icmp and icmp[icmptype] == icmp-echo");
        const p = await lab.ping(e.from, e.to, { count: e.count, source: e.dev });
        m = { ...p, sources: await cap.stop() };
      } else m = await lab.ping(e.from, e.to, { count: e.count, source: e.dev });
      return [m, judgeReach(e.source && !isIPv4(e.source) ? { ...e, source: lab.addressOf(e.from, e.source) } : e, m)];
    }
    case "no_reach": {
      const m = await lab.ping(e.from, e.to, { count: e.count, source: e.dev });
      return [m, judgeNoReach(m)];
    }
    case "link": {
      const m = await lab.link(e.node, e.dev);
      return [m, judgeLink(e, m)];
    }
    case "trace": {
      const m = await lab.trace(e.from, e.to, e.max_hops);
      return [m, judgeTrace({ ...e, hops: e.hops.map((h) => (h === "*" ? h : lab.addressOf(e.from, h))) }, m)];
    }
    case "tcp": {
      const m = await lab.tcp(e.from, e.to, e.port);
      return [m, judgeTcp(e, m)];
    }
    case "http": {
      const m = await lab.http(e.from, e.url);
      return [m, judgeHttp(e, m)];
    }
    case "resolve": {
      const m = await lab.resolve(e.on, e.name);
      return [m, judgeResolve(e, m)];
    }
    case "command": {
      const r = await lab.sh(e.on, e.run, { timeoutS: 30 });
      const m: CommandMeasure = { kind: "command", exitCode: r.exitCode, output: (r.stdout + r.stderr).trim() };
      return [m, judgeCommand(e, m)];
    }
    case "file": {
      const m = await lab.file(e.on, e.path);
      return [m, judgeFile(e, m)];
    }
    case "unit": {
      const m = await lab.unit(e.on, e.name);
      return [m, judgeUnit(e, m)];
    }
    case "apparmor": {
      const m = await lab.apparmor(e.on, e.profile);
      return [m, judgeAppArmor(e, m)];
    }
    case "package": {
      const m = await lab.package(e.on, e.name);
      return [m, judgePackage(e, m)];
    }
    case "sysctl": {
      const m = await lab.sysctl(e.on, e.key);
      return [m, judgeSysctl(e, m)];
    }
    case "outage":
    case "no_loss":
    case "lost":
    case "recovers": {
      const found = await lab.watch(e.watch);
      const w = found && e.kind === "recovers" ? { ...found, recovery: { after: e.after, ...recoveryAfter(found, e.after) } } : found;
      const m: Measurement = w ?? { kind: "command", exitCode: null, output: `no step started watch ${e.watch}` };
      return [m, judgeWatch(e, w)];
    }
  }
}

async function notesFor(lab: ProbeTarget, e: Expectation, m: Measurement): Promise<string[]> {
  if (m.kind === "link") return linkNotes(e.kind === "link" ? e.node : "", [m]);
  const unreachable = (m.kind === "ping" && m.received === 0) || (m.kind === "tcp" && !m.open) || (m.kind === "trace" && !m.reached);
  if (unreachable && "from" in e && "to" in e) return pathNotes(lab, e.from, e.to);
  return [];
}

const ms = (x: number) => `${x < 10 ? x.toFixed(3) : x.toFixed(1)} ms`;
const whole = (x: number) => `${Math.round(x)} ms`;

/** A short line with the measured values. */
export function summarize(m: Measurement): string {
  switch (m.kind) {
    case "ping": {
      const ttls = [...new Set(m.replies.map((r) => r.ttl))].join("/");
      const base = `${m.received}/${m.transmitted} replies, loss ${m.lossPct}%`;
      const r = m.rtt;
      const dist =
        r && m.received >= 10
          ? `RTT min ${ms(r.min)} p50 ${ms(r.p50)} p95 ${ms(r.p95)} max ${ms(r.max)}`
          : r
            ? `RTT avg ${ms(r.avg)} p95 ${ms(r.p95)}`
            : "";
      const extra = m.received ? `, TTL ${ttls}, ${dist}` : m.errors.length ? ` (${m.errors[0]})` : "";
      const src = "sources" in m && m.sources ? `, source seen ${[...new Set(m.sources)].join("/") || "none"}` : "";
      return base + extra + src;
    }
    case "link":
      return m.exists
        ? `admin ${m.admin}, oper ${m.oper}, ${m.carrier ? "carrier" : "no carrier"}, master ${m.master ?? "none"}, ${m.addresses.join(", ") || "no address"}`
        : "no such device";
    case "trace":
      return m.error ?? m.hops.map((h) => h.address ?? "*").join(" → ");
    case "tcp":
      return m.open ? `connected in ${ms(m.ms)}` : `not connected: ${m.error ?? "closed"}`;
    case "http":
      return m.status !== undefined ? `HTTP ${m.status} in ${ms(m.ms)}, ${m.body?.length ?? 0} bytes` : `no response: ${m.error}`;
    case "resolve":
      return m.addresses.length ? `${m.addresses.join(", ")} in ${ms(m.ms)}` : `not resolved: ${m.error}`;
    case "command":
      return `exit ${m.exitCode ?? "killed"}: ${m.output.split("\n").slice(0, 3).join(" | ").slice(0, 200) || "(no output)"}`;
    case "file":
      return m.exists
        ? `${m.content!.length} bytes: ${m.content!.trim().split("\n").slice(0, 3).join(" | ").slice(0, 160)}`
        : "no such file";
    case "unit":
      return `${m.state ?? "no systemd running"}; ExecStart ${m.execStart.join(" then ") || "(none)"}; from ${m.files.join(", ") || "no unit file"}`;
    case "apparmor":
      return m.loaded === null ? "no AppArmor in this kernel" : m.loaded ? `loaded (${m.mode})` : "not loaded";
    case "package":
      return m.installed ? `installed ${m.version}` : `not installed${m.error ? ` (${m.error})` : ""}`;
    case "sysctl":
      return m.value ?? `unreadable: ${m.error}`;
    case "watch": {
      const o = m.longest;
      const outage = o
        ? `; longest outage ${whole(o.durationMs)} from +${whole(o.startMs)}${o.duringStep ? ` (${whole(o.sinceStepMs!)} after "${o.duringStep}" started)` : ""}${o.recovered ? "" : ", never recovered"}`
        : "";
      const rec = m.recovery
        ? m.recovery.ms !== undefined
          ? `; replies again ${whole(m.recovery.ms)} after "${m.recovery.after}" started`
          : `; ${m.recovery.why}`
        : "";
      return `${m.sent} sent every ${m.intervalMs} ms, ${m.received} answered, ${m.lost} lost${outage}${rec}`;
    }
  }
}
