import { afterAll, beforeAll, type RunnerTask } from "vitest";
import { kernelDiff, kernelState, type KernelState } from "./kernel-state.ts";
import { endScratch } from "./scratch.ts";

/**
 * Before and after every suite file: the kernel state a lab could leave behind (bridge netfilter
 * switches, modules, cgroups, held network namespaces, mounts) must be the same, so no file's
 * verdict can depend on the file before it. Teardown ends processes asynchronously (a daemon's
 * parent reaps it a moment later), so the state is read again for up to 10 s before a difference
 * counts. The file's temporary folders (scratch.ts) are removed then, or kept and named when one of
 * its tests failed.
 */
let before: KernelState;

beforeAll(() => {
  before = kernelState();
});

const failed = (t: RunnerTask): boolean => t.result?.state === "fail" || ("tasks" in t && t.tasks.some(failed));

// vitest requires a destructuring pattern for a hook's first argument (its fixtures), even an empty one.
afterAll(async ({}, file) => {
  const keep = failed(file as RunnerTask);
  const kept = endScratch(keep);
  if (keep && kept.length) console.log(`a test of this file failed: its temporary folders stay for reading:\n  ${kept.join("\n  ")}`);
  let diff = kernelDiff(before, kernelState());
  for (let k = 0; diff.length && k < 50; k++) {
    await new Promise((r) => setTimeout(r, 200));
    diff = kernelDiff(before, kernelState());
  }
  if (diff.length) throw new Error(`this suite file left the kernel in another state than it found it:\n  ${diff.join("\n  ")}`);
});
