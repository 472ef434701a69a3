import type { IncusLine } from "./commands/incus.ts";
import type { KollaGlobals } from "./commands/kolla-globals.ts";
import type { OpenstackCommand } from "./commands/openstack.ts";
import type { KollaOverride } from "./commands/kolla-overrides.ts";
import type { Software } from "./software.ts";
import type { OvnCentralSettings } from "./commands/ovn-ctl.ts";
import type { Expectation, NatRule, ServiceDoc } from "./schema.ts";

export type { Expectation, NatRule, ServiceDoc };

export interface LanSpec {
  readonly name: string;
  /** Absent for a LAN without addresses (a trunk). */
  readonly cidr?: string;
  readonly prefix: number;
  readonly description?: string;
}

export interface InterfaceSpec {
  readonly name: string;
  readonly lan: string;
  /** Bare IPv4 address; its prefix is the LAN's. */
  readonly address?: string;
  readonly prefix: number;
  readonly mac?: string;
  readonly mtu?: number;
  /** A Linux bridge of the node's own, made at start with this NIC as a port; it holds `address`. */
  readonly bridge?: string;
}

export interface RouteSpec {
  readonly to: string;
  readonly via?: string;
  readonly dev?: string;
}

export interface NodeSpec {
  readonly name: string;
  readonly description?: string;
  readonly interfaces: readonly InterfaceSpec[];
  readonly routes: readonly RouteSpec[];
  readonly sysctls: Readonly<Record<string, string>>;
  readonly nat: readonly NatRule[];
  readonly dns?: { readonly records: Readonly<Record<string, readonly string[]>> };
  readonly resolver?: string;
  readonly services: readonly ServiceDoc[];
  /** Node software: OVS/OVN daemons, Incus cluster membership. */
  readonly software: readonly Software[];
  /** OVS bridges of an `openvswitch` node: port → VLAN settings. */
  readonly bridges: Readonly<Record<string, Readonly<Record<string, { readonly tag?: number; readonly trunks?: readonly number[] }>>>>;
  /** `/etc/default/ovn-central`'s OVN_CTL_OPTS, read: how the node's OVN databases listen and cluster. */
  readonly ovnCentral?: OvnCentralSettings;
}

export type { Software } from "./software.ts";
export type { OvnCentralSettings } from "./commands/ovn-ctl.ts";

/** Where a step or expectation came from, for reports. */
export interface Origin {
  readonly path: string;
  readonly line?: number;
}

export type Step =
  | {
      readonly kind: "run";
      readonly name?: string;
      readonly on: string;
      readonly run: string;
      readonly should: "succeed" | "fail";
      readonly output?: string;
      readonly timeoutS: number;
      readonly origin: Origin;
    }
  | {
      readonly kind: "incus";
      readonly name?: string;
      /** The cluster member the command is typed on. */
      readonly on: string;
      /** The command line after `incus`, as written. */
      readonly line: string;
      readonly command: IncusLine;
      /** The text of the `< file` the client reads on standard input (read when the lab file is loaded). */
      readonly stdin?: string;
      readonly should: "succeed" | "fail";
      readonly output?: string;
      readonly origin: Origin;
    }
  | {
      readonly kind: "kolla";
      readonly name?: string;
      readonly on: string;
      readonly action: "deploy" | "precheck";
      readonly globals: KollaGlobals;
      /** Where globals.yml came from: a file path or "inline". */
      readonly globalsFrom: string;
      /** Files under /etc/kolla/config/, parsed and judged, in kolla's merge order: merged over what kolla renders. */
      readonly overrides: readonly KollaOverride[];
      readonly should: "succeed" | "fail";
      readonly output?: string;
      readonly origin: Origin;
    }
  | {
      readonly kind: "openstack";
      readonly name?: string;
      readonly on: string;
      readonly line: string;
      readonly command: OpenstackCommand;
      readonly should: "succeed" | "fail";
      readonly output?: string;
      readonly origin: Origin;
    }
  | {
      /** A probe started here and kept running through the later steps (until the scenario's steps end). */
      readonly kind: "watch";
      readonly name?: string;
      /** The watch's name (expectations refer to it). */
      readonly watch: string;
      /** Where the probe runs: a node or guest. */
      readonly on: string;
      /** What it probes with: `ping`, a TCP connect, an HTTP GET, a DNS lookup. */
      readonly probe: "ping" | "tcp" | "http" | "dns";
      /** ping, tcp: a node, guest, address or name, as `reach` targets; http: the URL; dns: the name to look up. */
      readonly to: string;
      /** tcp: the port. */
      readonly port?: number;
      readonly intervalMs: number;
      /** Always "succeed": starting a watch is labwright's own action. */
      readonly should: "succeed";
      readonly output?: undefined;
      readonly origin: Origin;
    }
  | {
      /** A fault labwright makes: a cable pulled or plugged back in (the LAN side of `target`'s link), or a daemon of the node killed. */
      readonly kind: "fault";
      readonly name?: string;
      readonly on: string;
      readonly action: "pull" | "plug" | "kill" | "restart" | "crash" | "boot" | "impair" | "partition" | "heal";
      /** The interface (pull, plug, impair), the daemon's name (kill, restart), the node (crash, boot); "" otherwise. */
      readonly target: string;
      /** impair: loss in %, rate in kbit/s. */
      readonly loss?: number;
      readonly rateKbit?: number;
      /** partition: the two sets of nodes. */
      readonly sides?: readonly [readonly string[], readonly string[]];
      readonly should: "succeed";
      readonly output?: undefined;
      readonly origin: Origin;
    }
  | { readonly kind: "check"; readonly name?: string; readonly checks: readonly Located<Expectation>[]; readonly origin: Origin };

