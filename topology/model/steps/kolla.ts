import { parseDocument } from "yaml";
import { type Ini, IniError, parseIni } from "../commands/ini.ts";
import { type KollaGlobals, KollaConfigError, readGlobals } from "../commands/kolla-globals.ts";
import { LIMITS, readBounded, referencedFile } from "../limits.ts";
import type { Path } from "../problem-list.ts";
import { kollaTargetRef, type RefContext } from "../refs.ts";
import { KollaStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";

/** `kolla:` deploy or precheck, `on:` a kolla node, with its `globals` (and `config` overrides). */
export function kollaStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(KollaStep, item, sat, ctx.problems);
  if (!s) return undefined;
  kollaTargetRef(s.on, [...sat, "on"], ctx, "give the node `software: [kolla]`");
  const g = readGlobalsAt(s.globals, [...sat, "globals"], ctx);
  if (!g) return undefined;
  globalsInterfaces(g, s.on, [...sat, "globals"], ctx);
  const ml2Override = ml2At(s.config?.["neutron/ml2_conf.ini"], [...sat, "config", "neutron/ml2_conf.ini"], ctx);
  return {
    kind: "kolla",
    name: s.name,
    on: s.on,
    action: s.kolla,
    globals: g.globals,
    globalsFrom: g.from,
    ...(ml2Override ? { ml2Override } : {}),
    should: s.should,
    output: s.output,
    origin,
  };
}

/** Reads a kolla step's globals: an inline map, or a YAML file beside the lab. Messages never quote the file's contents. */
function readGlobalsAt(
  v: string | Record<string, unknown>,
  at: Path,
  ctx: RefContext,
): { globals: KollaGlobals; from: string } | undefined {
  let raw: unknown = v;
  let from = "globals (inline)";
  if (typeof v === "string") {
    from = v;
    const ref = referencedFile(v, ctx.file);
    if ("error" in ref) {
      ctx.problems.add(at, `globals file: ${ref.error}`, ref.hint);
      return undefined;
    }
    try {
      const doc = parseDocument(readBounded(ref.path, LIMITS.referencedBytes), { prettyErrors: false });
      if (doc.errors.length) throw new Error(`not valid YAML (line ${doc.errors[0]!.linePos?.[0]?.line ?? "?"})`);
      raw = doc.toJS({ maxAliasCount: LIMITS.aliases });
    } catch (e) {
      ctx.problems.add(
        at,
        `cannot read globals file ${v}: ${(e as Error).message.split("\n")[0]!.split(":")[0]}`,
        "give a YAML map of kolla variables (at most 256 KiB) beside the lab file, or write the variables inline",
      );
      return undefined;
    }
  }
  try {
    return { globals: readGlobals(raw, from), from };
  } catch (e) {
    if (!(e instanceof KollaConfigError)) throw e;
    ctx.problems.add(at, e.message, "see docs/lab-files.md (kolla steps)");
    return undefined;
  }
}

/** The interfaces the globals name (network_interface, neutron_external_interface) must be the node's. */
function globalsInterfaces(g: { globals: KollaGlobals; from: string }, on: string, at: Path, ctx: RefContext): void {
  const node = ctx.nodes.get(on);
  const nics = new Set(node?.interfaces.map((i) => i.name) ?? []);
  for (const [key, names] of [
    ["network_interface", [g.globals.network_interface]],
    ["neutron_external_interface", g.globals.neutron_external_interfaces],
  ] as const) {
    for (const nic of names)
      if (node && !nics.has(nic))
        ctx.problems.add(
          at,
          `${g.from}: ${key} names ${nic}, which ${on} does not have`,
          `use one of ${on}'s interfaces: ${[...nics].join(", ")}`,
        );
  }
}

/** The step's neutron/ml2_conf.ini override, parsed (undefined when absent or not valid: then reported). */
function ml2At(text: string | undefined, at: Path, ctx: RefContext): Ini | undefined {
  if (text === undefined) return undefined;
  try {
    return parseIni(text, "neutron/ml2_conf.ini");
  } catch (e) {
    if (!(e instanceof IniError)) throw e;
    ctx.problems.add(
      at,
      e.message,
      "give the ml2 sections and options kolla would merge (e.g. [ml2_type_vlan] network_vlan_ranges = physnet2)",
    );
    return undefined;
  }
}
