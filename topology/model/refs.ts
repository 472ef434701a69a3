import { isIPv4, NETWORK_REF } from "./addresses.ts";
import { HOSTNAME } from "./names.ts";
import type { Path, Problems } from "./problem-list.ts";
import { didYouMean } from "./shape.ts";
import type { NodeSpec } from "./types.ts";

/** What steps and expectations may refer to, and where their problems go. */
export interface RefContext {
  nodeNames: Set<string>;
  problems: Problems;
  /** Incus cluster members (nodes with `software: [incus]`). */
  members: Set<string>;
  /** Instances launched by `incus launch` steps of the scenario being read: usable like nodes. */
  instances: Set<string>;
  /** Nodes with `software: [kolla]`. */
  kolla: Set<string>;
  nodes: Map<string, NodeSpec>;
  /** The lab file (globals files are read beside it). */
  file: string;
}

export function nodeRef(name: string, at: Path, ctx: RefContext): void {
  if (!ctx.nodeNames.has(name) && !ctx.instances.has(name)) {
    const inst = ctx.instances.size ? ` or an instance launched by this scenario (${[...ctx.instances].join(", ")})` : "";
    ctx.problems.add(
      at,
      `unknown node "${name}"`,
      `${didYouMean(name, [...ctx.nodeNames, ...ctx.instances])}use one of the nodes defined under \`nodes\`: ${[...ctx.nodeNames].join(", ")}${inst}`,
    );
  }
}

/** `on:` of a step that runs on a kolla-ansible target (`kolla:`, `openstack:`): the node exists and has `software: [kolla]`. */
export function kollaTargetRef(on: string, at: Path, ctx: RefContext, what: string): void {
  nodeRef(on, at, ctx);
  if (ctx.nodeNames.has(on) && !ctx.kolla.has(on))
    ctx.problems.add(at, `${on} is not a kolla-ansible target`, `${what} (kolla nodes: ${[...ctx.kolla].join(", ") || "none"})`);
}

/** A target is a node or instance name, an IPv4 address, a network reference, or a DNS name resolved inside the source node. */
export function targetRef(to: string, at: Path, ctx: RefContext): void {
  if (ctx.nodeNames.has(to) || ctx.instances.has(to) || isIPv4(to) || NETWORK_REF.test(to)) return;
  if (/^[\d.]+$/.test(to)) ctx.problems.add(at, `"${to}" is not a valid IPv4 address`, "fix the address");
  else if (!HOSTNAME.test(to))
    ctx.problems.add(at, `"${to}" is neither a node, an IPv4 address nor a DNS name`, "name a node, an address or a host name");
}
