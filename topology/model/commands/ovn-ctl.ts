import { isIPv4 } from "../addresses.ts";
import { splitCommand } from "./words.ts";

/**
 * `/etc/default/ovn-central` as the Incus OVN how-to prints it: `OVN_CTL_OPTS="…"`, the options the
 * Debian units pass to `ovn-ctl run_nb_ovsdb`, `run_sb_ovsdb` and `start_northd` (systemd reads the
 * file as an EnvironmentFile and splits `$OVN_CTL_OPTS` at whitespace). Only the options that say
 * where the databases listen, how they cluster (raft) and where ovn-northd finds them are accepted,
 * each with its value checked: anything naming a file, a user or a wrapper is refused, because on a
 * namespace node it would reach this machine's files.
 */

/** One database's settings (NB or SB), with ovn-ctl's defaults. */
export interface OvnDbSettings {
  /** `--db-xx-addr` (default 0.0.0.0) and `--db-xx-port` (6641 / 6642): the ptcp remote when `insecureRemote`. */
  readonly addr: string;
  readonly port: number;
  /** `--db-xx-create-insecure-remote=yes`. */
  readonly insecureRemote: boolean;
  /** `--db-xx-use-remote-in-db` (default yes): also listen on what `set-connection` wrote. */
  readonly remoteInDb: boolean;
  /** `--db-xx-cluster-local-addr/-port` (6643 / 6644): this member's raft address; set = clustered. */
  readonly clusterLocal?: { readonly addr: string; readonly port: number };
  /** `--db-xx-cluster-remote-addr/-port`: the member to join (absent on the member that creates the cluster). */
  readonly clusterRemote?: { readonly addr: string; readonly port: number };
}

export interface OvnCentralSettings {
  readonly nb: OvnDbSettings;
  readonly sb: OvnDbSettings;
  /** `--ovn-northd-nb-db` / `--ovn-northd-sb-db` (default: the local unix sockets). */
  readonly northdNb?: string;
  readonly northdSb?: string;
  /** The options as written, for the report. */
  readonly options: readonly string[];
}

type Kind = "addr" | "port" | "yesno" | "dblist";
const OPTIONS: Record<string, Kind> = {};
for (const d of ["nb", "sb"]) {
  OPTIONS[`db-${d}-addr`] = "addr";
  OPTIONS[`db-${d}-port`] = "port";
  OPTIONS[`db-${d}-create-insecure-remote`] = "yesno";
  OPTIONS[`db-${d}-use-remote-in-db`] = "yesno";
  OPTIONS[`db-${d}-cluster-local-addr`] = "addr";
  OPTIONS[`db-${d}-cluster-local-port`] = "port";
  OPTIONS[`db-${d}-cluster-remote-addr`] = "addr";
  OPTIONS[`db-${d}-cluster-remote-port`] = "port";
  OPTIONS[`ovn-northd-${d}-db`] = "dblist";
}

