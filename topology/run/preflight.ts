import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

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
  perl: "perl-base",
};

export class PreflightError extends Error {
  override name = "PreflightError";
}

/** Where a tool is on PATH (and in /usr/sbin, /sbin), executable; null when nowhere. */
export function which(tool: string): string | null {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin"]);
  for (const d of dirs) {
    try {
      accessSync(join(d, tool), constants.X_OK);
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
export function preflight(tools: readonly string[], packages: Readonly<Record<string, string>> = {}): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new PreflightError(
      "labwright must run as root: it creates network namespaces, veths and bridges (nothing in the root namespace is configured). Run it with sudo.",
    );
  }
  const missing = tools.filter((t) => !which(t));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((t) => packages[t] ?? TOOL_PACKAGES[t] ?? t))];
    throw new PreflightError(
      `missing tool${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}. Install with: apt-get install -y ${pkgs.join(" ")}  (or run scripts/setup.sh)`,
    );
  }
}
