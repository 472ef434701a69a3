import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type ProcessRef, isAlive, selfRef } from "./process.ts";

/** Where runs keep their state: tmpfs, so a reboot (which also drops every namespace) clears it. */
export const STATE_ROOT = process.env.LABWRIGHT_STATE_DIR ?? "/run/labwright";
export const NS_PREFIX = "lw-";

export type Phase = "starting" | "up" | "stopping";

export interface RunState {
  id: string;
  lab: string;
  file: string;
  backend: string;
  createdAt: string;
  owner: ProcessRef;
  /** Started by `labwright up`: lives on after its owner exits, until `labwright down`. */
  persistent: boolean;
  phase: Phase;
  /** Recorded before they are created, so a crash mid-start leaves nothing unaccounted for. */
  namespaces: string[];
  processes: (ProcessRef & { name: string; node: string })[];
  /** Files outside the run directory (e.g. /etc/netns/<ns>/ for per-node resolv.conf). */
  paths: string[];
  /** Nodes and instances: their namespace, and the environment commands in them get (OVS/OVN directories). */
  nodes: Record<string, { namespace: string; env?: Record<string, string>; instanceOf?: string }>;
}

export function newRunId(): string {
  return randomBytes(3).toString("hex");
}

export function runDir(id: string): string {
  return join(STATE_ROOT, id);
}

export function namespaceName(runId: string, node?: string): string {
  return node === undefined ? `${NS_PREFIX}${runId}` : `${NS_PREFIX}${runId}-${node}`;
}

/** The run's state file, written atomically on every change. */
export class RunRecord {
  private constructor(readonly dir: string, private state: RunState) {}

  static create(init: Pick<RunState, "lab" | "file" | "backend">): RunRecord {
    mkdirSync(STATE_ROOT, { recursive: true, mode: 0o755 });
    for (;;) {
      const id = newRunId();
      const dir = runDir(id);
      try {
        mkdirSync(dir, { recursive: false, mode: 0o755 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw e;
      }
      const rec = new RunRecord(dir, {
        id,
        ...init,
        createdAt: new Date().toISOString(),
        owner: selfRef(),
        persistent: false,
        phase: "starting",
        namespaces: [],
        processes: [],
        paths: [],
        nodes: {},
      });
      rec.save();
      return rec;
    }
  }

  static open(id: string): RunRecord | null {
    const s = readState(id);
    return s ? new RunRecord(runDir(id), s) : null;
  }

  get id(): string {
    return this.state.id;
  }
  get snapshot(): Readonly<RunState> {
    return this.state;
  }

  update(fn: (s: RunState) => void): void {
    fn(this.state);
    this.save();
  }

  private save(): void {
    const tmp = join(this.dir, `.state.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    renameSync(tmp, join(this.dir, "state.json"));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function readState(id: string): RunState | null {
  try {
    return JSON.parse(readFileSync(join(runDir(id), "state.json"), "utf8")) as RunState;
  } catch {
    return null;
  }
}

export function listRunIds(): string[] {
  if (!existsSync(STATE_ROOT)) return [];
  return readdirSync(STATE_ROOT).filter((d) => /^[0-9a-f]{6}$/.test(d));
}

/** A run is dead when nobody will ever stop it: its owner is gone and it was not left up on purpose. */
export function isDead(s: RunState): boolean {
  if (isAlive(s.owner)) return false;
  return !s.persistent || s.phase !== "up";
}
