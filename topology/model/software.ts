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

/**
 * Which software a scenario uses, so its start runs only that (a lab's OVS/OVN, Incus and neutron
 * cost seconds and hundreds of MiB; a scenario about NAT or a Linux bridge needs none of them):
 * - `openvswitch` always: a lab-file switch's bridges are the physical layer;
 * - OVN (`ovn-host`, `ovn-central`): an `incus:` step, or a `run:` step or `command:` expectation
 *   that names an OVS/OVN tool (a word `ovs-…`, `ovn-…`, `ovsdb-client`, `ovsdb-tool`);
 * - `incus`: an `incus:` step, or a `run:`/`command:` naming `incus` (Incus needs OVN: both start);
 * - `kolla`: a `kolla:` or `openstack:` step, or a `run:`/`command:` naming `openstack`,
 *   `kolla-ansible` or `neutron`;
 * - a `kill:` or `restart:` step of a daemon of one of them (`ovn-controller`, `incusd`, `neutron-…`) counts as using it;
 * - every piece when the scenario says `software: all`.
 */
export function softwareUsedBy(sc: {
  readonly software: "used" | "all";
  readonly steps: readonly {
    readonly kind: string;
    readonly run?: string;
    /** A `kill:` step's daemon. */
    readonly target?: string;
    readonly action?: string;
    readonly checks?: readonly { readonly kind: string; readonly run?: string }[];
  }[];
  readonly expect: readonly { readonly kind: string; readonly run?: string }[];
}): Set<Software> {
  if (sc.software === "all") return new Set(SOFTWARE);
  const used = new Set<Software>(["openvswitch"]);
  const ovn = () => (used.add("ovn-host"), used.add("ovn-central"));
  const words = (text: string) => {
    for (const w of text.split(/[^A-Za-z0-9_.-]+/)) {
      if (/^(ovs|ovn)-[a-z0-9-]+$/.test(w) || w === "ovsdb-client" || w === "ovsdb-tool") ovn();
      if (w === "incus") (used.add("incus"), ovn());
      if (w === "openstack" || w === "kolla-ansible" || w === "neutron") used.add("kolla");
    }
  };
  const checks = sc.steps.flatMap((s) => s.checks ?? []);
  for (const s of sc.steps) {
    if (s.kind === "incus") (used.add("incus"), ovn());
    if (s.kind === "kolla" || s.kind === "openstack") used.add("kolla");
    if (s.kind === "run" && s.run) words(s.run);
    if (s.kind === "fault" && (s.action === "kill" || s.action === "restart") && s.target) {
      words(s.target);
      if (s.target === "incusd") (used.add("incus"), ovn());
      if (/^(neutron-|rabbitmq|mariadb)/.test(s.target)) used.add("kolla");
    }
  }
  for (const e of [...sc.expect, ...checks]) if (e.kind === "command" && e.run) words(e.run);
  return used;
}

/** The lab as a scenario starts it: each node with only the software the scenario uses (softwareUsedBy). */
export function labFor<L extends { readonly nodes: readonly HasSoftware[] }>(lab: L, sc: Parameters<typeof softwareUsedBy>[0]): L {
  const used = softwareUsedBy(sc);
  return { ...lab, nodes: lab.nodes.map((n) => ({ ...n, software: n.software.filter((s) => used.has(s)) })) };
}
