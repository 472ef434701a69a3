/**
 * A kolla service config override (a file under /etc/kolla/config/, e.g. neutron/ml2_conf.ini): INI
 * sections and keys, which kolla merges over the file it renders (merge_configs: a key of the
 * override replaces the rendered one). The daemon reads the merged file, so what a lab may put in
 * one is narrow: the sections that file is for, keys and single-line values of plain characters.
 */

export class IniError extends Error {}

export type Ini = Map<string, Map<string, string>>;

const SECTION = /^\[([A-Za-z0-9_]+)\]$/;
const KEY = /^[a-z][a-z0-9_]{0,63}$/;
/** Lists, ranges and names: physnet2, physnet2:100:200, 1:1000, *, flat,vlan,vxlan. */
const VALUE = /^[A-Za-z0-9_.,:*/ -]{0,256}$/;

/** Sections each override file may hold. */
export const OVERRIDE_SECTIONS: Record<string, readonly string[]> = {
  "neutron/ml2_conf.ini": ["ml2", "ml2_type_flat", "ml2_type_vlan", "ml2_type_vxlan", "ml2_type_geneve"],
};

export function parseIni(text: string, file: string): Ini {
  const sections = OVERRIDE_SECTIONS[file];
  if (!sections) throw new IniError(`${file}: labwright applies overrides of ${Object.keys(OVERRIDE_SECTIONS).join(", ")} only`);
  const ini: Ini = new Map();
  let cur: Map<string, string> | undefined;
  text.split("\n").forEach((raw, k) => {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const s = SECTION.exec(line);
    if (s) {
      if (!sections.includes(s[1]!))
        throw new IniError(
          `${file} line ${k + 1}: section [${s[1]}] is not one of ${file}'s (${sections.map((x) => `[${x}]`).join(", ")})`,
        );
      cur = ini.get(s[1]!) ?? new Map();
      ini.set(s[1]!, cur);
      return;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new IniError(`${file} line ${k + 1}: expected [section] or key = value`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!cur) throw new IniError(`${file} line ${k + 1}: ${key} comes before any [section]`);
    if (!KEY.test(key))
      throw new IniError(`${file} line ${k + 1}: "${key.slice(0, 64)}" is not an option name (lowercase letters, digits, _)`);
    if (!VALUE.test(value))
      throw new IniError(`${file} line ${k + 1}: the value of ${key} may hold letters, digits and _ . , : * / - and spaces only`);
    cur.set(key, value);
  });
  return ini;
}

/** `base` with `override`'s keys replacing or adding to it, section by section (kolla's merge_configs). */
export function mergeIni(base: Ini, override: Ini | undefined): Ini {
  const out: Ini = new Map([...base].map(([s, kv]) => [s, new Map(kv)]));
  for (const [s, kv] of override ?? []) {
    const into = out.get(s) ?? new Map<string, string>();
    for (const [k, v] of kv) into.set(k, v);
    out.set(s, into);
  }
  return out;
}

export function renderIni(ini: Ini, header = ""): string {
  const parts = [...ini].map(([s, kv]) => [`[${s}]`, ...[...kv].map(([k, v]) => `${k} = ${v}`)].join("\n"));
  return (header ? header + "\n" : "") + parts.join("\n\n") + "\n";
}
