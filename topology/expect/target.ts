import type { CommandResult, RunOptions } from "../run/exec.ts";
import type { Lab } from "../model/types.ts";
import type { Capture } from "../probes/capture.ts";
import type { LinkState } from "../probes/link.ts";
import type { PingOptions, PingResult } from "../probes/ping.ts";
import type { HttpResult, ResolveResult, TcpResult } from "../probes/sockets.ts";
import type { TraceResult } from "../probes/traceroute.ts";
import type { WatchResult } from "../probes/watch.ts";
import type { AppArmorState, FileState, PackageState, SysctlState, UnitState } from "../probes/host-state.ts";

/** What judging an expectation needs from a started lab: measurements and address lookups, nothing else. */
export interface ProbeTarget {
  readonly lab: Lab;
  addressOf(from: string, to: string): string;
  ownerOf(ip: string): string | undefined;
  ping(from: string, to: string, opts?: PingOptions): Promise<PingResult>;
  trace(from: string, to: string, maxHops?: number): Promise<TraceResult>;
  link(node: string, dev: string): Promise<LinkState>;
  links(node: string): Promise<LinkState[]>;
  tcp(from: string, to: string, port: number, timeoutMs?: number): Promise<TcpResult>;
  http(from: string, url: string, timeoutMs?: number): Promise<HttpResult>;
  resolve(node: string, name: string): Promise<ResolveResult>;
  capture(node: string, filter: string): Promise<Capture>;
  file(node: string, path: string): Promise<FileState>;
  unit(node: string, name: string): Promise<UnitState>;
  apparmor(node: string, profile: string): Promise<AppArmorState>;
  package(node: string, name: string): Promise<PackageState>;
  sysctl(node: string, key: string): Promise<SysctlState>;
  /** A watch's figures (stops the running watches first); undefined when no step started it. */
  watch(name: string): Promise<WatchResult | undefined>;
  /** A command line run by bash inside a node (`command` expectations). */
  sh(node: string, command: string, opts?: RunOptions): Promise<CommandResult>;
}
