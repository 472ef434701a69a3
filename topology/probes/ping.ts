import { type NodeExec, type RttSummary, summarize } from "./types.ts";

export interface PingReply {
  seq: number;
  from: string;
  ttl: number;
  rttMs: number;
}

export interface PingResult {
  kind: "ping";
  target: string;
  /** The address ping resolved the target to (absent when resolution failed). */
  address?: string;
  transmitted: number;
  received: number;
  lossPct: number;
  replies: PingReply[];
  rtt: RttSummary | null;
  /** ICMP errors and resolver failures ping printed ("Destination Host Unreachable", ...). */
  errors: string[];
}

export interface PingOptions {
  count?: number;
  intervalS?: number;
  /** Seconds to wait for each reply. */
  waitS?: number;
  source?: string;
}

export async function ping(exec: NodeExec, target: string, opts: PingOptions = {}): Promise<PingResult> {
  const count = opts.count ?? 3;
  const interval = opts.intervalS ?? 0.2;
  const wait = opts.waitS ?? 1;
  // No -w: with a deadline ping keeps sending past -c until it gets count replies.
  const deadline = Math.ceil(count * interval + wait + 0.5);
  const argv = ["ping", "-n", "-c", String(count), "-i", String(interval), "-W", String(wait)];
  if (opts.source) argv.push("-I", opts.source);
  const r = await exec([...argv, "--", target], { timeoutS: deadline + 5 });
  return parsePing(target, r.stdout + r.stderr, count);
}

export function parsePing(target: string, out: string, count: number): PingResult {
  const replies: PingReply[] = [];
  const errors: string[] = [];
  let address: string | undefined;
  let transmitted = count;
  let received: number | undefined;
  for (const line of out.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^PING \S+ \(([\d.]+)\)/.exec(line))) address = m[1];
    else if ((m = /bytes from ([\d.]+).*icmp_seq=(\d+).*ttl=(\d+).*time=([\d.]+) ms/.exec(line))) {
      replies.push({ from: m[1]!, seq: Number(m[2]), ttl: Number(m[3]), rttMs: Number(m[4]) });
    } else if ((m = /^(\d+) packets transmitted, (\d+) received/.exec(line))) {
      transmitted = Number(m[1]);
      received = Number(m[2]);
    } else if (/^From |^ping: /.test(line)) errors.push(line.trim());
  }
  // Duplicates (DUP!) are not extra answers: count distinct sequence numbers.
  const got = received ?? new Set(replies.map((r) => r.seq)).size;
  return {
    kind: "ping",
    target,
    address,
    transmitted,
    received: got,
    lossPct: transmitted ? Math.round(((transmitted - got) / transmitted) * 1000) / 10 : 100,
    replies,
    rtt: summarize(replies.map((r) => r.rttMs)),
    errors: [...new Set(errors)],
  };
}
