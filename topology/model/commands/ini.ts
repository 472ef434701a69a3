/**
 * A kolla service config override (a file under /etc/kolla/config/, e.g. neutron/ml2_conf.ini): INI
 * sections and keys, which kolla merges over the file it renders (merge_configs: a key of the
 * override replaces the rendered one). The daemon reads the merged file, so each option is judged
 * before anything runs (neutron-override.ts: an option neutron reads from that file, a value its
 * type takes, nothing that reaches a path, a command or a root helper); lines are single-line
 * `key = value` under a `[section]`.
 */
import { judgeOption } from "./neutron-override.ts";

export class IniError extends Error {
  constructor(
    message: string,
    readonly hint = "",
  ) {
    super(message);
  }
}

export type Ini = Map<string, Map<string, string>>;

const SECTION = /^\[([A-Za-z0-9_.-]{1,64})\]$/;
const KEY = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Parses an override whose options neutron reads from `neutronFile` (e.g. ml2_conf.ini); `file` names
 * the override in messages (e.g. neutron/ml2_conf.ini). Throws IniError at the first wrong line.
 */
export function parseIni(text: string, file: string, neutronFile: string): Ini {
  const ini: Ini = new Map();
  let section: string | undefined;
  text.split("\n").forEach((raw, k) => {
    const line = raw.trim();
    const at = `${file} line ${k + 1}`;
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const s = SECTION.exec(line);
    if (s) {
      section = s[1]!;
      if (!ini.has(section)) ini.set(section, new Map());
      return;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new IniError(`${at}: expected [section] or key = value`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (section === undefined) throw new IniError(`${at}: ${key.slice(0, 64)} comes before any [section]`);
    if (!KEY.test(key)) throw new IniError(`${at}: "${key.slice(0, 64)}" is not an option name (lowercase letters, digits, _)`);
    const verdict = judgeOption(neutronFile, section, key, value);
    if (verdict) throw new IniError(`${at}: ${verdict.error}`, verdict.hint);
    ini.get(section)!.set(key, value);
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
