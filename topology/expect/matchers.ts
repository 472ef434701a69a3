import { expect } from "vitest";
import type { LinkState } from "../probes/link.ts";
import type { PingResult } from "../probes/ping.ts";
import type { TraceResult } from "../probes/traceroute.ts";
import { summarize } from "./check.ts";
import type { HttpResult, ResolveResult, TcpResult } from "../probes/sockets.ts";
import type { AppArmorState, FileState, PackageState, SysctlState, UnitState } from "../probes/host-state.ts";
import type { CommandResult } from "../run/exec.ts";
import type { WatchResult } from "../probes/watch.ts";
import {
  judgeAppArmor,
  judgeCommand,
  judgeFile,
  judgeHttp,
  judgeLink,
  judgeNoReach,
  judgePackage,
  judgeReach,
  judgeResolve,
  judgeSysctl,
  judgeTcp,
  judgeTrace,
  judgeUnit,
  judgeWatch,
  type ReachMeasure,
  type Verdict,
} from "./judge.ts";

export interface ReachOptions {
  ttl?: number;
  loss?: number;
  rtt_ms?: { min?: number; avg?: number; p50?: number; p95?: number; max?: number };
  source?: string;
}
export type LinkOptions = Parameters<typeof judgeLink>[0];

interface LabMatchers<R = unknown> {
  /** A ping result with at least one reply, and every bound given holding (TTL of every reply, loss %, RTT). */
  toReach(opts?: ReachOptions): R;
  /** A ping result with no reply at all. */
  toBeUnreachable(): R;
  toHaveLinkState(opts: LinkOptions): R;
  toFollowHops(hops: string[]): R;
  /** A TCP probe that connected (or, with `{ open: false }`, did not). */
  toConnect(opts?: { open?: boolean }): R;
  /** An HTTP probe with this status (200) and body text. */
  toServe(opts?: { status?: number; contains?: string }): R;
  /** A name resolution with an answer (exactly these addresses, if given). */
  toResolveTo(addresses?: string[]): R;
  /** A command's result: this exit code, output containing / equal to a text. */
  toExitWith(code: number, opts?: { output?: string; equals?: string }): R;
  /** Host checks: a node's file, systemd unit, AppArmor profile, package, sysctl. */
  toHaveFile(opts?: { exists?: boolean; contains?: string; equals?: string }): R;
  toHaveUnit(opts: { state?: "active" | "inactive" | "failed" | "activating"; exec_start?: string }): R;
  toHaveAppArmorProfileLoaded(): R;
  toHavePackage(opts?: { installed?: boolean; version?: string }): R;
  toHaveSysctl(value: string): R;
  /** A watch's figures (`lab.watch(name)`): its longest outage is at most `ms`. */
  toHaveOutageBelow(ms: number): R;
  /** A watch's figures: every probe answered. */
  toLoseNoProbe(): R;
  /** A watch's figures: replies flow again within `ms` of the named step's start. */
  toRecoverWithin(ms: number, opts: { after: string }): R;
}

declare module "vitest" {
  interface Matchers<T = any> extends LabMatchers<T> {}
}

function result(v: Verdict, measured: string, what: string, isNot: boolean) {
  return {
    pass: v.ok,
    message: () =>
      isNot ? `expected not: ${what} — but it holds (${measured})` : `expected ${what}: ${v.reasons.join("; ")} (measured: ${measured})`,
  };
}

const watched = (w: WatchResult | undefined, name: string) => (w ? summarize(w) : `no watch ${name}`);

