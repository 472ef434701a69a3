// Prints the lab namespaces, run directories and labwright containers on this machine (JSON), so the
// suites' leftover check counts only what the suites themselves created: a user's own lab that is
// up is not a leftover.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

export function leftovers() {
  const namespaces = existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith("lw-")).sort() : [];
  const runs = existsSync("/run/labwright") ? readdirSync("/run/labwright").sort() : [];
  let containers = [];
  try {
    containers = execFileSync("docker", ["ps", "-aq", "--filter", "label=labwright.run"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 15_000 })
      .split("\n")
      .filter(Boolean)
      .sort();
  } catch {
    /* no Docker engine: no containers */
  }
  return { namespaces, runs, containers };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(leftovers()));
