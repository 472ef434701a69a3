import { join } from "node:path";
import type { Host } from "../backends/host.ts";
import type { ProbeTarget } from "../expect/target.ts";
import type { Lab } from "../model/types.ts";
import { type Capture, startCapture } from "../probes/capture.ts";
import { allLinks, type LinkState, linkState } from "../probes/link.ts";
import { type PingOptions, type PingResult, ping } from "../probes/ping.ts";
import {
  httpGet,
  httpGetCurl,
  type HttpResult,
  resolveName,
  type ResolveResult,
  tcpConnect,
  tcpConnectShell,
  type TcpResult,
} from "../probes/sockets.ts";
import { type TraceResult, traceroute } from "../probes/traceroute.ts";
import type { NodeExec } from "../probes/types.ts";
import {
  type AppArmorState,
  apparmorState,
  type FileState,
  fileState,
  type PackageState,
  packageState,
  type SysctlState,
  sysctlState,
  type UnitState,
  unitState,
} from "../probes/host-state.ts";
import type { CommandResult, RunOptions } from "../run/exec.ts";
import type { WatchResult } from "../probes/watch.ts";
import type { Addresses } from "./addresses.ts";

/**
 * The probes of a started lab, by node name: each resolves its target to an address, then measures
 * from inside the source node through its Host. Measures only; expectations judge.
 */
export abstract class LabProbes implements ProbeTarget {
  abstract readonly lab: Lab;
  protected abstract readonly addresses: Addresses;
  /** The Host of a node or a live guest. */
  abstract host(name: string): Host;
  /** Where probes that write files (packet captures) put them, on this machine. */
  protected abstract readonly scratchDir: string;
  /** A watch's figures (watches are the started lab's: they run through its steps). */
  abstract watch(name: string): Promise<WatchResult | undefined>;

  exec(node: string, argv: string[], opts?: RunOptions): Promise<CommandResult> {
    return this.host(node).exec(argv, opts);
  }

  /** A command line as an operator types it, run by bash inside the node. */
  sh(node: string, command: string, opts?: RunOptions): Promise<CommandResult> {
    return this.exec(node, ["bash", "-c", command], opts);
  }

  execIn(node: string): NodeExec {
    const h = this.host(node);
    return (argv, opts) => h.exec(argv, opts);
  }

  addressOf(from: string, to: string): string {
    return this.addresses.addressOf(from, to);
  }
  ownerOf(ip: string): string | undefined {
    return this.addresses.ownerOf(ip);
  }
  lanOf(ip: string): string | undefined {
    return this.addresses.lanOf(ip);
  }

  ping(from: string, to: string, opts?: PingOptions): Promise<PingResult> {
    return ping(this.execIn(from), this.addressOf(from, to), opts);
  }
  trace(from: string, to: string, maxHops?: number): Promise<TraceResult> {
    return traceroute(this.execIn(from), this.addressOf(from, to), maxHops);
  }
  link(node: string, dev: string): Promise<LinkState> {
    return linkState(this.execIn(node), dev);
  }
  links(node: string): Promise<LinkState[]> {
    return allLinks(this.execIn(node));
  }
  // Nodes on this machine run this machine's probe helper; real hosts use curl.
  tcp(from: string, to: string, port: number, timeoutMs?: number): Promise<TcpResult> {
    return (this.host(from).local ? tcpConnect : tcpConnectShell)(this.execIn(from), this.addressOf(from, to), port, timeoutMs);
  }
  http(from: string, url: string, timeoutMs?: number): Promise<HttpResult> {
    return (this.host(from).local ? httpGet : httpGetCurl)(this.execIn(from), url, timeoutMs);
  }
  resolve(node: string, name: string): Promise<ResolveResult> {
    return resolveName(this.execIn(node), name);
  }
  file(node: string, path: string): Promise<FileState> {
    return fileState(this.host(node), path);
  }
  unit(node: string, name: string): Promise<UnitState> {
    return unitState(this.host(node), name);
  }
  apparmor(node: string, profile: string): Promise<AppArmorState> {
    return apparmorState(this.host(node), profile);
  }
  package(node: string, name: string): Promise<PackageState> {
    return packageState(this.host(node), name);
  }
  sysctl(node: string, key: string): Promise<SysctlState> {
    return sysctlState(this.host(node), key);
  }
  private captures = 0;
  capture(node: string, filter: string): Promise<Capture> {
    return startCapture(this.host(node), filter, join(this.scratchDir, `capture-${node}-${++this.captures}.log`));
  }
}
