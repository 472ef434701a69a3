/**
 * The node software a lab file may name (`software:`), and the model's rules about combining them.
 * The one place in the model that knows these names; what each does is its stack's
 * (topology/stacks/<stack>/, looked up in topology/stacks/registry.ts).
 */

export const SOFTWARE = ["ovn-host", "ovn-central", "incus", "kolla", "openvswitch"] as const;
export type Software = (typeof SOFTWARE)[number];

interface HasSoftware {
  readonly name: string;
  readonly software: readonly Software[];
}

/** An Incus cluster member (`incus` steps target it with `--target`). */
export const isIncusMember = (n: HasSoftware) => n.software.includes("incus");
/** A kolla-ansible target (`kolla` and `openstack` steps run on it). */
export const isKollaNode = (n: HasSoftware) => n.software.includes("kolla");
/** The software of a node whose lab-file bridges are Open vSwitch bridges (a VLAN switch). */
export const SWITCH: Software = "openvswitch";
export const hasSwitch = (n: HasSoftware) => n.software.includes(SWITCH);

/** What is wrong with a node's software list, each as [what, what to do]. */
export function softwareProblems(n: HasSoftware): [string, string][] {
  const out: [string, string][] = [];
  if (n.software.includes("incus") && !n.software.includes("ovn-host")) {
    out.push([
      `${n.name} is an Incus member without ovn-host`,
      "add ovn-host: Incus OVN networks need OVS and ovn-controller on every member",
    ]);
  }
  if (n.software.includes("kolla") && n.software.some((x) => x !== "kolla")) {
    out.push([
      `${n.name}: kolla cannot be combined with ${n.software.filter((x) => x !== "kolla").join(", ")}`,
      "kolla-ansible deploy starts the node's Open vSwitch itself; list only kolla",
    ]);
  }
  return out;
}
