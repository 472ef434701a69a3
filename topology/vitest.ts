/**
 * labwright for vitest suites: the matchers (toReach, toBeUnreachable, toHaveLinkState,
 * toFollowHops, toConnect, toServe, toResolveTo, toExitWith, toHaveFile, toHaveUnit,
 * toHaveAppArmorProfileLoaded, toHavePackage, toHaveSysctl) and `useLab`, a fixture that starts a
 * lab before a describe block's tests and removes it after them.
 */
import { resolve } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import "./expect/matchers.ts";
import { start, type StartedLab, type StartOptions } from "./lab.ts";
import type { Lab, ScenarioSpec } from "./model/types.ts";
import { failingFindings, findingLine } from "./logs/scan.ts";
import type { LogVerdict } from "./logs/types.ts";
import { collectForensics } from "./started/forensics.ts";

export type { ReachOptions, LinkOptions } from "./expect/matchers.ts";

/**
 * Starts `lab` before the enclosing describe's tests and stops it after them; returns a getter. With
 * node software, the daemons' logs are judged before stopping: an error record that neither the
 * built-in allowlists (topology/logs/allow/) nor `logAllow` allow fails the suite; warnings are
 * printed, and fail it too with `strictLogs` (or the lab file's `logs: strict`). The run's notes
 * (a daemon that did not answer, an object that could not be named) are printed as they come.
 * A step whose effect does not converge throws a ConvergenceError in the test that ran it.
 * When the first of the block's tests fails, the lab's forensics bundle is collected right then
 * (before later tests change the lab) into `forensicsDir` (default results/forensics), and its
 * folder printed: the evidence a failure in CI leaves behind.
 */
export function useLab(
  lab: Lab,
  opts: StartOptions & { logAllow?: ScenarioSpec["logAllow"]; strictLogs?: boolean; forensicsDir?: string } = {},
): () => StartedLab {
  let started: StartedLab | undefined;
  let collected = false;
  beforeAll(async () => {
    started = await start(lab, opts);
  });
  afterEach(async (ctx) => {
    if (!started || collected || ctx.task.result?.state !== "fail") return;
    collected = true;
    const slug = ctx.task.name
      .replace(/[^A-Za-z0-9]+/g, "-")
      .slice(0, 40)
      .replace(/^-|-$/g, "");
    const dir = resolve(opts.forensicsDir ?? "results/forensics", `${lab.name}-${slug}-${started.runId}`);
    try {
      console.warn(`labwright: forensics bundle of the first failing test: ${await collectForensics(started, [], dir)}`);
    } catch (e) {
      console.warn(`labwright: could not collect forensics: ${(e as Error).message}`);
    }
  }, 120_000);
  afterAll(async () => {
    if (!started) return;
    const notes = started.notes.splice(0);
    const { verdict, bundle } = await judgeAndStop(started, opts);
    for (const n of notes) console.warn(`labwright note: ${n}`);
    if (verdict.warnings.length)
      console.warn(
        `labwright: ${verdict.warnings.length} daemon-log warning(s) no entry allows${verdict.strict ? " (strict: they fail)" : " (reported, not failing)"}:\n${verdict.warnings.map((f) => `  ${findingLine(f)}`).join("\n")}`,
      );
    if (!verdict.ok) {
      const failing = failingFindings(verdict);
      throw new Error(
        `daemon logs have ${verdict.strict ? "error or warning" : "error"} records no allowlist entry allows (built-in: topology/logs/allow/; yours: logAllow):\n${failing.map((f) => `  ${findingLine(f)}`).join("\n")}${bundle ? `\nthe records whole, and each node's state: ${bundle}` : ""}`,
      );
    }
  });
  return () => {
    if (!started) throw new Error("the lab is not started (did beforeAll fail?)");
    return started;
  };
}

/**
 * Judges the started lab's daemon logs and stops it (useLab's end). A failing verdict first collects
 * the forensics bundle (`forensicsDir`, default results/forensics) with its records whole
 * (daemon-log-records.txt: crash reports, tracebacks), read before the lab goes; `bundle` is its folder.
 */
export async function judgeAndStop(
  started: StartedLab,
  opts: { logAllow?: ScenarioSpec["logAllow"]; strictLogs?: boolean; forensicsDir?: string } = {},
): Promise<{ verdict: LogVerdict; bundle?: string }> {
  try {
    const verdict = await started.logs(opts.logAllow ?? [], opts.strictLogs ?? started.lab.logs === "strict");
    if (verdict.ok) return { verdict };
    const failing = failingFindings(verdict);
    const dir = resolve(opts.forensicsDir ?? "results/forensics", `${started.lab.name}-daemon-logs-${started.runId}`);
    try {
      return { verdict, bundle: await collectForensics(started, [], dir, { logFindings: failing }) };
    } catch (e) {
      console.warn(`labwright: could not collect forensics: ${(e as Error).message}`);
      return { verdict };
    }
  } finally {
    await started.stop();
  }
}
