import type { CommandResult } from "../run/exec.ts";

/**
 * What a step set in motion (neutron's agents wiring ports, an instance's DHCP lease) did not happen
 * within the time waited for it. The step fails with this: it names each thing that did not converge
 * and how long it was waited for, instead of the lab failing later with an unrelated symptom.
 */
export class ConvergenceError extends Error {
  /** The step's own command result, when the command ran before the wait (set by runStep). */
  result?: CommandResult;

  constructor(
    /** What did not converge, one item each ("router router1: no qrouter namespace"). */
    readonly pending: readonly string[],
    readonly waitedMs: number,
    /** What the daemons' logs said of the pending objects by then (a line each), printed under the message. */
    readonly evidence: readonly string[] = [],
  ) {
    super(
      `did not converge after ${(waitedMs / 1000).toFixed(0)} s: ${pending.join("; ")}` +
        (evidence.length ? `\nwhat the logs say of it:\n${evidence.map((l) => `  ${l}`).join("\n")}` : ""),
    );
    this.name = "ConvergenceError";
  }
}
