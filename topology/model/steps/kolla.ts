import { parseDocument } from "yaml";
import { IniError, parseIni } from "../commands/ini.ts";
import { type KollaOverride, overridePaths } from "../commands/kolla-overrides.ts";
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
  const overrides = overridesAt(s.config, s.on, [...sat, "config"], ctx);
  if (!overrides) return undefined;
  return {
    kind: "kolla",
    name: s.name,
    on: s.on,
    action: s.kolla,
    globals: g.globals,
    globalsFrom: g.from,
    overrides,
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

/**
 * The step's config overrides, parsed and judged, in kolla's merge order (undefined when one is not
 * valid: then reported). Only the files kolla's neutron role merges are accepted.
 */
function overridesAt(config: Record<string, string> | undefined, on: string, at: Path, ctx: RefContext): KollaOverride[] | undefined {
  const known = overridePaths(on);
  const given = Object.entries(config ?? {});
  let ok = true;
  for (const [path] of given)
    if (!known.some((k) => k.path === path)) {
      ok = false;
      ctx.problems.add(
        [...at, path],
        path === "neutron/dnsmasq.conf" || path === `neutron/${on}/dnsmasq.conf`
          ? `${path}: kolla does not merge dnsmasq.conf, it takes the whole file, and dnsmasq's options reach a root process's commands (dhcp-script): labwright keeps kolla's`
          : `${path} is not a file kolla's neutron role merges`,
        `use one of ${known.map((k) => k.path).join(", ")}`,
      );
    }
  const out: KollaOverride[] = [];
  for (const k of known) {
    const text = config?.[k.path];
    if (text === undefined) continue;
    try {
      out.push({ ...k, ini: parseIni(text, k.path, k.file) });
    } catch (e) {
      if (!(e instanceof IniError)) throw e;
      ok = false;
      ctx.problems.add([...at, k.path], e.message, e.hint || "see docs/lab-files.md (kolla steps: config overrides)");
    }
  }
  return ok ? out : undefined;
}