export type Located<T> = T & { readonly origin: Origin };

export interface ScenarioSpec {
  readonly name: string;
  readonly description?: string;
  /** The lab's common steps first, then the scenario's own. */
  readonly steps: readonly Step[];
  /** The scenario's own expectations, then the lab's common ones. */
  readonly expect: readonly Located<Expectation>[];
  /** Daemon log lines this scenario provokes on purpose. */
  readonly logAllow: readonly { readonly match: RegExp; readonly why: string }[];
  /** `used`: its start runs only the node software its steps and expectations use (model/software.ts); `all`: every node's. */
  readonly software: "used" | "all";
}

/** A validated lab: every reference resolves, every address fits its LAN. */
export interface Lab {
  readonly name: string;
  readonly description?: string;
  readonly file: string;
  /** Daemon-log warnings: reported (`report`) or failing (`strict`). */
  readonly logs: "report" | "strict";
  /** The root filesystem its commands run in: a toolchain's name, or `host` (this machine's own). */
  readonly toolchain: string;
  readonly lans: readonly LanSpec[];
  readonly nodes: readonly NodeSpec[];
  readonly scenarios: readonly ScenarioSpec[];
}

/** A step's command line as the operator typed it (for reports and messages). */
export function stepCommand(step: Exclude<Step, { kind: "check" }>): string {
  switch (step.kind) {
    case "run":
      return step.run;
    case "incus":
      return `incus ${step.line}`;
    case "kolla":
      return `kolla-ansible ${step.action} (globals: ${step.globalsFrom})`;
    case "openstack":
      return `openstack ${step.line}`;
    case "watch":
      return `(labwright) watch ${step.watch}: ${step.probe === "ping" ? `ping ${step.to}` : step.probe === "tcp" ? `connect to ${step.to}:${step.port}/tcp` : step.probe === "http" ? `GET ${step.to}` : `look up ${step.to}`} every ${step.intervalMs} ms, through the steps after this one`;
    case "fault":
      return step.action === "pull"
        ? `(labwright) pull the cable of ${step.target}`
        : step.action === "plug"
          ? `(labwright) plug the cable of ${step.target} back in`
          : step.action === "kill"
            ? `(labwright) kill ${step.target} (SIGKILL)`
            : step.action === "restart"
              ? `(labwright) restart ${step.target} (stopped as its service manager stops it, then started again as before)`
              : step.action === "crash"
                ? `(labwright) crash ${step.target}: every cable pulled, every daemon killed`
                : step.action === "boot"
                  ? `(labwright) boot ${step.target}: every cable plugged back in, its daemons started again from what they left on disk`
                  : step.action === "impair"
                    ? `(labwright) impair what ${step.on} sends on ${step.target}: ${step.loss || step.rateKbit ? [step.loss ? `${step.loss}% loss` : "", step.rateKbit ? `${step.rateKbit} kbit/s` : ""].filter(Boolean).join(", ") : "cleared"}`
                    : step.action === "partition"
                      ? `(labwright) partition ${step.sides![0].join(", ")} | ${step.sides![1].join(", ")}`
                      : "(labwright) heal every partition";
  }
}
