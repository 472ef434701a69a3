import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { type ProcessRef, isAlive, selfRef } from "./process.ts";

/** Where runs keep their state: tmpfs, so a reboot (which also drops every namespace) clears it. */
export const STATE_ROOT = process.env.LABWRIGHT_STATE_DIR ?? "/run/labwright";
export const NS_PREFIX = "lw-";
export const RUN_ID = /^[0-9a-f]{6}$/;
/** What may follow `lw-<run>-` in a namespace name: a node, an instance, a router or DHCP namespace. */
const NS_NODE = /^[A-Za-z][A-Za-z0-9_.-]{0,79}$/;

export type Phase = "starting" | "up" | "stopping";

const Ref = z.object({ pid: z.int().positive(), start: z.number().nonnegative() });

const RunStateSchema = z.object({
  id: z.string().regex(RUN_ID),
  lab: z.string(),
  file: z.string(),
  backend: z.string(),
  createdAt: z.string(),
  owner: Ref,
  /** Started by `labwright up`: lives on after its owner exits, until `labwright down`. */
  persistent: z.boolean(),
  phase: z.enum(["starting", "up", "stopping"]),
  /** Recorded before they are created, so a crash mid-start leaves nothing unaccounted for. */
  namespaces: z.array(z.string()),
  /** `hard`: ended with SIGKILL at once (it ends everything it started with it: incusd's pid namespace). */
  processes: z.array(Ref.extend({ name: z.string(), node: z.string(), hard: z.boolean().optional() })),
  /** The run's root (topology/backends/root.ts): the keeper whose mount namespace has the toolchain as `/`. */
  root: Ref.optional(),
  /** Files outside the run directory (e.g. /etc/netns/<ns>/ for per-node resolv.conf). */
  paths: z.array(z.string()),
  /** Nodes and instances: their namespace, and the environment commands in them get (OVS/OVN directories). */
  nodes: z.record(
    z.string(),
    z.object({
      namespace: z.string(),
      env: z.record(z.string(), z.string()).optional(),
      instanceOf: z.string().optional(),
      /** The node's container (container backend). */
      container: z.object({ id: z.string(), pid: z.int().positive() }).optional(),
    }),
  ),
});

export type RunState = z.output<typeof RunStateSchema>;

export function newRunId(): string {
  return randomBytes(3).toString("hex");
}

export function runDir(id: string): string {
  if (!RUN_ID.test(id)) throw new Error(`not a run id: ${JSON.stringify(id)}`);
  return join(STATE_ROOT, id);
}

/** A node's (or guest's) own directory in the run directory: OVS/OVN state, service roots, logs. */
export function nodeDir(runDirPath: string, node: string): string {
  return join(runDirPath, "nodes", node);
}

/** A node's namespace name. Both parts are checked: the name becomes a file under /run/netns and /etc/netns. */
export function namespaceName(runId: string, node?: string): string {
  if (!RUN_ID.test(runId)) throw new Error(`not a run id: ${JSON.stringify(runId)}`);
  if (node === undefined) return `${NS_PREFIX}${runId}`;
  if (!NS_NODE.test(node))
    throw new Error(
      `refusing to name a namespace after ${JSON.stringify(node)}: a node or guest name is letters, digits, '_', '-' and '.', starting with a letter`,
    );
  return `${NS_PREFIX}${runId}-${node}`;
}

/** Does this namespace name belong to run `id`? */
export function ownedBy(id: string, ns: string): boolean {
  return ns === `${NS_PREFIX}${id}` || ns.startsWith(`${NS_PREFIX}${id}-`);
}

const PRIVATE_FILE = 0o600;
const PRIVATE_DIR = 0o700;

function writePrivate(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: PRIVATE_FILE });
  renameSync(tmp, join(dir, name));
}

/** The state root exists and only root reads it (run states name every namespace and daemon of a run). */
function stateRoot(): void {
  mkdirSync(STATE_ROOT, { recursive: true, mode: PRIVATE_DIR });
  if ((statSync(STATE_ROOT).mode & 0o077) !== 0) chmodSync(STATE_ROOT, PRIVATE_DIR);
}

