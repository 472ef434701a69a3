import { execFileSync, spawnSync } from "node:child_process";
import { distIsFresh, ROOT } from "../scripts/dist.mjs";
import { preflight } from "../topology/run/preflight.ts";

/**
 * The suites need root and this machine's tools: say so once, clearly, before any test runs. Then dist/
 * is built if the sources changed since it was: the CLI the suites call a hundred-odd times runs
 * from it (scripts/labwright.mjs), 1.3 s faster a start than through tsx. Then the toolchain every
 * lab runs in is built unless this machine has it (minutes, once per lock: a test would time out).
 */
export default function setup(): void {
  // This machine's own tools (scripts/setup.sh); the labs' software is the toolchain's, built below.
  preflight(["ip", "bridge", "sysctl", "nft", "tcpdump", "unshare", "nsenter", "debootstrap", "openssl"]);
  if (!distIsFresh()) execFileSync(process.execPath, [`${ROOT}scripts/build.mjs`], { stdio: "inherit" });
  execFileSync(process.execPath, [`${ROOT}scripts/labwright.mjs`, "toolchain", "build"], { stdio: "inherit" });
  // The container nodes' image of it, where a Docker engine runs (a minute or so, once per lock: a container suite's hook would time out).
  if (spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0)
    execFileSync(process.execPath, [`${ROOT}scripts/labwright.mjs`, "toolchain", "image"], { stdio: "inherit" });
}
