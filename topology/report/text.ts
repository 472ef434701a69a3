import { type CheckResult, summarize } from "../expect/check.ts";
import { findingLine } from "../logs/scan.ts";
import type { LabResult, ScenarioResult, StepRecord } from "../results.ts";
import type { ToolchainInfo } from "../toolchain/info.ts";

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function checkLines(c: CheckResult, width: number, indent: string): string[] {
  const line = c.expectation && "origin" in c.expectation && c.expectation.origin.line !== undefined ? `:${c.expectation.origin.line}` : "";
  const out = [
    `${indent}${c.ok ? "PASS" : "FAIL"}  ${pad(c.description, width)}  ${c.measured}${line && !c.ok ? `   (lab file line ${line.slice(1)})` : ""}`,
  ];
  for (const r of c.reasons) out.push(`${indent}      why:  ${r}`);
  for (const n of c.notes) out.push(`${indent}      note: ${n}`);
  return out;
}

function stepLine(s: StepRecord, indent: string): string[] {
  if (s.kind === "skipped") return [`${indent}SKIP  ${s.what} (an earlier step did not go as the lab file says)`];
  if (s.kind === "not-applied") return [`${indent}----  ${s.what}   (not run: real hosts are read-only; --apply runs steps)`];
  if (s.kind === "check") return [];
  // A multi-line command keeps its lines under the first one.
  const run = s.run.trimEnd().split("\n").join(`\n${indent}        `);
  const head = `${indent}${s.ok ? "ok  " : "FAIL"}  ${s.on}$ ${run}${s.should === "fail" ? "   (expected to fail)" : ""}`;
  const out = s.name ? [`${indent}      # ${s.name}`, head] : [head];
  for (const n of s.notes ?? []) out.push(`${indent}      note: ${n}`);
  if (!s.ok) {
    out.push(`${indent}      why:  ${s.reason}`);
    if (s.output)
      out.push(
        ...s.output
          .split("\n")
          .slice(-5)
          .map((l) => `${indent}      | ${l}`),
      );
  } else if (s.should === "fail" && s.output) {
    // The line that tells what failed: ansible's failed task and its fatal line, else the last line.
    const lines = s.output.split("\n");
    const fatal = lines.findIndex((l) => l.startsWith("fatal:"));
    const task = fatal > 0 ? lines.slice(0, fatal).findLast((l) => l.startsWith("TASK [")) : undefined;
    const show = fatal >= 0 ? [task, lines[fatal]].filter((l): l is string => !!l) : lines.filter((l) => l.trim()).slice(-1);
    for (const l of show) out.push(`${indent}      | ${l}`);
  }
  return out;
}

/** The daemons' logs: errors (failing), warnings (reported; failing under `logs: strict`). */
function logLines(s: ScenarioResult): string[] {
  const { errors, warnings, strict } = s.logs;
  const out: string[] = [];
  if (errors.length) {
    out.push(
      `  FAIL  daemon logs: ${errors.length} error record(s) no allowlist entry allows (built-in: topology/logs/allow/<daemon>.yaml; the scenario's log_allow)`,
    );
    for (const f of errors.slice(0, 10)) out.push(`      ${findingLine(f)}`);
  }
  if (warnings.length) {
    out.push(
      `  ${strict ? "FAIL" : "WARN"}  daemon logs: ${warnings.length} warning record(s) no entry allows${strict ? " (logs: strict)" : " (reported, not failing; logs: strict or --strict-logs makes them fail)"}`,
    );
    for (const f of warnings.slice(0, 10)) out.push(`      ${findingLine(f)}`);
  }
  if (warnings.length > 10 || errors.length > 10) out.push("      (all of them in the JSON results: scenarios[].logs)");
  return out;
}

export function scenarioReport(s: ScenarioResult): string {
  const width = Math.min(64, Math.max(20, ...s.checks.map((c) => c.description.length)));
  const out: string[] = [];
  out.push(
    `Scenario ${s.name}: ${s.ok ? "PASS" : "FAIL"}${s.runId ? `  (run ${s.runId}, up in ${secs(s.startMs)}, down in ${secs(s.stopMs)})` : ""}`,
  );
  if (s.description) out.push(`  ${s.description.trim()}`);
  if (s.notStarted?.length)
    out.push(`  not started (the scenario does not use it; \`software: all\` starts it): ${s.notStarted.join(", ")}`);
  if (s.error) out.push(`  ERROR: ${s.error}`);
  for (const st of s.steps) {
    if (st.kind === "check") for (const c of st.checks) out.push(...checkLines(c, width, "  [check] "));
    else out.push(...stepLine(st, "  "));
  }
  for (const w of s.watches ?? []) out.push(`  watch ${w.name} (${w.from} → ${w.to}): ${summarize(w)}`);
  const stepChecks = new Set(s.steps.flatMap((st) => (st.kind === "check" ? st.checks : [])));
  for (const c of s.checks) if (!stepChecks.has(c)) out.push(...checkLines(c, width, "  "));
  out.push(...logLines(s));
  for (const f of s.pictures ?? []) out.push(`  picture: ${f}`);
  if (s.forensics)
    out.push(
      `  forensics (addresses, routes, neighbours, forwarding, nftables, OVS/OVN state, log tails, pcaps, ovn-trace): ${s.forensics}`,
    );
  if (s.kept) out.push(`  kept up for inspection (run ${s.kept}): labwright exec ${s.kept} <node>   then   labwright down ${s.kept}`);
  return out.join("\n");
}

/** The toolchain a lab ran in: its name, its lock's hash, and its daemons' and tools' Debian versions. */
export function toolchainLine(t: ToolchainInfo): string {
  return `toolchain ${t.name} (lock ${t.hash}): ${Object.entries(t.versions)
    .map(([p, v]) => `${p} ${v}`)
    .join(", ")}`;
}

export function labReport(r: LabResult, jsonPath?: string): string {
  const names: Record<string, string> = { incus: "Incus", neutron: "neutron" };
  const real = Object.entries(r.software ?? {}).map(([k, v]) => `${names[k] ?? k} ${v}`);
  const out = [
    `labwright run: ${r.lab} (${r.file}) on the ${r.backend} backend${real.length ? `, with the real ${real.join(", ")}` : ""}`,
    ...(r.toolchain ? [toolchainLine(r.toolchain)] : []),
    "",
  ];
  for (const s of r.scenarios) out.push(scenarioReport(s), "");
  const t = r.totals;
  out.push(
    `Result: ${r.ok ? "PASS" : "FAIL"} — ${t.passed}/${t.checks} expectations hold, ${t.stepsAsExpected}/${t.steps} steps as expected, ${r.scenarios.length} scenario(s)` +
      `${t.logErrors ? `, ${t.logErrors} daemon-log error(s)` : ""}${t.logWarnings ? `, ${t.logWarnings} daemon-log warning(s)` : ""}.` +
      (jsonPath ? `  Details: ${jsonPath}` : ""),
  );
  return out.join("\n");
}
