// Reads vitest's JSON report, adds a check that the machine was left clean, prints the totals line.
import { existsSync, readdirSync, readFileSync } from "node:fs";

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
// Leftovers: no lab namespace and no run directory created during the suites may survive them
// (what was there before, e.g. a user's own `labwright up`, is not counted).
const dir0 = file.replace(/[^/]*$/, "");
const before = existsSync(`${dir0}leftovers-before.json`) ? JSON.parse(readFileSync(`${dir0}leftovers-before.json`, "utf8")) : { namespaces: [], runs: [] };
const ns = (existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith("lw-")) : []).filter((n) => !before.namespaces.includes(n));
const runs = (existsSync("/run/labwright") ? readdirSync("/run/labwright") : []).filter((r) => !before.runs.includes(r));
if (ns.length || runs.length) {
  console.log(`summary: left behind after the suites: namespaces [${ns.join(", ")}], run dirs [${runs.join(", ")}]`);
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
