import type { RepeatSummary, Spread, Tally } from "../repeat/summary.ts";
import { cell } from "./github.ts";
import { xml } from "./junit.ts";

/** `labwright run --repeat N`: the summary as text, JUnit and Markdown. */

const fmt = (s: Spread) => (s.min === s.max ? `${s.median}` : `${s.min} / ${s.median} / ${s.max}`);

function valueLines(t: Tally): string[] {
  const out: string[] = [];
  for (const [k, s] of Object.entries(t.spread))
    if (!(k === "loss %" && s.max === 0) && !(t.kind === "logs" && s.max === 0)) out.push(`${k} ${fmt(s)}`);
  for (const [k, seen] of Object.entries(t.seen)) {
    const entries = Object.entries(seen).sort((a, b) => b[1] - a[1]);
    // Values that differ in every run (a random subnet, a connect time) say nothing when the item
    // always held: their count only (all of them are in the JSON). When it failed, all are shown.
    if (!t.failed && entries.length > 3) {
      out.push(`${k}: ${entries.length} different values`);
      continue;
    }
    out.push(`${k}: ${entries.map(([v, n]) => (entries.length > 1 || n !== t.runs ? `${v} (×${n})` : v)).join(", ")}`);
  }
  return out;
}

const verdict = (t: Tally) => (t.flaky ? "FLAKY" : t.failed ? "FAIL " : "PASS ");

export function repeatReport(r: RepeatSummary): string {
  const real = Object.entries(r.software).map(([k, v]) => `${k} ${v}`);
  const out = [
    `labwright run --repeat ${r.requested}${r.untilFail ? " --until-fail" : ""}: ${r.lab} (${r.file}) on the ${r.backend} backend${real.length ? `, with the real ${real.join(", ")}` : ""}`,
    `${r.runs} run(s), ${r.runs - r.failedRuns.length} passed${r.failedRuns.length ? `, failed: run ${r.failedRuns.join(", ")}` : ""}. Values are min / median / max across runs.`,
    "",
  ];
  for (const s of r.scenarios) {
    out.push(
      `Scenario ${s.name}: ${s.passed}/${s.runs} runs passed${s.upMs ? `; up in ${fmt(secs(s.upMs))} s` : ""}${s.totalMs ? `; whole scenario ${fmt(secs(s.totalMs))} s` : ""}`,
    );
    for (const t of r.items.filter((x) => x.scenario === s.name)) {
      if (t.kind === "step" && !t.failed) continue; // steps that always went as the file says: their times are in the JSON
      out.push(
        `  ${verdict(t)} ${t.passed}/${t.runs}  ${t.kind === "step" ? "step " : ""}${t.name}${t.line !== undefined ? `   (line ${t.line})` : ""}${t.failedIn.length ? `   failed in run ${t.failedIn.join(", ")}` : ""}`,
      );
      for (const v of valueLines(t)) out.push(`           ${v}`);
    }
    out.push("");
  }
  out.push(
    `Result: ${r.ok ? "PASS" : "FAIL"} — ${r.runs - r.failedRuns.length}/${r.runs} runs passed; ${r.flaky} flaky item(s) (a verdict that changed between runs).`,
  );
  return out.join("\n");
}

const secs = (s: Spread): Spread => ({ n: s.n, min: round(s.min / 1000), median: round(s.median / 1000), max: round(s.max / 1000) });
const round = (x: number) => Math.round(x * 100) / 100;

/** One testcase per expectation, step and scenario's logs; a failure names the runs it failed in and whether it is flaky. */
export function repeatJunit(r: RepeatSummary): string {
  const suites = r.scenarios.map((s) => {
    const items = r.items.filter((t) => t.scenario === s.name);
    const cases = items.map((t) => {
      const out = [`passed ${t.passed} of ${t.runs} runs`, ...valueLines(t)].join("\n");
      const failure = t.failed
        ? `      <failure message="${xml(`${t.flaky ? "flaky: " : ""}failed in ${t.failed} of ${t.runs} runs (run ${t.failedIn.join(", ")})`)}" type="${t.flaky ? "Flaky" : "AssertionError"}">${xml(out)}</failure>\n`
        : "";
      return `    <testcase classname="${xml(`${r.lab}.${s.name}`)}" name="${xml(`${t.kind === "step" ? "step: " : ""}${t.name}`)}" time="0">\n${failure}      <system-out>${xml(out)}</system-out>\n    </testcase>`;
    });
    const failures = items.filter((t) => t.failed).length;
    return `  <testsuite name="${xml(`${r.lab}: ${s.name} [${r.backend}] ×${r.runs}`)}" timestamp="${xml(r.startedAt)}" hostname="labwright" tests="${items.length}" failures="${failures}" errors="0" skipped="0" time="${(s.sumMs / 1000).toFixed(3)}">\n${cases.join("\n")}\n  </testsuite>`;
  });
  const time = r.scenarios.reduce((a, s) => a + s.sumMs, 0) / 1000;
  const tests = r.items.length;
  const failures = r.items.filter((t) => t.failed).length;
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="labwright ${xml(r.lab)} ×${r.runs}" tests="${tests}" failures="${failures}" errors="0" time="${time.toFixed(3)}">\n${suites.join("\n")}\n</testsuites>\n`;
}

/** For `$GITHUB_STEP_SUMMARY`: the runs' verdict, then every item that failed in any run. */
export function repeatMarkdown(r: RepeatSummary): string {
  const out = [
    `## labwright: ${cell(r.lab)} ×${r.runs} ${r.ok ? "✅ PASS" : "❌ FAIL"}`,
    "",
    `${r.runs - r.failedRuns.length}/${r.runs} runs passed, ${r.flaky} flaky item(s), ${r.backend} backend.`,
    "",
    "| scenario | passed | up (s, min / median / max) |",
    "|---|---|---|",
    ...r.scenarios.map((s) => `| ${cell(s.name)} | ${s.passed}/${s.runs} | ${s.upMs ? fmt(secs(s.upMs)) : ""} |`),
  ];
  const bad = r.items.filter((t) => t.failed);
  if (bad.length) {
    out.push("", "| scenario | item | passed | verdict | values |", "|---|---|---|---|---|");
    for (const t of bad)
      out.push(
        `| ${cell(t.scenario)} | ${cell(t.name)} | ${t.passed}/${t.runs} | ${t.flaky ? "⚠️ flaky" : "❌"} | ${cell(valueLines(t).join("; ")).slice(0, 300)} |`,
      );
  }
  return out.join("\n") + "\n";
}
