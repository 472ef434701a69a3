import { expect } from "vitest";
import type { StartedLab } from "../../topology/lab.ts";
import { type Lab, type ScenarioSpec, type Step, stepCommand } from "../../topology/model/types.ts";

export function scenario(lab: Lab, name: string): ScenarioSpec {
  const sc = lab.scenarios.find((s) => s.name === name);
  if (!sc) throw new Error(`lab ${lab.name} has no scenario ${name}`);
  return sc;
}

/** Applies a scenario's steps (not its checkpoints) in order, asserting each does what the lab file says. */
export async function applySteps(started: StartedLab, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    if (step.kind === "check") continue;
    const r = await started.runStep(step);
    expect(r.asExpected, `${step.on}$ ${stepCommand(step)}: ${r.reason}\n${r.result.stdout}${r.result.stderr}`).toBe(true);
  }
}

/** The steps of a scenario up to (not including) the first whose command contains `marker`. */
export function stepsBefore(sc: ScenarioSpec, marker: string): Step[] {
  const k = sc.steps.findIndex((s) => s.kind !== "check" && stepCommand(s).includes(marker));
  if (k < 0) throw new Error(`scenario ${sc.name} has no step containing "${marker}"`);
  return sc.steps.slice(0, k);
}
