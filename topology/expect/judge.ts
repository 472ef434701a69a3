import type { Expectation, ExpectationOf } from "../model/schema.ts";
import type { LinkState } from "../probes/link.ts";
import type { PingResult } from "../probes/ping.ts";
import type { HttpResult, ResolveResult, TcpResult } from "../probes/sockets.ts";
import type { TraceResult } from "../probes/traceroute.ts";
import { recoveryAfter, type WatchResult } from "../probes/watch.ts";
import type { AppArmorState, FileState, PackageState, SysctlState, UnitState } from "../probes/host-state.ts";

/** Pure judgements over measurements: no probing here. `reasons` says why it failed (empty when it holds). */
export interface Verdict {
  ok: boolean;
  reasons: string[];
}

const verdict = (reasons: string[]): Verdict => ({ ok: reasons.length === 0, reasons });

export type ReachMeasure = PingResult & { sources?: string[] };

export function judgeReach(e: Omit<ExpectationOf<"reach">, "kind" | "from" | "to" | "count">, m: ReachMeasure): Verdict {
  const r: string[] = [];
  if (m.received === 0) {
    r.push(`no reply to ${m.transmitted} echo requests${m.errors.length ? ` (${m.errors.join("; ")})` : ""}`);
    return verdict(r);
  }
  if (e.loss !== undefined && m.lossPct > e.loss) r.push(`loss ${m.lossPct}% > ${e.loss}%`);
  if (e.ttl !== undefined) {
    const bad = [...new Set(m.replies.map((x) => x.ttl).filter((t) => t !== e.ttl))];
    if (bad.length) r.push(`reply TTL ${bad.join("/")}, expected ${e.ttl}`);
  }
  if (e.rtt_ms && m.rtt) {
    for (const [k, bound] of Object.entries(e.rtt_ms) as [keyof typeof m.rtt, number | undefined][]) {
      if (bound !== undefined && m.rtt[k] > bound) r.push(`RTT ${k} ${m.rtt[k]} ms > ${bound} ms`);
    }
  }
  if (e.source !== undefined) {
    const seen = [...new Set(m.sources ?? [])];
    if (seen.length === 0) r.push(`the destination captured no echo request (expected source ${e.source})`);
    else if (seen.some((s) => s !== e.source)) r.push(`the destination saw source ${seen.join(", ")}, expected ${e.source}`);
  }
  return verdict(r);
}

export function judgeNoReach(m: PingResult): Verdict {
  if (m.received === 0) return verdict([]);
  const ttls = [...new Set(m.replies.map((x) => x.ttl))].join("/");
  return verdict([`${m.received}/${m.transmitted} replies (TTL ${ttls}) — expected none`]);
}

export function judgeLink(e: Omit<ExpectationOf<"link">, "kind" | "node" | "dev">, m: LinkState): Verdict {
  if (!m.exists) return verdict([`${m.dev} does not exist`]);
  const r: string[] = [];
  if (e.admin !== undefined && m.admin !== e.admin) r.push(`admin state ${m.admin}, expected ${e.admin}`);
  if (e.oper !== undefined && m.oper !== e.oper) r.push(`operational state ${m.oper}, expected ${e.oper}`);
  if (e.carrier !== undefined && m.carrier !== e.carrier)
    r.push(`carrier ${m.carrier ? "present" : "absent"}, expected ${e.carrier ? "present" : "absent"}`);
  if (e.master !== undefined && (m.master ?? null) !== e.master) r.push(`master ${m.master ?? "none"}, expected ${e.master ?? "none"}`);
  if (e.address === null && m.addresses.length) r.push(`has address ${m.addresses.join(", ")}, expected none`);
  if (typeof e.address === "string" && !m.addresses.includes(e.address))
    r.push(`addresses ${m.addresses.join(", ") || "none"}, expected ${e.address}`);
  return verdict(r);
}

export function judgeTrace(e: Pick<ExpectationOf<"trace">, "hops">, m: TraceResult): Verdict {
  if (m.error) return verdict([m.error]);
  const got = m.hops.map((h) => h.address ?? "*");
  const same = got.length === e.hops.length && e.hops.every((h, i) => h === got[i]);
  return verdict(same ? [] : [`hops ${got.join(" → ")}, expected ${e.hops.join(" → ")}`]);
}

export function judgeTcp(e: Pick<ExpectationOf<"tcp">, "open" | "port">, m: TcpResult): Verdict {
  if (m.open === e.open) return verdict([]);
  return verdict([
    e.open
      ? `port ${e.port} not reachable (${m.error ?? "closed"})`
      : `port ${e.port} accepted a connection, expected it closed or unreachable`,
  ]);
}

