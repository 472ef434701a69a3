import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Daemon, Host } from "../backends/host.ts";
import { signalProcess } from "../backends/spawn.ts";
import type { Step } from "../model/types.ts";
import { isAlive } from "../run/process.ts";
import type { CommandResult } from "../run/exec.ts";
import type { RunRecord } from "../run/state.ts";
import { watchArgv, watchFigures, type WatchResult } from "../probes/watch.ts";
import { HELPER } from "../probes/sockets.ts";

type WatchStep = Extract<Step, { kind: "watch" }>;

interface Running {
  step: WatchStep;
  daemon: Daemon;
  startedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The watches of a started lab: each a ping process in its node or guest, recorded in the run state
 * like any daemon (so teardown and gc end it), stopped together — when the scenario's steps are
 * done, or when a watch's figures are first asked for — and then read into figures. The steps that
 * run meanwhile are marked on the watches' timeline.
 */
export class Watches {
  private readonly running = new Map<string, Running>();
  private readonly finished = new Map<string, WatchResult>();
  private readonly marks: { label: string; name?: string; start: number; end: number }[] = [];

  constructor(
    private readonly deps: {
      host(name: string): Host;
      addressOf(from: string, to: string): string;
      record: RunRecord;
      /** Where the pings' output goes, on this machine. */
      dir: string;
    },
  ) {}

  async start(step: WatchStep): Promise<CommandResult> {
    const argv = ["labwright", "watch", step.watch];
    const fail = (stderr: string): CommandResult => ({
      argv,
      exitCode: 1,
      signal: null,
      stdout: "",
      stderr,
      timedOut: false,
      durationMs: 0,
    });
    if (this.running.has(step.watch) || this.finished.has(step.watch)) return fail(`watch ${step.watch} was already started`);
    const host = this.deps.host(step.on);
    // ping and tcp go to an address labwright resolves (as reach and tcp checks do); http and dns
    // leave the URL's host and the name to the node's own resolver.
    const target = step.probe === "ping" || step.probe === "tcp" ? this.deps.addressOf(step.on, step.to) : step.to;
    const log = join(this.deps.dir, `watch-${step.watch}.out`);
    const startedAt = Date.now();
    const probeArgv =
      step.probe === "ping"
        ? watchArgv(target, step.intervalMs)
        : [process.execPath, HELPER, "watch", step.probe, String(step.intervalMs), target, ...(step.port ? [String(step.port)] : [])];
    const daemon = host.spawn(`watch-${step.watch}`, probeArgv, { log });
    this.deps.record.update((s) => s.processes.push({ ...daemon.ref, name: daemon.name, node: step.on }));
    // ping prints its PING line once it has resolved the target and opened its socket; the helper its
    // WATCH line before its first probe (node's own start takes a few hundred ms).
    const ready = step.probe === "ping" ? /^PING /m : /^WATCH /m;
    for (let k = 0; k < 200 && isAlive(daemon.ref) && !ready.test(read(log)); k++) await sleep(25);
    if (!isAlive(daemon.ref) || !ready.test(read(log)))
      return fail(`the ${step.probe} watch from ${step.on} to ${step.to} did not start: ${read(log).trim().slice(0, 300)}`);
    this.running.set(step.watch, { step, daemon, startedAt });
    return {
      argv,
      exitCode: 0,
      signal: null,
      stdout: `watch ${step.watch}: ${step.on} ${{ ping: "pings", tcp: "connects to", http: "GETs", dns: "looks up" }[step.probe]} ${target}${step.port ? `:${step.port}` : ""} every ${step.intervalMs} ms\n`,
      stderr: "",
      timedOut: false,
      durationMs: Date.now() - startedAt,
    };
  }

  /** A step that ran (epoch ms), kept for the timeline of every watch that runs meanwhile. */
  mark(label: string, name: string | undefined, start: number, end: number): void {
    if (this.running.size) this.marks.push({ label, name, start, end });
  }

  get active(): boolean {
    return this.running.size > 0;
  }

  /** Stops every running watch (SIGINT: ping prints its summary) and reads its figures. */
  async stopAll(): Promise<void> {
    const stoppedAt = Date.now();
    const all = [...this.running.values()];
    this.running.clear();
    for (const w of all) signalProcess(w.daemon, "SIGINT");
    for (const w of all) {
      for (let k = 0; k < 100 && isAlive(w.daemon.ref); k++) await sleep(20);
      if (isAlive(w.daemon.ref)) signalProcess(w.daemon, "SIGKILL");
      const s = w.step;
      const to = s.probe === "tcp" ? `${s.to}:${s.port}/tcp` : s.probe === "dns" ? `${s.to} (DNS)` : s.to;
      const spec = { name: s.watch, from: s.on, to, intervalMs: s.intervalMs, probe: s.probe };
      this.finished.set(w.step.watch, watchFigures(spec, read(w.daemon.log), w.startedAt, stoppedAt, this.marks));
    }
  }

  /** A watch's figures (stopping the running watches first). */
  async result(name: string): Promise<WatchResult | undefined> {
    if (this.running.has(name)) await this.stopAll();
    return this.finished.get(name);
  }

  /** Every finished watch, in the order they were started. */
  results(): WatchResult[] {
    return [...this.finished.values()];
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
