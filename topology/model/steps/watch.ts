import type { Path } from "../problem-list.ts";
import { nodeRef, type RefContext, targetRef } from "../refs.ts";
import { CrashStep, KillStep, PlugStep, PullStep, WatchStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";
import { IFNAME, IFNAME_HINT } from "../names.ts";

/** `watch: <name>`, `on:` a node or guest, `ping:` a target: a probe that runs through the later steps. */
export function watchStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(WatchStep, item, sat, ctx.problems);
  if (!s) return undefined;
  nodeRef(s.on, [...sat, "on"], ctx);
  targetRef(s.ping, [...sat, "ping"], ctx);
  return { kind: "watch", name: s.name, watch: s.watch, on: s.on, ping: s.ping, intervalMs: s.interval_ms, should: "succeed", origin };
}

/** `pull:` / `plug:` an interface of the node `on:` (its cable), or `kill:` one of its daemons. */
export function faultStep(action: "pull" | "plug" | "kill") {
  const schema = action === "pull" ? PullStep : action === "plug" ? PlugStep : KillStep;
  return (item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined => {
    const s = shape(schema, item, sat, ctx.problems) as ({ name?: string; on: string } & Record<string, string>) | undefined;
    if (!s) return undefined;
    const target = s[action]!;
    const node = ctx.nodes.get(s.on);
    if (action === "kill") nodeRef(s.on, [...sat, "on"], ctx);
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
