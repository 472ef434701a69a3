import { expect } from "vitest";
import type { LinkState } from "../probes/link.ts";
import type { PingResult } from "../probes/ping.ts";
import type { TraceResult } from "../probes/traceroute.ts";
import { summarize } from "./check.ts";
import { judgeLink, judgeNoReach, judgeReach, judgeTrace, type ReachMeasure, type Verdict } from "./judge.ts";

export interface ReachOptions {
  ttl?: number;
  loss?: number;
  rtt_ms?: { min?: number; avg?: number; p50?: number; p95?: number; max?: number };
  source?: string;
}
export type LinkOptions = Parameters<typeof judgeLink>[0];

interface LabMatchers<R = unknown> {
  /** A ping result with at least one reply, and every bound given holding (TTL of every reply, loss %, RTT). */
  toReach(opts?: ReachOptions): R;
  /** A ping result with no reply at all. */
  toBeUnreachable(): R;
  toHaveLinkState(opts: LinkOptions): R;
  toFollowHops(hops: string[]): R;
}

declare module "vitest" {
  interface Matchers<T = any> extends LabMatchers<T> {}
}

function result(v: Verdict, measured: string, what: string, isNot: boolean) {
  return {
    pass: v.ok,
    message: () => (isNot ? `expected not: ${what} — but it holds (${measured})` : `expected ${what}: ${v.reasons.join("; ")} (measured: ${measured})`),
  };
}

expect.extend({
  toReach(received: ReachMeasure, opts: ReachOptions = {}) {
    return result(judgeReach(opts, received), summarize(received), `${received.target} reachable`, this.isNot);
  },
  toBeUnreachable(received: PingResult) {
    return result(judgeNoReach(received), summarize(received), `${received.target} unreachable`, this.isNot);
  },
  toHaveLinkState(received: LinkState, opts: LinkOptions) {
    return result(judgeLink(opts, received), summarize(received), `${received.dev} in state ${JSON.stringify(opts)}`, this.isNot);
  },
  toFollowHops(received: TraceResult, hops: string[]) {
    return result(judgeTrace({ hops }, received), summarize(received), `hops ${hops.join(" → ")}`, this.isNot);
  },
});
