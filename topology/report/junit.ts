import type { CheckResult } from "../expect/check.ts";
import { failingFindings, findingLine } from "../logs/scan.ts";
import type { LabResult, StepRecord } from "../results.ts";

/** Text for an XML attribute or element (control characters escaped as \\uXXXX). */
export const xml = (s: string) =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

interface Case {
  name: string;
  classname: string;
  seconds: number;
  failure?: { message: string; body: string };
  skipped?: string;
  out: string;
}

function lineOf(c: CheckResult): number | undefined {
  return "origin" in c.expectation ? c.expectation.origin.line : undefined;
}

/**
 * JUnit XML for CI systems: one testsuite per scenario, one testcase per step and per expectation,
 * each carrying the measured values and the lab file's line. The same shape as vitest's JUnit
 * reporter (testsuites › testsuite › testcase › failure | skipped, system-out).
 */
export function junitXml(r: LabResult): string {
  const suites = r.scenarios.map((s) => {
    const cls = `${r.lab}.${s.name}`;
    const cases: Case[] = [];
    const checkCase = (c: CheckResult, prefix: string): Case => ({
      name: `${prefix}${c.description}`,
      classname: cls,
      seconds: c.durationMs / 1000,
      out: `measured: ${c.measured}\nlab file: ${r.file}${lineOf(c) !== undefined ? `:${lineOf(c)}` : ""}${c.notes.length ? `\n${c.notes.map((n) => `note: ${n}`).join("\n")}` : ""}`,
      ...(c.ok
        ? {}
        : {
            failure: {
              message: c.reasons.join("; ") || "does not hold",
              body: `${c.description}\nmeasured: ${c.measured}\n${c.reasons.join("\n")}`,
            },
          }),
    });
    const stepCase = (st: Exclude<StepRecord, { kind: "check" }>): Case => {
      const where = `lab file: ${r.file}${st.line !== undefined ? `:${st.line}` : ""}`;
      if (st.kind === "skipped")
        return {
          name: `step: ${st.what}`,
          classname: cls,
          seconds: 0,
          skipped: "an earlier step did not go as the lab file says",
          out: where,
        };
      if (st.kind === "not-applied")
        return { name: `step: ${st.what}`, classname: cls, seconds: 0, skipped: "real hosts are read-only without --apply", out: where };
      const notes = (st.notes ?? []).map((n) => `\nnote: ${n}`).join("");
      const c: Case = {
        name: `step: ${st.on}$ ${st.run.split("\n")[0]}`,
        classname: cls,
        seconds: st.durationMs / 1000,
        out: `${where}\nexit ${st.exitCode}${notes}\n${st.output}`,
      };
      if (!st.ok) c.failure = { message: st.reason ?? "not as the lab file says", body: st.output };
      return c;
    };
    for (const st of s.steps) {
      if (st.kind === "check") cases.push(...st.checks.map((c) => checkCase(c, "[check] ")));
      else cases.push(stepCase(st));
    }
    const inSteps = new Set(s.steps.flatMap((st) => (st.kind === "check" ? st.checks : [])));
    cases.push(...s.checks.filter((c) => !inSteps.has(c)).map((c) => checkCase(c, "")));
    if (s.error) cases.push({ name: "lab", classname: cls, seconds: 0, failure: { message: s.error, body: s.error }, out: "" });
    const { errors, warnings, strict } = s.logs;
    if (errors.length || warnings.length) {
      const failing = failingFindings(s.logs);
      cases.push({
        name: "daemon logs",
        classname: cls,
        seconds: 0,
        ...(failing.length
          ? {
              failure: {
                message: `${errors.length} error and ${warnings.length} warning record(s) no allowlist entry allows${strict ? " (logs: strict)" : ""}`,
                body: failing.map(findingLine).join("\n"),
              },
            }
          : {}),
        out: warnings.length
          ? `warnings (${strict ? "failing: logs: strict" : "reported, not failing"}):\n${warnings.map(findingLine).join("\n")}`
          : "",
      });
    }
    const failures = cases.filter((c) => c.failure).length;
    const skipped = cases.filter((c) => c.skipped).length;
    const time = (s.startMs + s.stopMs) / 1000 + cases.reduce((a, c) => a + c.seconds, 0);
    const body = cases
      .map((c) => {
        const inner = [
          c.failure ? `      <failure message="${xml(c.failure.message)}" type="AssertionError">${xml(c.failure.body)}</failure>` : "",
          c.skipped ? `      <skipped message="${xml(c.skipped)}"/>` : "",
          c.out ? `      <system-out>${xml(c.out)}</system-out>` : "",
        ].filter(Boolean);
        return `    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}" time="${c.seconds.toFixed(3)}">\n${inner.join("\n")}\n    </testcase>`;
      })
      .join("\n");
    return {
      xml: `  <testsuite name="${xml(`${r.lab}: ${s.name} [${r.backend}]`)}" timestamp="${xml(r.startedAt)}" hostname="labwright" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n${body}\n  </testsuite>`,
      tests: cases.length,
      failures,
      time,
    };
  });
  const tests = suites.reduce((a, s) => a + s.tests, 0);
  const failures = suites.reduce((a, s) => a + s.failures, 0);
  const time = suites.reduce((a, s) => a + s.time, 0);
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="labwright ${xml(r.lab)}" tests="${tests}" failures="${failures}" errors="0" time="${time.toFixed(3)}">\n${suites.map((s) => s.xml).join("\n")}\n</testsuites>\n`;
}