const DB_REMOTE = /^tcp:(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/;

function valueProblem(kind: Kind, v: string): string | undefined {
  switch (kind) {
    case "addr":
      return isIPv4(v) ? undefined : "is not an IPv4 address";
    case "port":
      return /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : "is not a port (1-65535)";
    case "yesno":
      return v === "yes" || v === "no" ? undefined : "is neither yes nor no";
    case "dblist":
      return v.split(",").every((r) => {
        const m = DB_REMOTE.exec(r);
        return m && isIPv4(m[1]!) && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
      })
        ? undefined
        : "is not a comma-separated list of tcp:<address>:<port>";
  }
}

const near = (o: string) =>
  Object.keys(OPTIONS)
    .filter((k) => k.split("-").filter((w) => o.includes(w)).length >= 3)
    .slice(0, 1);

/**
 * Reads the file's text. Returns the settings, or the problems (each: what is wrong, what to do).
 * `own`: the node's addresses (a listening or raft address must be one of them, or 0.0.0.0 to listen).
 */
export function parseOvnCentralDefaults(
  text: string,
  own: readonly string[],
): { settings?: OvnCentralSettings; problems: [string, string][] } {
  const problems: [string, string][] = [];
  const bad = (what: string, todo: string) => (problems.push([what, todo]), { problems });
  const lines = text.split("\n");
  const start = lines.findIndex((l) => !/^\s*(#.*)?$/.test(l));
  if (start < 0) return bad("the file sets nothing", 'write OVN_CTL_OPTS="…" as the how-to prints it');
  let words: string[];
  try {
    words = splitCommand(lines.slice(start).join("\n")).words;
  } catch (e) {
    return bad(`not a shell assignment: ${(e as Error).message}`, 'write OVN_CTL_OPTS="--opt=value \\ …" (a line ending in \\ continues)');
  }
  const m = /^OVN_CTL_OPTS=([\s\S]*)$/.exec(words[0] ?? "");
  if (words.length !== 1 || !m)
    return bad(
      "only one assignment, OVN_CTL_OPTS=…, is understood here",
      'quote the value so it is one word (OVN_CTL_OPTS=" … "), and put other settings in comments',
    );
  const options = m[1]!.split(/\s+/).filter(Boolean);
  const set = new Map<string, string>();
  for (const o of options) {
    const om = /^--([a-z0-9-]+)=(.*)$/.exec(o);
    const kind = om ? OPTIONS[om[1]!] : undefined;
    if (!om || !kind) {
      const alt = om ? near(om[1]!) : [];
      problems.push([
        `ovn-ctl option ${JSON.stringify(o)} is not one labwright runs`,
        `${alt.length ? `did you mean --${alt[0]}? ` : ""}use --<option>=<value> with one of: ${Object.keys(OPTIONS)
          .map((k) => `--${k}`)
          .join(", ")} (options naming files, users or wrappers are refused)`,
      ]);
      continue;
    }
    const vp = valueProblem(kind, om[2]!);
    if (vp) problems.push([`--${om[1]}=${om[2]}: ${JSON.stringify(om[2])} ${vp}`, "give the value the how-to shows"]);
    else set.set(om[1]!, om[2]!);
  }
  const db = (d: "nb" | "sb", port: number, raftPort: number): OvnDbSettings => {
    const g = (k: string) => set.get(`db-${d}-${k}`);
    const local = g("cluster-local-addr");
    const remote = g("cluster-remote-addr");
    const addr = g("addr") ?? "0.0.0.0";
    if (addr !== "0.0.0.0" && !own.includes(addr))
      problems.push([`--db-${d}-addr=${addr} is not an address of this node`, `use one of ${own.join(", ") || "(none)"}, or 0.0.0.0`]);
    if (local && !own.includes(local))
      problems.push([`--db-${d}-cluster-local-addr=${local} is not an address of this node`, `use one of ${own.join(", ") || "(none)"}`]);
    if (remote && !local)
      problems.push([`--db-${d}-cluster-remote-addr needs --db-${d}-cluster-local-addr`, "give this member's own raft address too"]);
    return {
      addr,
      port: Number(g("port") ?? port),
      insecureRemote: g("create-insecure-remote") === "yes",
      remoteInDb: g("use-remote-in-db") !== "no",
      clusterLocal: local ? { addr: local, port: Number(g("cluster-local-port") ?? raftPort) } : undefined,
      clusterRemote: remote ? { addr: remote, port: Number(g("cluster-remote-port") ?? raftPort) } : undefined,
    };
  };
  const settings: OvnCentralSettings = {
    nb: db("nb", 6641, 6643),
    sb: db("sb", 6642, 6644),
    northdNb: set.get("ovn-northd-nb-db"),
    northdSb: set.get("ovn-northd-sb-db"),
    options,
  };
  return problems.length ? { problems } : { settings, problems };
}
