import type { NodeExec } from "./types.ts";

export interface Hop {
  ttl: number;
  /** null: no answer at this hop (`*`). */
  address: string | null;
  rttMs: number | null;
}

export interface TraceResult {
  kind: "trace";
  target: string;
  address?: string;
  hops: Hop[];
  reached: boolean;
  error?: string;
}

export async function traceroute(exec: NodeExec, target: string, maxHops = 10): Promise<TraceResult> {
  const r = await exec(["traceroute", "-n", "-q", "1", "-w", "1", "-m", String(maxHops), "--", target], { timeoutS: maxHops * 2 + 10 });
  return parseTraceroute(target, r.stdout, r.stderr);
}

export function parseTraceroute(target: string, out: string, err = ""): TraceResult {
  const hops: Hop[] = [];
  let address: string | undefined;
  for (const line of out.split("\n")) {
    const head = /^traceroute to \S+ \(([\d.]+)\)/.exec(line);
    if (head) address = head[1];
    const m = /^\s*(\d+)\s+(?:([\d.]+)\s+([\d.]+) ms|\*)/.exec(line);
    if (m) hops.push({ ttl: Number(m[1]), address: m[2] ?? null, rttMs: m[3] ? Number(m[3]) : null });
  }
  const last = hops.at(-1);
  return {
    kind: "trace",
    target,
    address,
    hops,
    reached: !!address && last?.address === address,
    error: hops.length === 0 ? (err || out).trim() || "traceroute printed nothing" : undefined,
  };
}
