/**
 * labwright for vitest suites: the matchers (toReach, toBeUnreachable, toHaveLinkState,
 * toFollowHops, toConnect, toServe, toResolveTo, toExitWith, toHaveFile, toHaveUnit,
 * toHaveAppArmorProfileLoaded, toHavePackage, toHaveSysctl) and `useLab`, a fixture that starts a
 * lab before a describe block's tests and removes it after them.
 */
import { afterAll, beforeAll } from "vitest";
import "./expect/matchers.ts";
import { start, type StartedLab, type StartOptions } from "./lab.ts";
import type { Lab, ScenarioSpec } from "./model/types.ts";

export type { ReachOptions, LinkOptions } from "./expect/matchers.ts";

/**
 * Starts `lab` before the enclosing describe's tests and stops it after them; returns a getter. With
 * node software, the daemons' logs are scanned before stopping (OVS/OVN WARN/ERR, neutron ERROR): a
 * line on neither the harness's allowlists nor `logAllow` fails the suite.
 */
export function useLab(lab: Lab, opts: StartOptions & { logAllow?: ScenarioSpec["logAllow"] } = {}): () => StartedLab {
  let started: StartedLab | undefined;
  beforeAll(async () => {
    started = await start(lab, opts);
  });
  afterAll(async () => {
    if (!started) return;
    const problems = (await started.logProblems()).filter((p) => !(opts.logAllow ?? []).some((a) => a.match.test(p.line)));
    await started.stop();
    if (problems.length) throw new Error(`daemon logs have lines not on the allowlists (OVS/OVN WARN/ERR, neutron ERROR):\n${problems.map((p) => `  ${p.node}: ${p.line}`).join("\n")}`);
  });
  return () => {
    if (!started) throw new Error("the lab is not started (did beforeAll fail?)");
    return started;
  };
}
