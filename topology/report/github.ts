import type { CheckResult } from "../expect/check.ts";
import type { Lab } from "../model/types.ts";
import type { LabResult } from "../results.ts";
import { mermaid } from "./mermaid.ts";
import { watchXyChart } from "./charts/mermaid.ts";

/** GitHub's limit for one step summary; the summary is cut well below it. */
export const SUMMARY_LIMIT = 1024 * 1024;

/** Text for a Markdown table cell. */
export const cell = (s: string) =>
  s
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ")
    .replace(/[\u0000-\u001f\u007f]/g, "");

/** Reachability of every reach / no_reach expectation: rows are sources, columns destinations. */
export function reachabilityMatrix(checks: readonly CheckResult[]): string {
  const cells = new Map<string, string>();
  const froms = new Set<string>();
  const tos = new Set<string>();
  for (const c of checks) {
    const e = c.expectation;
    if (e.kind !== "reach" && e.kind !== "no_reach") continue;
    froms.add(e.from);
    tos.add(e.to);
    const want = e.kind === "reach" ? "reach" : "no reach";
    const mark = c.ok ? "✅" : "❌";
    const ttl =
      c.measurement.kind === "ping" && c.measurement.replies.length
        ? ` TTL ${[...new Set(c.measurement.replies.map((x) => x.ttl))].join("/")}`
        : "";
    const key = `${e.from}\u0000${e.to}`;
    cells.set(key, `${cells.has(key) ? `${cells.get(key)}<br>` : ""}${mark} ${want}${ttl}`);
  }
  if (!cells.size) return "";
  const cols = [...tos];
  const rows = [...froms].map((f) => `| **${cell(f)}** | ${cols.map((t) => cells.get(`${f}\u0000${t}`) ?? "").join(" | ")} |`);
  return [`| from \\ to | ${cols.map(cell).join(" | ")} |`, `|---|${cols.map(() => "---").join("|")}|`, ...rows].join("\n");
}

/** The run as Markdown for `$GITHUB_STEP_SUMMARY`: results per scenario, the topology, the reachability matrix. */
export function markdownSummary(r: LabResult, lab: Lab): string {
  const t = r.totals;
  const out = [
    `## labwright: ${cell(r.lab)} ${r.ok ? "✅ PASS" : "❌ FAIL"}`,
    "",
    `${t.passed}/${t.checks} expectations hold, ${t.stepsAsExpected}/${t.steps} steps as expected, ${r.scenarios.length} scenario(s), ${r.backend} backend` +
      `${t.logErrors ? `, ${t.logErrors} daemon-log error(s)` : ""}${t.logWarnings ? `, ${t.logWarnings} daemon-log warning(s)` : ""}.`,
    "",
    "| scenario | result | expectation | measured |",
    "|---|---|---|---|",
  ];
  for (const s of r.scenarios) {
    const checks = s.checks.length ? s.checks : [];
    if (s.error) out.push(`| ${cell(s.name)} | ❌ | error | ${cell(s.error).slice(0, 300)} |`);
    for (const c of checks)
      out.push(
        `| ${cell(s.name)} | ${c.ok ? "✅" : "❌"} | ${cell(c.description)} | ${cell(c.measured).slice(0, 300)}${c.ok ? "" : ` — ${cell(c.reasons.join("; ")).slice(0, 200)}`} |`,
      );
    for (const st of s.steps)
      if (st.kind === "run" && !st.ok)
        out.push(`| ${cell(s.name)} | ❌ | step \`${cell(st.run.split("\n")[0]!)}\` | ${cell(st.reason ?? "")} |`);
    for (const f of s.logs.errors)
      out.push(`| ${cell(s.name)} | ❌ | daemon log error (${cell(f.node)} ${cell(f.daemon)}) | ${cell(f.line).slice(0, 300)} |`);
    for (const f of s.logs.warnings)
      out.push(
        `| ${cell(s.name)} | ${s.logs.strict ? "❌" : "⚠️"} | daemon log warning (${cell(f.node)} ${cell(f.daemon)}) | ${cell(f.line).slice(0, 300)} |`,
      );
  }
  const matrix = reachabilityMatrix(r.scenarios.flatMap((s) => s.checks));
  if (matrix) out.push("", "### Reachability", "", matrix);
  const watches = r.scenarios.flatMap((s) => (s.watches ?? []).map((w) => [s.name, w] as const));
  if (watches.length) out.push("", "### Watches", "");
  for (const [name, w] of watches) out.push(`Scenario ${cell(name)}:`, "", "```mermaid", watchXyChart(w).trimEnd(), "```", "");
  out.push("", "### Topology", "", "```mermaid", mermaid(lab).trimEnd(), "```", "");
  let text = out.join("\n");
  if (Buffer.byteLength(text) > SUMMARY_LIMIT - 1024)
    text = `${text.slice(0, SUMMARY_LIMIT / 2)}\n\n… (cut: the full results are in the JSON file)\n`;
  return text;
}

const escData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escProp = (s: string) => escData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** `::error` workflow commands: each failing expectation and step, at its lab-file line. */
export function annotations(r: LabResult, file: string): string[] {
  const lines: string[] = [];
  for (const s of r.scenarios) {
    if (s.error) lines.push(`::error file=${escProp(file)},title=${escProp(`${r.lab}: ${s.name}`)}::${escData(s.error)}`);
    for (const c of s.checks.filter((x) => !x.ok)) {
      const line = "origin" in c.expectation ? c.expectation.origin.line : undefined;
      lines.push(
        `::error file=${escProp(file)}${line !== undefined ? `,line=${line}` : ""},title=${escProp(`${s.name}: ${c.description}`)}::${escData(`${c.reasons.join("; ")} (measured: ${c.measured})`)}`,
      );
    }
    for (const st of s.steps) {
      if (st.kind !== "run" || st.ok) continue;
      lines.push(
        `::error file=${escProp(file)}${st.line !== undefined ? `,line=${st.line}` : ""},title=${escProp(`${s.name}: ${st.on}$ ${st.run.split("\n")[0]}`)}::${escData(st.reason ?? "not as the lab file says")}`,
      );
    }
  }
  return lines;
}
