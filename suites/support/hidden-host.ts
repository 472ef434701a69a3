import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { execa } from "execa";
import { CLI, ROOT } from "./cli.ts";

/**
 * This machine's own copies of the lab software, made unreachable for one command: it runs in a
 * mount namespace of its own (a slave of this machine's: nothing mounted in it comes back) where a
 * tmpfs covers the software's directories and /dev/null each of its programs. On a machine where
 * none of these packages is installed there is nothing to hide and the command runs as it is.
 */

/** The Debian packages of the lab software labwright runs from its toolchain. */
export const HIDDEN_PACKAGES = [
  "incus-base",
  "incus-client",
  "liblxc1",
  "openvswitch-common",
  "openvswitch-switch",
  "ovn-common",
  "ovn-central",
  "ovn-host",
  "neutron-common",
  "neutron-server",
  "neutron-openvswitch-agent",
  "neutron-l3-agent",
  "neutron-dhcp-agent",
  "neutron-metadata-agent",
  "python3-openstackclient",
  "mariadb-server",
  "mariadb-client",
  "rabbitmq-server",
  "erlang-base",
  "haproxy",
  "dnsmasq-base",
  "busybox",
  "python3-nova",
  "uwsgi-core",
];

/** Whole directories of that software. */
const DIRS = [
  "/usr/libexec/incus",
  "/usr/lib/x86_64-linux-gnu/lxc",
  "/usr/lib/rabbitmq",
  "/usr/lib/erlang",
  "/usr/lib/openvswitch-switch",
  "/usr/share/openvswitch",
  "/usr/share/ovn",
  "/usr/lib/python3/dist-packages",
  "/etc/neutron",
  "/etc/openvswitch",
];

/** The programs of those packages installed here (dpkg's file lists), under bin/ and sbin/. */
export function hostPrograms(): string[] {
  let out = "";
  try {
    out = execFileSync("dpkg-query", ["-L", ...HIDDEN_PACKAGES], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? ""); // some are not installed: dpkg-query exits 1 and lists the rest
  }
  return [...new Set(out.split("\n").filter((f) => /^\/(usr\/)?s?bin\/[^/]+$/.test(f) && existsSync(f)))].sort();
}

/** argv running `argv` with the software hidden; it first checks that `probe` (a hidden program, if any) no longer runs. */
export function withHostSoftwareHidden(argv: readonly string[]): { argv: string[]; hidden: number } {
  const programs = hostPrograms();
  const dirs = DIRS.filter((d) => existsSync(d));
  const script = [
    "set -e",
    // Programs first: some are links into the directories, which the tmpfs then covers.
    'for f in $PROGRAMS; do mount --bind /dev/null "$f"; done',
    'for d in $DIRS; do mount -t tmpfs -o ro,mode=755 labwright-hidden "$d"; done',
    // The proof that the hiding holds: each hidden program fails to start.
    'for f in $PROGRAMS; do if "$f" --version >/dev/null 2>&1; then echo "still runs: $f" >&2; exit 97; fi; done',
    'exec "$@"',
  ].join("\n");
  return {
    argv: [
      "env",
      `DIRS=${dirs.join(" ")}`,
      `PROGRAMS=${programs.join(" ")}`,
      "unshare",
      "--mount",
      "--propagation",
      "slave",
      "sh",
      "-c",
      script,
      "hidden",
      ...argv,
    ],
    hidden: programs.length + dirs.length,
  };
}

/**
 * Runs the labwright CLI as `labwright()` does (support/cli.ts), with this machine's copies of the
 * lab software hidden. `timeoutMs` bounds a hung run; it is not a wait.
 */
export function hiddenLabwright(args: string[], timeoutMs: number) {
  const { argv } = withHostSoftwareHidden([process.execPath, CLI, ...args]);
  return execa(argv[0]!, argv.slice(1), { reject: false, cwd: ROOT, env: { NO_COLOR: "1" }, timeout: timeoutMs });
}