export function judgeHttp(e: Pick<ExpectationOf<"http">, "status" | "contains">, m: HttpResult): Verdict {
  if (m.status === undefined) return verdict([`no HTTP response (${m.error ?? "unknown error"})`]);
  const r: string[] = [];
  if (m.status !== e.status) r.push(`status ${m.status}, expected ${e.status}`);
  if (e.contains !== undefined && !(m.body ?? "").includes(e.contains)) r.push(`body does not contain "${e.contains}"`);
  return verdict(r);
}

export function judgeResolve(e: Pick<ExpectationOf<"resolve">, "addresses">, m: ResolveResult): Verdict {
  if (m.addresses.length === 0) return verdict([`did not resolve (${m.error ?? "no address"})`]);
  if (!e.addresses) return verdict([]);
  const want = [...e.addresses].sort().join(", ");
  const got = [...m.addresses].sort().join(", ");
  return verdict(want === got ? [] : [`resolved to ${got}, expected ${want}`]);
}

export interface CommandMeasure {
  kind: "command";
  exitCode: number | null;
  output: string;
}

export function judgeCommand(e: Pick<ExpectationOf<"command">, "exit" | "output" | "equals">, m: CommandMeasure): Verdict {
  const r: string[] = [];
  if (e.equals !== undefined && m.output !== e.equals) r.push(`output is "${m.output.slice(0, 200)}", expected exactly "${e.equals}"`);
  if (m.exitCode !== e.exit) r.push(`exit status ${m.exitCode ?? "none (killed)"}, expected ${e.exit}`);
  if (e.output !== undefined && !m.output.includes(e.output)) r.push(`output does not contain "${e.output}"`);
  return verdict(r);
}

/** One line a person reads: what is expected. */
export function describe(e: Expectation): string {
  switch (e.kind) {
    case "reach":
      return `${e.from}${e.dev ? ` (${e.dev})` : ""} → ${e.to} reachable${e.ttl !== undefined ? `, TTL ${e.ttl}` : ""}${e.loss !== undefined ? `, loss ≤ ${e.loss}%` : ""}${e.source ? `, seen from ${e.source}` : ""}`;
    case "no_reach":
      return `${e.from}${e.dev ? ` (${e.dev})` : ""} → ${e.to} unreachable`;
    case "link": {
      const parts = [
        e.admin && `admin ${e.admin}`,
        e.oper && `oper ${e.oper}`,
        e.carrier !== undefined && (e.carrier ? "carrier" : "no carrier"),
        e.master !== undefined && `master ${e.master ?? "none"}`,
        e.address !== undefined && `address ${e.address ?? "none"}`,
      ].filter(Boolean);
      return `${e.node} ${e.dev}: ${parts.join(", ")}`;
    }
    case "trace":
      return `traceroute ${e.from} → ${e.to}: ${e.hops.join(" → ")}`;
    case "tcp":
      return `${e.from} → ${e.to}:${e.port}/tcp ${e.open ? "open" : "closed or unreachable"}`;
    case "http":
      return `${e.from} GET ${e.url} → ${e.status}${e.contains ? ` containing "${e.contains}"` : ""}`;
    case "resolve":
      return `${e.on} resolves ${e.name}${e.addresses ? ` to ${e.addresses.join(", ")}` : ""}`;
    case "command":
      return `${e.on}$ ${e.run} → exit ${e.exit}${e.output !== undefined ? `, prints "${e.output}"` : ""}${e.equals !== undefined ? `, output exactly "${e.equals}"` : ""}`;
    case "file":
      return `${e.on}: ${e.path} ${e.exists ? "exists" : "does not exist"}${e.contains !== undefined ? `, contains "${e.contains}"` : ""}${e.equals !== undefined ? `, equals "${e.equals}"` : ""}`;
    case "unit":
      return `${e.on}: ${e.name}${e.state ? ` ${e.state}` : ""}${e.exec_start !== undefined ? `, ExecStart ${e.exec_start}` : ""}`;
    case "apparmor":
      return `${e.on}: AppArmor profile ${e.profile} ${e.loaded ? "loaded" : "not loaded"}`;
    case "package":
      return `${e.on}: package ${e.name} ${e.installed ? `installed${e.version ? ` at ${e.version}` : ""}` : "not installed"}`;
    case "sysctl":
      return `${e.on}: ${e.key} = ${e.value}`;
    case "outage":
      return `watch ${e.watch}: longest outage ${[e.min_ms !== undefined && `≥ ${e.min_ms} ms`, e.max_ms !== undefined && `≤ ${e.max_ms} ms`].filter(Boolean).join(" and ")}`;
    case "no_loss":
      return `watch ${e.watch}: no probe lost`;
    case "lost":
      return `watch ${e.watch}: at most ${e.max} probe${e.max === 1 ? "" : "s"} lost`;
    case "recovers":
      return `watch ${e.watch}: replies again within ${e.within_ms} ms of step "${e.after}"`;
  }
}

