import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Temporary folders of one suite file (lab files written for a test, a run's JSON, a scratch
 * project): per-file.ts removes them when the file ends, or names them when a test of the file
 * failed, so that what the failure left stays to be read. Before this, every run of the suites left
 * about fifty `lw-*` folders in /tmp.
 */
const made: string[] = [];

/** A new empty folder under the system's temporary directory, named `<prefix>XXXXXX`. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes this file's folders (keep: only lists them); returns what was made. */
export function endScratch(keep: boolean): string[] {
  const dirs = made.splice(0);
  if (!keep) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return dirs;
}