expect.extend({
  toHaveOutageBelow(received: WatchResult | undefined, ms: number) {
    const v = judgeWatch({ kind: "outage", watch: received?.name ?? "?", max_ms: ms, min_ms: undefined }, received);
    return result(v, watched(received, "?"), `an outage of at most ${ms} ms`, this.isNot);
  },
  toLoseNoProbe(received: WatchResult | undefined) {
    const v = judgeWatch({ kind: "no_loss", watch: received?.name ?? "?" }, received);
    return result(v, watched(received, "?"), "no probe lost", this.isNot);
  },
  toRecoverWithin(received: WatchResult | undefined, ms: number, opts: { after: string }) {
    const v = judgeWatch({ kind: "recovers", watch: received?.name ?? "?", after: opts.after, within_ms: ms }, received);
    return result(v, watched(received, "?"), `replies again within ${ms} ms of step "${opts.after}"`, this.isNot);
  },
  toReach(received: ReachMeasure, opts: ReachOptions = {}) {
    return result(judgeReach(opts, received), summarize(received), `${received.target} reachable`, this.isNot);
  },
  toBeUnreachable(received: PingResult) {
    return result(judgeNoReach(received), summarize(received), `${received.target} unreachable`, this.isNot);
  },
  toHaveLinkState(received: LinkState, opts: LinkOptions) {
    return result(judgeLink(opts, received), summarize(received), `${received.dev} in state ${JSON.stringify(opts)}`, this.isNot);
  },
  toFollowHops(received: TraceResult, hops: string[]) {
    return result(judgeTrace({ hops }, received), summarize(received), `hops ${hops.join(" → ")}`, this.isNot);
  },
  toConnect(received: TcpResult, opts: { open?: boolean } = {}) {
    const open = opts.open ?? true;
    return result(
      judgeTcp({ open, port: received.port }, received),
      summarize(received),
      `${received.target}:${received.port} ${open ? "open" : "closed"}`,
      this.isNot,
    );
  },
  toServe(received: HttpResult, opts: { status?: number; contains?: string } = {}) {
    return result(
      judgeHttp({ status: opts.status ?? 200, contains: opts.contains }, received),
      summarize(received),
      `${received.url} → ${opts.status ?? 200}`,
      this.isNot,
    );
  },
  toResolveTo(received: ResolveResult, addresses?: string[]) {
    return result(
      judgeResolve({ addresses }, received),
      summarize(received),
      `${received.name} resolved${addresses ? ` to ${addresses.join(", ")}` : ""}`,
      this.isNot,
    );
  },
  toExitWith(received: CommandResult, code: number, opts: { output?: string; equals?: string } = {}) {
    const m = { kind: "command" as const, exitCode: received.exitCode, output: (received.stdout + received.stderr).trim() };
    return result(judgeCommand({ exit: code, ...opts }, m), summarize(m), `exit ${code}`, this.isNot);
  },
  toHaveFile(received: FileState, opts: { exists?: boolean; contains?: string; equals?: string } = {}) {
    return result(
      judgeFile(
        { kind: "file", on: "", path: received.path, exists: opts.exists ?? true, contains: opts.contains, equals: opts.equals },
        received,
      ),
      summarize(received),
      received.path,
      this.isNot,
    );
  },
  toHaveUnit(received: UnitState, opts: { state?: "active" | "inactive" | "failed" | "activating"; exec_start?: string }) {
    return result(
      judgeUnit({ kind: "unit", on: "", name: received.name, ...opts }, received),
      summarize(received),
      received.name,
      this.isNot,
    );
  },
  toHaveAppArmorProfileLoaded(received: AppArmorState) {
    return result(
      judgeAppArmor({ kind: "apparmor", on: "", profile: received.profile, loaded: true }, received),
      summarize(received),
      `${received.profile} loaded`,
      this.isNot,
    );
  },
  toHavePackage(received: PackageState, opts: { installed?: boolean; version?: string } = {}) {
    return result(
      judgePackage({ kind: "package", on: "", name: received.name, installed: opts.installed ?? true, version: opts.version }, received),
      summarize(received),
      received.name,
      this.isNot,
    );
  },
  toHaveSysctl(received: SysctlState, value: string) {
    return result(
      judgeSysctl({ kind: "sysctl", on: "", key: received.key, value }, received),
      summarize(received),
      `${received.key} = ${value}`,
      this.isNot,
    );
  },
});
