/**
 * The grammars of every name a lab file (or a step's output) can bring into the system. A name
 * that passes one of these is a single token: no white space, no quote, no shell or `ip -batch`
 * meta-character, no leading '-' (so it cannot become an option), no control character.
 * model/ validates them at load; run/tokens.ts checks them again where a name enters a command.
 */

/** Lab, node, LAN and scenario names: also part of namespace and file names. */
export const NAME = /^[a-z][a-z0-9-]{0,30}$/;
export const NAME_HINT = "use a-z, 0-9 and '-', starting with a letter, at most 31 characters";

/** A Linux interface name (IFNAMSIZ - 1), as used for NICs and bridges. */
export const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
export const IFNAME_HINT = "use letters, digits, '_', '-' or '.' (not first), at most 15 characters";

/** Objects a step creates (Incus instances and networks, OpenStack routers, servers, networks, subnets). */
export const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
export const OBJECT_NAME_HINT = "use letters, digits, '_', '-' and '.', starting with a letter, at most 63 characters";

/** A DNS name (RFC 1123 labels). */
export const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Sysctl keys a node may set: only per-network-namespace families. Every other key (vm.*, kernel.*,
 * fs.*, net.core.rmem_max, ...) is host-wide: writing it from a lab node would change the machine.
 */
export const NETNS_SYSCTL_PREFIXES = [
  "net.ipv4.",
  "net.ipv6.",
  "net.netfilter.",
  "net.core.somaxconn",
  "net.unix.max_dgram_qlen",
  "net.mptcp.",
] as const;
export const SYSCTL_KEY = /^net\.[a-z0-9_]+(\.[A-Za-z0-9_-]+)*$/;
/** Values: numbers, words, space-separated number lists (tcp_rmem). */
export const SYSCTL_VALUE = /^[A-Za-z0-9_.:-]+( [A-Za-z0-9_.:-]+){0,7}$/;

export function isNetnsSysctl(key: string): boolean {
  return SYSCTL_KEY.test(key) && NETNS_SYSCTL_PREFIXES.some((p) => key === p || (p.endsWith(".") && key.startsWith(p)));
}

/** A token that may stand alone in an argv element, an `ip -batch` line or a generated script. */
export const TOKEN = /^[A-Za-z0-9_@%+=:,./][A-Za-z0-9_@%+=:,./-]*$/;
