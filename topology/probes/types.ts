import type { CommandResult, RunOptions } from "../run/exec.ts";

/** Runs argv inside one node. */
export type NodeExec = (argv: string[], opts?: RunOptions) => Promise<CommandResult>;

export interface RttSummary {
  min: number;
  avg: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(values: readonly number[]): RttSummary | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { min: r(s[0]!), avg: r(s.reduce((a, b) => a + b, 0) / s.length), p50: r(q(0.5)), p95: r(q(0.95)), max: r(s[s.length - 1]!) };
}
