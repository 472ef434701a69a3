import { existsSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import { runDir } from "../../topology/run/state.ts";
import { labwright } from "./cli.ts";
import { listLabNamespaces, running } from "./machine.ts";

/** `labwright gc` after a run was killed: it removes that run, and no process, namespace, mount or file of it survives. */
export async function expectGcRemoves(id: string, pids: readonly number[]): Promise<void> {
  const gc = await labwright(["gc"]);
  expect(gc.exitCode, gc.stderr).toBe(0);
  expect(gc.stdout).toContain(`removed run ${id}`);
  for (const p of pids) expect(running(p), `pid ${p}`).toBe(false);
  expect(listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`))).toEqual([]);
  expect(readFileSync("/proc/mounts", "utf8")).not.toContain(id);
  expect(existsSync(runDir(id))).toBe(false);
}
