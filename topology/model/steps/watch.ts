import type { Path } from "../problem-list.ts";
import { nodeRef, type RefContext, targetRef } from "../refs.ts";
import { WatchStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";
import { HOSTNAME } from "../names.ts";

/** `watch: <name>`, `on:` a node or guest, and one probe (`ping:`, `tcp:`, `http:`, `dns:`): a probe that runs through the later steps. */
export function watchStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(WatchStep, item, sat, ctx.problems);
  if (!s) return undefined;
  nodeRef(s.on, [...sat, "on"], ctx);
  const kinds = (["ping", "tcp", "http", "dns"] as const).filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.problems.add(
      sat,
      kinds.length ? `a watch has one probe, this one ${kinds.join(" and ")}` : "a watch needs a probe",
      "give one of ping: <target>, tcp: { to: <target>, port: <n> }, http: <url>, dns: <name>",
    );
    return undefined;
  }
  const step = {
    kind: "watch" as const,
    name: s.name,
    watch: s.watch,
    on: s.on,
    intervalMs: s.interval_ms,
    should: "succeed" as const,
    origin,
  };
  if (s.ping !== undefined) {
    targetRef(s.ping, [...sat, "ping"], ctx);
    return { ...step, probe: "ping", to: s.ping };
  }
  if (s.tcp) {
    targetRef(s.tcp.to, [...sat, "tcp", "to"], ctx);
    return { ...step, probe: "tcp", to: s.tcp.to, port: s.tcp.port };
  }
  if (s.http !== undefined) return { ...step, probe: "http", to: s.http };
  if (!HOSTNAME.test(s.dns!)) ctx.problems.add([...sat, "dns"], `"${s.dns}" is not a DNS name`, "name the host to look up");
  return { ...step, probe: "dns", to: s.dns! };
}
