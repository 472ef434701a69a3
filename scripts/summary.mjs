// Reads vitest's JSON report, adds a check that the machine was left clean, prints the totals line.
import { existsSync, readFileSync } from "node:fs";
import { leftovers } from "./leftovers.mjs";

const file = process.argv[2] ?? "results/vitest.json";
let passed = 0;
let failed = 0;
let skipped = 0;
if (!existsSync(file)) {
  console.log("summary: vitest wrote no report (it could not start): counting one failure");
  failed = 1;
} else {
  const r = JSON.parse(readFileSync(file, "utf8"));
  passed = r.numPassedTests;
  failed = r.numFailedTests;
  skipped = r.numPendingTests + r.numTodoTests;
  // A file that fails outside any test (a broken beforeAll/afterAll, an import error) counts too.
  for (const s of r.testResults) {
    const testFailed = s.assertionResults.some((a) => a.status === "failed");
    if (s.status === "failed" && !testFailed) {
      console.log(`summary: ${s.name}: ${s.message || "failed outside its tests"}`);
      failed++;
    }
  }
}
// Leftovers: no lab namespace, run directory or container created during the suites may survive them
// (what was there before, e.g. a user's own `labwright up`, is not counted).
const dir0 = file.replace(/[^/]*$/, "");
const before = existsSync(`${dir0}leftovers-before.json`)
  ? JSON.parse(readFileSync(`${dir0}leftovers-before.json`, "utf8"))
  : { namespaces: [], runs: [], containers: [] };
const now = leftovers();
const ns = now.namespaces.filter((n) => !before.namespaces.includes(n));
const runs = now.runs.filter((r) => !before.runs.includes(r));
const ctrs = now.containers.filter((c) => !(before.containers ?? []).includes(c));
const incusd = now.incusd.filter((p) => !(before.incusd ?? []).includes(p));
const enclaves = now.enclaves.filter((p) => !(before.enclaves ?? []).includes(p));
if (ns.length || runs.length || ctrs.length || incusd.length || enclaves.length) {
  console.log(
    `summary: left behind after the suites: namespaces [${ns.join(", ")}], run dirs [${runs.join(", ")}], containers [${ctrs.join(", ")}], incusd processes [${incusd.join(", ")}], enclaves (OpenStack daemons) [${enclaves.join(", ")}]`,
  );
  failed++;
} else passed++;
// The root namespace must be exactly as it was before the suites (it is never configured).
const dir = file.replace(/[^/]*$/, "");
if (existsSync(`${dir}root-before.json`) && existsSync(`${dir}root-after.json`)) {
  const before = readFileSync(`${dir}root-before.json`, "utf8");
  const after = readFileSync(`${dir}root-after.json`, "utf8");
  if (before === after) passed++;
  else {
    console.log(`summary: the root namespace changed during the suites: compare ${dir}root-before.json and ${dir}root-after.json`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