/**
 * The run's state file, written atomically on every change. Beside it, `owner.json` is written once
 * before anything else and never again, and `persistent` marks a run left up by `labwright up`: gc can
 * still tell a live run from a dead one when state.json is damaged.
 */
export class RunRecord {
  private constructor(
    readonly dir: string,
    private state: RunState,
  ) {}

  static create(init: Pick<RunState, "lab" | "file" | "backend">): RunRecord {
    stateRoot();
    for (;;) {
      const id = newRunId();
      const dir = runDir(id);
      try {
        mkdirSync(dir, { recursive: false, mode: PRIVATE_DIR });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw e;
      }
      const owner = selfRef();
      writePrivate(dir, "owner.json", JSON.stringify(owner));
      const rec = new RunRecord(dir, {
        id,
        ...init,
        createdAt: new Date().toISOString(),
        owner,
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

  get id(): string {
    return this.state.id;
  }
  get snapshot(): Readonly<RunState> {
    return this.state;
  }

  update(fn: (s: RunState) => void): void {
    fn(this.state);
    if (this.state.persistent && this.state.phase === "up") writePrivate(this.dir, "persistent", "");
    this.save();
  }

  private save(): void {
    writePrivate(this.dir, "state.json", JSON.stringify(this.state, null, 2));
  }
}

/** What a run directory says about its run, trusting nothing in it beyond what it can check. */
export type RunInfo =
  | { id: string; ok: true; state: RunState }
  | { id: string; ok: false; why: string; owner: ProcessRef | null; persistent: boolean; ageMs: number };

export function inspectRun(id: string): RunInfo {
  const dir = runDir(id);
  let why: string;
  try {
    const text = readFileSync(join(dir, "state.json"), "utf8");
    if (!text.trim()) why = "state.json is empty";
    else {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const r = RunStateSchema.safeParse(json);
      if (json === undefined) why = "state.json is not JSON (truncated or garbage)";
      else if (!r.success)
        why = `state.json is not a run state (${r.error.issues[0]?.path.join(".") || "document"}: ${r.error.issues[0]?.message})`;
      else if (r.data.id !== id) why = `state.json names run ${r.data.id}, not ${id} (a copy of another run's state)`;
      else return { id, ok: true, state: r.data };
    }
  } catch (e) {
    why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no state.json" : `state.json unreadable: ${(e as Error).message}`;
  }
  let owner: ProcessRef | null = null;
  try {
    const o = Ref.safeParse(JSON.parse(readFileSync(join(dir, "owner.json"), "utf8")));
    if (o.success) owner = o.data;
  } catch {
    /* no usable owner file */
  }
  let ageMs = 0;
  try {
    ageMs = Date.now() - statSync(dir).mtimeMs;
  } catch {
    /* vanished */
  }
  return { id, ok: false, why, owner, persistent: existsSync(join(dir, "persistent")), ageMs };
}

/** The state of a run, or null when it has none that can be trusted (see inspectRun for why). */
export function readState(id: string): RunState | null {
  if (!RUN_ID.test(id)) return null;
  const info = inspectRun(id);
  return info.ok ? info.state : null;
}

export function listRunIds(): string[] {
  if (!existsSync(STATE_ROOT)) return [];
  return readdirSync(STATE_ROOT).filter((d) => RUN_ID.test(d));
}

/** A run is dead when nobody will ever stop it: its owner is gone and it was not left up on purpose. */
export function isDead(s: RunState): boolean {
  if (isAlive(s.owner)) return false;
  return !s.persistent || s.phase !== "up";
}

/**
 * A damaged run: dead when its owner (from owner.json) is gone and it was not left up; with no owner
 * file either, when nothing has touched its directory for a minute (a live run writes its files at once).
 */
export function isDeadDamaged(info: Extract<RunInfo, { ok: false }>): boolean {
  if (info.owner) return !isAlive(info.owner) && !info.persistent;
  return info.ageMs > 60_000 && !info.persistent;
}

export function removeRunDir(id: string): void {
  rmSync(runDir(id), { recursive: true, force: true });
}
