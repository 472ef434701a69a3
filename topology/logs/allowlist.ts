import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

/**
 * The built-in allowlists: one data file per daemon in `allow/` (`allow/<daemon>.yaml`), each entry a
 * narrow pattern with its reason, the versions it was seen with, and a real line captured from that
 * daemon that the pattern must match (suites/harness/logs.test.ts checks each entry against every
 * captured line). A record an entry matches is neither an error nor a warning of the scenario.
 */

const Entry = z.strictObject({
  /** A JavaScript regular expression, tested against the record's first line. */
  match: z.string().min(1),
  why: z.string().min(20),
  /** The versions the line was captured with, e.g. "openvswitch 3.1.0". */
  seen_with: z.string().min(3),
  /** The captured line (a real one, from a run of this daemon). */
  sample: z.string().min(1),
});

export interface AllowEntry {
  daemon: string;
  match: RegExp;
  why: string;
  seenWith: string;
  sample: string;
  /** `allow/<daemon>.yaml` and the entry's index, for messages. */
  where: string;
}

export const ALLOW_DIR = fileURLToPath(new URL("./allow/", import.meta.url));

function load(dir: string): Map<string, AllowEntry[]> {
  const out = new Map<string, AllowEntry[]>();
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith(".yaml"))
    .sort()) {
    const daemon = basename(f, ".yaml");
    const parsed = z.array(Entry).safeParse(parse(readFileSync(join(dir, f), "utf8")));
    if (!parsed.success)
      throw new Error(`labwright's built-in log allowlist ${join(dir, f)} is malformed: ${z.prettifyError(parsed.error)}`);
    out.set(
      daemon,
      parsed.data.map((e, i) => ({
        daemon,
        match: new RegExp(e.match),
        why: e.why,
        seenWith: e.seen_with,
        sample: e.sample,
        where: `allow/${f}[${i}]`,
      })),
    );
  }
  return out;
}

const BUILT_IN = load(ALLOW_DIR);

/** The built-in entries for a daemon (none for a daemon without a file). */
export function builtInAllow(daemon: string): readonly AllowEntry[] {
  return BUILT_IN.get(daemon) ?? [];
}

/** Every built-in entry, by daemon. */
export function allBuiltIn(): ReadonlyMap<string, readonly AllowEntry[]> {
  return BUILT_IN;
}
