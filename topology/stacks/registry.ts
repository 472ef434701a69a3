import type { Lab, NodeSpec, Software } from "../model/types.ts";
import { incusStack } from "./incus/index.ts";
import { openstackStack } from "./openstack/index.ts";
import { ovsStack } from "./ovs/index.ts";
import type { Stack } from "./stack.ts";

/** Every stack, in start and report order. Adding a stack: its folder, and one line here. */
export const STACKS: readonly Stack[] = [ovsStack, incusStack, openstackStack];

export type { Stack, StackStart } from "./stack.ts";

/** The stack that handles a software name. */
export function stackOf(s: Software): Stack {
  const st = STACKS.find((x) => x.software.includes(s));
  if (!st)
    throw new Error(`no stack handles software "${s}" (stacks: ${STACKS.map((x) => `${x.name} (${x.software.join(", ")})`).join("; ")})`);
  return st;
}

/** The stacks a node runs, in registry order. */
export function stacksOfNode(n: NodeSpec): Stack[] {
  return STACKS.filter((st) => n.software.some((s) => st.software.includes(s)));
}

/** Does the node run this stack? */
export const runs = (n: NodeSpec, st: Stack) => n.software.some((s) => st.software.includes(s));

/** The stacks a lab uses, in registry order. */
export function stacksOfLab(lab: Lab): Stack[] {
  return STACKS.filter((st) => lab.nodes.some((n) => runs(n, st)));
}

/** The nodes of a lab that run a stack. */
export function nodesOf(lab: Lab, st: Stack): NodeSpec[] {
  return lab.nodes.filter((n) => runs(n, st));
}

/** The versions of the software a lab runs, for the report ({ incus: "6.0.4", neutron: "21.0.0" }). */
export function softwareVersions(lab: Lab, root = "/"): Record<string, string> {
  return Object.fromEntries(stacksOfLab(lab).flatMap((st) => (st.version ? [st.version(root)] : [])));
}

/** Files of this machine the lab's stacks need inside its run's root. */
export function rootBindsOf(lab: Lab): string[] {
  return [...new Set(stacksOfLab(lab).flatMap((st) => [...(st.rootBinds?.() ?? [])]))];
}

/** The environment of a node's commands: each of its stacks' own. */
export function nodeEnv(n: NodeSpec, nodeDir: string): Record<string, string> {
  return Object.assign({}, ...stacksOfNode(n).map((st) => st.env?.(nodeDir) ?? {}));
}

/** Tools this machine needs for a node's software. */
export function stackTools(n: NodeSpec): string[] {
  return stacksOfNode(n).flatMap((st) => [...st.tools(n)]);
}

/** The Debian package of every stack's own tools. */
export function stackToolPackages(): Record<string, string> {
  return Object.assign({}, ...STACKS.map((st) => st.toolPackages ?? {}));
}

/** A container node's needs: the Debian packages of its image, and binaries of this machine bound in. */
export function containerNeeds(n: NodeSpec): { packages: string[]; binaries: string[] } {
  const parts = n.software.map((s) => stackOf(s).container?.(s) ?? { packages: [] });
  return {
    packages: [...new Set(parts.flatMap((p) => [...p.packages]))].sort(),
    binaries: [...new Set(parts.flatMap((p) => [...(p.binaries ?? [])]))].sort(),
  };
}
