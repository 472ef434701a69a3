// Prints the lab namespaces, run directories, labwright containers, labwright's incusd processes
// and its enclaves (the kolla nodes' OpenStack daemons live in one; with whatever they started) on
// this machine (JSON), so the
// suites' leftover check counts only what the suites themselves created: a user's own lab that is
// up is not a leftover.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** incusd processes labwright started: their environment names INCUS_DIR=/run/labwright-incus (topology/stacks/incus/daemon.ts). */
function incusds() {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, "utf8").startsWith("/usr/libexec/incus/incusd\0")) continue;
      if (readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes("INCUS_DIR=/run/labwright-incus")) out.push(d);
    } catch {
      /* gone */
    }
  }
  return out.sort();
}

/** Enclave keepers labwright started: `unshare ... sh -c <wrapper> labwright-enclave ...` (topology/backends/enclave.ts). */
function enclaves() {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (argv[0] === "unshare" && argv.includes("labwright-enclave")) out.push(d);
      // a run's root keeper (topology/backends/root.ts): its shell, then its sleeper
      else if ((argv[0] === "unshare" || argv[0] === "perl") && argv.includes("labwright-root")) out.push(d);
    } catch {
      /* gone */
    }
  }
  return out.sort();
}

export function leftovers() {
  const namespaces = existsSync("/run/netns")
    ? readdirSync("/run/netns")
        .filter((n) => n.startsWith("lw-"))
        .sort()
    : [];
  const runs = existsSync("/run/labwright") ? readdirSync("/run/labwright").sort() : [];
  let containers = [];
  try {
    containers = execFileSync("docker", ["ps", "-aq", "--filter", "label=labwright.run"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 15_000,
    })
      .split("\n")
      .filter(Boolean)
      .sort();
  } catch {
    /* no Docker engine: no containers */
  }
  return { namespaces, runs, containers, incusd: incusds(), enclaves: enclaves() };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(leftovers()));
