import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as prettier from "prettier";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/**
 * The code is formatted by prettier (.prettierrc.json: 140 columns; .prettierignore says which files):
 * every file git tracks that prettier formats must be as prettier writes it (`npx prettier --write .`
 * fixes it). Runs in the suites, so `.ci/run` checks it.
 */
const root = resolve(import.meta.dirname, "../..");

describe("formatting", () => {
  it("every TypeScript and JavaScript file of topology/, suites/ and scripts/ is as prettier writes it", async () => {
    const tracked = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: root, encoding: "utf8" }).trim().split("\n");
    const unformatted: string[] = [];
    let checked = 0;
    for (const f of tracked) {
      const file = resolve(root, f);
      const info = await prettier.getFileInfo(file, { ignorePath: resolve(root, ".prettierignore") });
      if (info.ignored || !info.inferredParser) continue;
      checked++;
      const options = await prettier.resolveConfig(file);
      if (!(await prettier.check(readFileSync(file, "utf8"), { ...options, filepath: file }))) unformatted.push(f);
    }
    expect(checked).toBeGreaterThan(100);
    expect(unformatted, "run: npx prettier --write .").toEqual([]);
  });
});
