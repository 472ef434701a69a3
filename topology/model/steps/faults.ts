import type { Path } from "../problem-list.ts";
import { nodeRef, type RefContext } from "../refs.ts";
import { BootStep, CrashStep, HealStep, ImpairStep, KillStep, PartitionStep, PlugStep, PullStep, RestartStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";
import { IFNAME, IFNAME_HINT } from "../names.ts";

/** `pull:` / `plug:` an interface of the node `on:` (its cable), or `kill:` / `restart:` one of its daemons. */
export function faultStep(action: "pull" | "plug" | "kill" | "restart") {
  const schema = action === "pull" ? PullStep : action === "plug" ? PlugStep : action === "kill" ? KillStep : RestartStep;
  return (item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined => {
    const s = shape(schema, item, sat, ctx.problems) as ({ name?: string; on: string } & Record<string, string>) | undefined;
    if (!s) return undefined;
    const target = s[action]!;
    const node = ctx.nodes.get(s.on);
    if (action === "kill" || action === "restart") nodeRef(s.on, [...sat, "on"], ctx);
    else if (!node) {
      ctx.problems.add([...sat, "on"], `"${s.on}" is not a node of the lab`, "a cable belongs to a node's interface: name the node");
    } else if (!IFNAME.test(target) || !node.interfaces.some((i) => i.name === target)) {
      ctx.problems.add(
        [...sat, action],
        `${s.on} has no interface "${target}"`,
        `${IFNAME.test(target) ? "" : `${IFNAME_HINT}; `}use one of: ${node.interfaces.map((i) => i.name).join(", ")}`,
      );
    }
    return { kind: "fault", name: s.name, on: s.on, action, target, should: "succeed", origin };
  };
}

/** `crash: <node>`: the node's daemons killed at once and its cables pulled. */
export function crashStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(CrashStep, item, sat, ctx.problems);
  if (!s) return undefined;
  if (!ctx.nodes.has(s.crash)) ctx.problems.add([...sat, "crash"], `"${s.crash}" is not a node of the lab`, "name the node that crashes");
  return { kind: "fault", name: s.name, on: s.crash, action: "crash", target: s.crash, should: "succeed", origin };
}

/** `boot: <node>`: a crashed node comes back (cables plugged, its daemons started again). */
export function bootStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(BootStep, item, sat, ctx.problems);
  if (!s) return undefined;
  if (!ctx.nodes.has(s.boot))
    ctx.problems.add([...sat, "boot"], `"${s.boot}" is not a node of the lab`, "name the node that crashed earlier");
  return { kind: "fault", name: s.name, on: s.boot, action: "boot", target: s.boot, should: "succeed", origin };
}

/** `impair: <interface>` on node `on:`: loss and/or a rate on what it sends there. */
export function impairStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(ImpairStep, item, sat, ctx.problems);
  if (!s) return undefined;
  const node = ctx.nodes.get(s.on);
  if (!node) ctx.problems.add([...sat, "on"], `"${s.on}" is not a node of the lab`, "an impaired link belongs to a node's interface");
  else if (!node.interfaces.some((i) => i.name === s.impair))
    ctx.problems.add(
      [...sat, "impair"],
      `${s.on} has no interface "${s.impair}"`,
      `use one of: ${node.interfaces.map((i) => i.name).join(", ")}`,
    );
  return {
    kind: "fault",
    name: s.name,
    on: s.on,
    action: "impair",
    target: s.impair,
    loss: s.loss,
    rateKbit: s.rate_kbit,
    should: "succeed",
    origin,
  };
}

/** Where a partition or a heal happens: the LANs' fabric, no node (what reports print before `$`). */
export const FABRIC = "(fabric)";

/** `partition: [[...], [...]]` and `heal: true`. */
export function partitionStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(PartitionStep, item, sat, ctx.problems);
  if (!s) return undefined;
  const [a, b] = s.partition;
  for (const [k, side] of [a, b].entries())
    for (const n of side)
      if (!ctx.nodes.has(n))
        ctx.problems.add([...sat, "partition", k], `"${n}" is not a node of the lab`, "a partition separates lab nodes");
  const both = a.filter((n) => b.includes(n));
  if (both.length) ctx.problems.add([...sat, "partition"], `${both.join(", ")} on both sides`, "put each node on one side");
  return { kind: "fault", name: s.name, on: FABRIC, action: "partition", target: "", sides: [a, b], should: "succeed", origin };
}

export function healStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(HealStep, item, sat, ctx.problems);
  if (!s) return undefined;
  return { kind: "fault", name: s.name, on: FABRIC, action: "heal", target: "", should: "succeed", origin };
}