const ms = (x: number) => `${Math.round(x)} ms`;

/** The judgements over a watch's figures (`outage`, `no_loss`, `lost`, `recovers`). */
export function judgeWatch(
  e: Extract<Expectation, { kind: "outage" | "no_loss" | "lost" | "recovers" }>,
  w: WatchResult | undefined,
): Verdict {
  if (!w) return verdict([`no step started watch ${e.watch}`]);
  if (w.received === 0)
    return verdict([`watch ${e.watch} got no reply at all (${w.sent} sent${w.errors.length ? `: ${w.errors[0]}` : ""})`]);
  switch (e.kind) {
    case "outage": {
      const o = w.longest;
      const d = o?.durationMs ?? 0;
      const what = o ? `longest outage ${ms(d)} (${o.lost} lost${o.recovered ? "" : ", never recovered"})` : "no outage";
      const r: string[] = [];
      if (e.max_ms !== undefined && d > e.max_ms) r.push(`${what} > ${e.max_ms} ms`);
      if (e.min_ms !== undefined && d < e.min_ms) r.push(`${what} < ${e.min_ms} ms: the fault had no such effect`);
      return verdict(r);
    }
    case "no_loss":
      return verdict(w.lost ? [`${w.lost} of ${w.sent} probes lost`] : []);
    case "lost":
      return verdict(w.lost > e.max ? [`${w.lost} of ${w.sent} probes lost > ${e.max}`] : []);
    case "recovers": {
      const r = recoveryAfter(w, e.after);
      if (r.ms === undefined) return verdict([r.why!]);
      return verdict(r.ms > e.within_ms ? [`replies again ${ms(r.ms)} after step "${e.after}" started > ${e.within_ms} ms`] : []);
    }
  }
}

export function judgeFile(e: ExpectationOf<"file">, m: FileState): Verdict {
  const r: string[] = [];
  if (e.exists !== m.exists) r.push(m.exists ? `${e.path} exists` : `${e.path} does not exist`);
  else if (m.exists) {
    if (e.contains !== undefined && !m.content!.includes(e.contains)) r.push(`${e.path} does not contain "${e.contains}"`);
    if (e.equals !== undefined && m.content!.trim() !== e.equals.trim()) r.push(`${e.path} differs from the expected text`);
  }
  return verdict(r);
}

export function judgeUnit(e: ExpectationOf<"unit">, m: UnitState): Verdict {
  const r: string[] = [];
  if (!m.files.length) r.push(`no unit file for ${e.name}`);
  if (e.state !== undefined) {
    if (m.state === null) r.push(`no systemd runs in the node, so ${e.name} has no state`);
    else if (m.state !== e.state) r.push(`${e.name} is ${m.state}, expected ${e.state}`);
  }
  if (e.exec_start !== undefined) {
    if (m.execStart.length !== 1 || m.execStart[0] !== e.exec_start)
      r.push(
        `effective ExecStart is ${m.execStart.length ? m.execStart.map((x) => `"${x}"`).join(" then ") : "empty"}, expected "${e.exec_start}"`,
      );
  }
  return verdict(r);
}

export function judgeAppArmor(e: ExpectationOf<"apparmor">, m: AppArmorState): Verdict {
  if (m.loaded === null) return verdict([`the node's kernel has no AppArmor (/sys/kernel/security/apparmor is absent)`]);
  return verdict(m.loaded === e.loaded ? [] : [`profile ${e.profile} is ${m.loaded ? "loaded" : "not loaded"}`]);
}

export function judgePackage(e: ExpectationOf<"package">, m: PackageState): Verdict {
  if (m.installed !== e.installed)
    return verdict([m.installed ? `${e.name} is installed (${m.version})` : `${e.name} is not installed${m.error ? `: ${m.error}` : ""}`]);
  if (e.installed && e.version !== undefined && m.version !== e.version)
    return verdict([`${e.name} is at ${m.version}, expected ${e.version}`]);
  return verdict([]);
}

export function judgeSysctl(e: ExpectationOf<"sysctl">, m: SysctlState): Verdict {
  if (m.value === null) return verdict([`cannot read ${e.key}: ${m.error}`]);
  return verdict(m.value === e.value.trim().replace(/\s+/g, " ") ? [] : [`${e.key} is ${m.value}, expected ${e.value}`]);
}
