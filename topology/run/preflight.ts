import { accessSync, constants, lstatSync, readlinkSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";

/** Which Debian package provides each tool the labs use. */
export const TOOL_PACKAGES: Record<string, string> = {
  ip: "iproute2",
  bridge: "iproute2",
  ping: "iputils-ping",
  traceroute: "traceroute",
  nft: "nftables",
  sysctl: "procps",
  dnsmasq: "dnsmasq-base",
  busybox: "busybox",
  tcpdump: "tcpdump",
  getent: "libc-bin",
  bash: "bash",
  ethtool: "ethtool",
  "iptables-restore": "iptables",
  iptables: "iptables",
  curl: "curl",
  arping: "iputils-arping",
  unshare: "util-linux",
  nsenter: "util-linux",
  flock: "util-linux",
  openssl: "openssl",
  "apt-get": "apt",
  "dpkg-deb": "dpkg",
  cp: "coreutils",
  chroot: "coreutils",
  mount: "mount",
  debootstrap: "debootstrap",
  zstd: "zstd",
  tar: "tar",
  perl: "perl-base",
};

/**
 * A path inside a root filesystem with its last component's symlinks followed there: an absolute
 * target (Debian's alternatives: /usr/sbin/iptables → /etc/alternatives/iptables) is the root's,
 * not this machine's. Throws when a link loops.
 */
export function resolveIn(root: string, p: string): string {
  for (let hops = 0; hops < 40; hops++) {
    let target: string;
    try {
      if (!lstatSync(join(root, p)).isSymbolicLink()) return p;
      target = readlinkSync(join(root, p));
    } catch {
      return p;
    }
    p = isAbsolute(target) ? target : join(dirname(p), target);
  }
  throw new Error(`${p}: too many levels of symbolic links in ${root}`);
}

export class PreflightError extends Error {
  override name = "PreflightError";
}

/** The PATH directories of a toolchain root (this machine's own PATH is not its). */
const ROOT_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * Where a tool is on PATH (and in /usr/sbin, /sbin), executable; null when nowhere. Under `root`
 * (a toolchain's root filesystem; "/" is this machine's): the standard directories there, and
 * the path returned is the tool's path inside it.
 */
export function which(tool: string, root = "/"): string | null {
  const dirs = root === "/" ? (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin"]) : ROOT_PATH;
  for (const d of dirs) {
    try {
      accessSync(join(root, root === "/" ? join(d, tool) : resolveIn(root, join(d, tool))), constants.X_OK);
      return join(d, tool);
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * Checks, before anything is created, that we are root and that every needed tool is installed.
 * `packages`: which Debian package provides a tool not in TOOL_PACKAGES (a stack's own tools).
 */
export function preflight(tools: readonly string[], packages: Readonly<Record<string, string>> = {}, root = "/"): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new PreflightError(
      "labwright must run as root: it creates network namespaces, veths and bridges (nothing in the root namespace is configured). Run it with sudo.",
    );
  }
  const missing = tools.filter((t) => !which(t, root));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((t) => packages[t] ?? TOOL_PACKAGES[t] ?? t))];
    throw new PreflightError(
      root === "/"
        ? `missing tool${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}. Install with: apt-get install -y ${pkgs.join(" ")}  (or run scripts/setup.sh)`
        : `the toolchain at ${root} lacks ${missing.join(", ")} (Debian package${pkgs.length > 1 ? "s" : ""} ${pkgs.join(", ")}): add ${pkgs.length > 1 ? "them" : "it"} to its file in topology/toolchains/ and lock it again (labwright toolchain lock)`,
    );
  }
}
