import { execFileSync } from "node:child_process";
import { distIsFresh, ROOT } from "../scripts/dist.mjs";
import { preflight } from "../topology/run/preflight.ts";

/**
 * The suites need root and the lab tools: say so once, clearly, before any test runs. Then dist/
 * is built if the sources changed since it was: the CLI the suites call a hundred-odd times runs
 * from it (scripts/labwright.mjs), 1.3 s faster a start than through tsx. Then the toolchain every
 * lab runs in is built unless this machine has it (minutes, once per lock: a test would time out).
 */
export default function setup(): void {
  preflight(["ip", "bridge", "sysctl", "bash", "ping", "traceroute", "getent", "tcpdump", "nft", "dnsmasq", "busybox"]);
  if (!distIsFresh()) execFileSync(process.execPath, [`${ROOT}scripts/build.mjs`], { stdio: "inherit" });
  execFileSync(process.execPath, [`${ROOT}scripts/labwright.mjs`, "toolchain", "build"], { stdio: "inherit" });
}
