import { afterAll, beforeAll } from "vitest";
import { start, type StartedLab } from "../../topology/lab.ts";
import type { Lab, ScenarioSpec } from "../../topology/model/types.ts";

/** The backend the lab suites run on (LABWRIGHT_BACKEND, else namespaces); it is part of every suite's name. */
export const BACKEND = process.env.LABWRIGHT_BACKEND || "netns";

/**
 * Starts the lab before the enclosing describe's tests and stops it after them; returns a getter.
 * Before stopping, the OVS/OVN logs are scanned: a WARN/ERR line that is on neither the harness's
 * allowlist nor `logAllow` fails the suite.
 */
export function useLab(lab: Lab, opts: { logAllow?: ScenarioSpec["logAllow"] } = {}): () => StartedLab {
  let started: StartedLab | undefined;
  beforeAll(async () => {
    started = await start(lab, { backend: BACKEND });
  });
  afterAll(async () => {
    if (!started) return;
    const problems = (await started.logProblems()).filter((p) => !(opts.logAllow ?? []).some((a) => a.match.test(p.line)));
    await started.stop();
    if (problems.length) throw new Error(`OVS/OVN logs have WARN/ERR lines not on the allowlist:\n${problems.map((p) => `  ${p.node}: ${p.line}`).join("\n")}`);
  });
  return () => {
    if (!started) throw new Error("the lab is not started (did beforeAll fail?)");
    return started;
  };
}
