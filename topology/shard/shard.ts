import type { LabResult, ScenarioResult } from "../results.ts";

/**
 * `run --shard i/n` and `labwright merge`: a lab's scenarios split over n runners (a CI matrix), as
 * vitest and Playwright shard tests — a deterministic share each, no scheduler — and the shards'
 * results joined back into one.
 */
export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parses `i/n` (1 ≤ i ≤ n); null when it is not that. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return null;
  const [index, count] = [Number(m[1]), Number(m[2])];
  return index >= 1 && count >= 1 && index <= count ? { index, count } : null;
}

/** The scenarios of shard i/n: the k-th of the list (0-based) goes to shard (k mod n) + 1, so each shard's share is fixed by the lab file alone. */
export function shardOf<T>(items: readonly T[], s: Shard): T[] {
  return items.filter((_, k) => k % s.count === s.index - 1);
}

/** The totals of a lab result, from its scenarios. */
export function labTotals(scenarios: readonly ScenarioResult[]): LabResult["totals"] {
  const checks = scenarios.flatMap((s) => s.checks);
  const steps = scenarios.flatMap((s) => s.steps);
  return {
    checks: checks.length,
    passed: checks.filter((c) => c.ok).length,
    failed: checks.filter((c) => !c.ok).length,
    steps: steps.length,
    stepsAsExpected: steps.filter((s) => s.kind !== "skipped" && s.kind !== "not-applied" && s.ok).length,
    logErrors: scenarios.reduce((a, s) => a + s.logs.errors.length, 0),
    logWarnings: scenarios.reduce((a, s) => a + s.logs.warnings.length, 0),
  };
}

export class MergeError extends Error {}

/**
 * The shards' results as one: the same lab, file and backend, every shard 1..n exactly once; the
 * scenarios back in the lab's order (shard k's j-th scenario was the lab's (j·n + k − 1)-th).
 */
export function mergeShards(parts: readonly LabResult[]): LabResult {
  if (!parts.length) throw new MergeError("nothing to merge: give the JSON results of each shard");
  const first = parts[0]!;
  for (const p of parts) {
    if (!p.shard) throw new MergeError(`${p.lab}: a result without --shard cannot be merged (run each part with --shard i/n)`);
    for (const k of ["lab", "file", "backend"] as const)
      if (p[k] !== first[k]) throw new MergeError(`the shards are of different runs: ${k} "${p[k]}" and "${first[k]}"`);
    if (p.shard.count !== first.shard!.count)
      throw new MergeError(`the shards disagree on their number: ${p.shard.count} and ${first.shard!.count}`);
  }
  const n = first.shard!.count;
  const byIndex = new Map<number, LabResult>();
  for (const p of parts) {
    if (byIndex.has(p.shard!.index)) throw new MergeError(`shard ${p.shard!.index}/${n} is given twice`);
    byIndex.set(p.shard!.index, p);
  }
  const missing = Array.from({ length: n }, (_, k) => k + 1).filter((i) => !byIndex.has(i));
  if (missing.length) throw new MergeError(`shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${n}`).join(", ")} missing`);
  const scenarios: ScenarioResult[] = [];
  for (let j = 0; ; j++) {
    const row = Array.from({ length: n }, (_, k) => byIndex.get(k + 1)!.scenarios[j]).filter((x): x is ScenarioResult => x !== undefined);
    if (!row.length) break;
    scenarios.push(...row);
  }
  const ok = parts.every((p) => p.ok) && scenarios.length > 0;
  const hashes = [...new Set(parts.map((p) => (p.toolchain ? `${p.toolchain.name} ${p.toolchain.hash}` : "this machine's own")))];
  if (hashes.length > 1)
    throw new MergeError(`the shards ran in different toolchains (${hashes.join("; ")}): their verdicts are not one run's`);
  return {
    lab: first.lab,
    file: first.file,
    backend: first.backend,
    software: Object.assign({}, ...parts.map((p) => p.software)),
    ...(first.toolchain ? { toolchain: first.toolchain } : {}),
    startedAt: parts.map((p) => p.startedAt).sort()[0]!,
    ok,
    scenarios,
    totals: labTotals(scenarios),
  };
}
