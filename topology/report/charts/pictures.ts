/**
 * The run's pictures as SVG files beside its JSON results: one per watch (its timeline) and one per
 * ping of ten echoes or more (its RTT distribution). Returns, per scenario, the files written.
 */
import { writeFileSync } from "node:fs";
import type { CheckResult } from "../../expect/check.ts";
import type { LabResult } from "../../results.ts";
import { rttSpec, watchSpec } from "./specs.ts";
import { renderSvg } from "./svg.ts";

/** A ping with at least this many replies gets its RTT distribution drawn. */
export const MANY_ECHOES = 10;

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_");

/** The RTTs of a check whose probe was a ping with many echoes, else null. */
export function manyRtts(c: CheckResult): number[] | null {
  const m = c.measurement;
  if (m.kind !== "ping" || m.replies.length < MANY_ECHOES) return null;
  return m.replies.map((r) => r.rttMs);
}

/** Writes the pictures of `result` as `<base>-<scenario>-….svg` and records each scenario's files in it. */
export async function writePictures(result: LabResult, base: string): Promise<string[]> {
  const written: string[] = [];
  const write = async (file: string, svg: Promise<string>) => {
    writeFileSync(file, await svg, { mode: 0o600 });
    written.push(file);
    return file;
  };
  for (const sc of result.scenarios) {
    const files: string[] = [];
    for (const w of sc.watches ?? [])
      files.push(await write(`${base}-${safe(sc.name)}-watch-${safe(w.name)}.svg`, renderSvg(watchSpec(w))));
    let k = 0;
    for (const c of sc.checks) {
      const rtts = manyRtts(c);
      if (rtts) files.push(await write(`${base}-${safe(sc.name)}-rtt-${++k}.svg`, renderSvg(rttSpec(c.description, rtts))));
    }
    if (files.length) sc.pictures = files;
  }
  return written;
}
