import { posix } from "node:path";
import type { Host } from "../backends/host.ts";

/** A file in a node, as the node sees it. */
export interface FileState {
  kind: "file";
  path: string;
  exists: boolean;
  content?: string;
}

export async function fileState(host: Host, path: string): Promise<FileState> {
  const content = await host.readFile(path);
  return content === null ? { kind: "file", path, exists: false } : { kind: "file", path, exists: true, content };
}

export interface UnitState {
  kind: "unit";
  name: string;
  /** From systemd (`systemctl is-active`), or null where no systemd runs in the node. */
  state: string | null;
  /** The unit file and drop-ins that define it, in the order systemd reads them. */
  files: string[];
  /** ExecStart lines after the unit file and its drop-ins (an empty `ExecStart=` clears the list), as systemd resolves them. */
  execStart: string[];
}

const UNIT_DIRS = [
  "/etc/systemd/system",
  "/run/systemd/system",
  "/usr/local/lib/systemd/system",
  "/lib/systemd/system",
  "/usr/lib/systemd/system",
];

/** ExecStart lines of one unit file's [Service] section, in order ("" for a reset). */
function execStarts(text: string): string[] {
  const out: string[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else if (section === "Service") {
      const m = /^ExecStart\s*=\s*(.*)$/.exec(line);
      if (m) out.push(m[1]!.trim());
    }
  }
  return out;
}

/**
 * A unit's state and its effective ExecStart, read from the node's files the way systemd merges
 * them: the first unit file found in the search path, then `<unit>.d/*.conf` drop-ins from every
 * directory, in file-name order (a later directory's file of the same name is shadowed).
 */
export async function unitState(host: Host, name: string): Promise<UnitState> {
  const files: string[] = [];
  let exec: string[] = [];
  for (const dir of UNIT_DIRS) {
    const text = await host.readFile(posix.join(dir, name));
    if (text !== null) {
      files.push(posix.join(dir, name));
      exec = execStarts(text);
      break;
    }
  }
  const dropins = new Map<string, string>();
  for (const dir of [...UNIT_DIRS].reverse()) {
    for (const f of await host.list(posix.join(dir, `${name}.d`))) if (f.endsWith(".conf")) dropins.set(f, posix.join(dir, `${name}.d`, f));
  }
  for (const f of [...dropins.keys()].sort()) {
    const path = dropins.get(f)!;
    const text = await host.readFile(path);
    if (text === null) continue;
    files.push(path);
    for (const line of execStarts(text)) exec = line === "" ? [] : [...exec, line];
  }
  let state: string | null = null;
  if (await host.exists("/run/systemd/system")) {
    const r = await host.exec(["systemctl", "is-active", "--", name], { timeoutS: 15 });
    state = r.stdout.trim() || null;
  }
  return { kind: "unit", name, state, files, execStart: exec.filter((l) => l !== "") };
}

export interface AppArmorState {
  kind: "apparmor";
  profile: string;
  /** Null when the node's kernel has no AppArmor. */
  loaded: boolean | null;
  mode?: string;
}

export async function apparmorState(host: Host, profile: string): Promise<AppArmorState> {
  const list = await host.readFile("/sys/kernel/security/apparmor/profiles");
  if (list === null) return { kind: "apparmor", profile, loaded: null };
  const line = list.split("\n").find((l) => l.startsWith(`${profile} (`));
  return { kind: "apparmor", profile, loaded: !!line, mode: line ? /\((\w+)\)/.exec(line)?.[1] : undefined };
}

export interface PackageState {
  kind: "package";
  name: string;
  installed: boolean;
  version?: string;
  error?: string;
}

export async function packageState(host: Host, name: string): Promise<PackageState> {
  const r = await host.exec(["dpkg-query", "-W", "-f", "${Status}\\t${Version}", "--", name], { timeoutS: 15 });
  if (r.exitCode === null && !r.timedOut) return { kind: "package", name, installed: false, error: r.stderr.trim() };
  const [status = "", version] = r.stdout.split("\t");
  const installed = r.exitCode === 0 && status.endsWith(" installed");
  return { kind: "package", name, installed, ...(installed ? { version } : {}) };
}

export interface SysctlState {
  kind: "sysctl";
  key: string;
  value: string | null;
  error?: string;
}

export async function sysctlState(host: Host, key: string): Promise<SysctlState> {
  const r = await host.exec(["sysctl", "-n", "--", key], { timeoutS: 15 });
  return r.exitCode === 0
    ? { kind: "sysctl", key, value: r.stdout.trim().replace(/\s+/g, " ") }
    : { kind: "sysctl", key, value: null, error: (r.stderr || r.stdout).trim() };
}
