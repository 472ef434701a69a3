/**
 * A watch: a probe kept running from a node or guest while steps run, one every `intervalMs`: `ping`
 * (each reply stamped by ping itself, `-D`: the time it was received), or a TCP connect, an HTTP GET
 * or a DNS lookup (net-helper.mjs's watch mode: each answer stamped when it came). From the answers
 * alone come the figures an operator asks for after a fault: sent, received, lost, the longest
 * outage (from the last answer before a loss to the first answer after it), when it began and when
 * answers flowed again. Pure functions here; starting and stopping the process is the started lab's.
 */

/** What a watch probes with: an ICMP echo, a TCP connect, an HTTP GET (status below 400), a DNS lookup. */
export type WatchProbe = "ping" | "tcp" | "http" | "dns";

export interface WatchReply {
  seq: number;
  /** Milliseconds since the watch started (ping's receive time). */
  atMs: number;
  /** The echo's round trip, or how long the connect, GET or lookup took. */
  rttMs: number;
  /** ping only: the reply's TTL. */
  ttl?: number;
}

/** A step that ran while the watch did, in the watch's time (ms since it started). */
export interface WatchMark {
  label: string;
  /** The step's `name:`, when it has one (what `recovers.after` refers to). */
  name?: string;
  startMs: number;
  endMs: number;
}

export interface WatchOutage {
  /** The last reply before the gap (0 when it began with the watch). */
  startMs: number;
  /** The first reply after it (the watch's end when replies never came back). */
  endMs: number;
  durationMs: number;
  lost: number;
  recovered: boolean;
  /**
   * When the first probe the gap held back left: between the send times of the replies on either
   * side of the gap (receive time − RTT), at the pace ping kept between them; at the watch's
   * measured pace after the last reply when none came back. ping paces at its interval or slower:
   * 24 ms apart at `-i 0.02` while the Incus lab runs, so one nominal interval after `startMs`
   * is too early by a few ms.
   */
  heldFromMs?: number;
  /**
   * The last named step (else the last step) that had started when the first held-back probe left
   * (`heldFromMs`), and how long after its start that was.
   */
  duringStep?: string;
  sinceStepMs?: number;
}

export interface WatchResult {
  kind: "watch";
  name: string;
  probe: WatchProbe;
  from: string;
  to: string;
  address?: string;
  intervalMs: number;
  durationMs: number;
  /** Echo requests whose answer could be due (those sent in the last second before the stop are left out). */
  sent: number;
  received: number;
  lost: number;
  /**
   * The longest outage: a gap between replies in which probes went unanswered, or that lasted over
   * two intervals and 50 ms because the reply after it was held back (its round trip over an
   * interval and 50 ms; a prompt reply after a long gap is the prober's own stall, not an outage).
   */
  longest?: WatchOutage;
  outages: WatchOutage[];
  replies: WatchReply[];
  marks: WatchMark[];
  /** What ping printed that is not a reply (ICMP errors, resolver failures). */
  errors: string[];
  /** Set when a `recovers` expectation asked: how long after that step's start replies flowed again. */
  recovery?: { after: string; ms?: number; why?: string };
}

/** What a watch's answers measure, for reports and pictures. */
export const ANSWER: Record<WatchProbe, { noun: string; time: string }> = {
  ping: { noun: "echo", time: "RTT" },
  tcp: { noun: "connect", time: "connect time" },
  http: { noun: "GET", time: "response time" },
  dns: { noun: "lookup", time: "lookup time" },
};

/** The argv of the watch's ping (run inside the node or guest). */
export function watchArgv(address: string, intervalMs: number): string[] {
  return ["ping", "-n", "-D", "-i", String(intervalMs / 1000), "-W", "1", "--", address];
}

/** A reply waits at most 1 s (`-W 1`): requests sent later than this before the stop are still in flight. */
const IN_FLIGHT_MS = 1000;

/**
 * The figures of a watch from ping's output. `startedAt`/`stoppedAt`: epoch ms of the spawn and of
 * the stop signal; `marks`: the steps that ran meanwhile, in epoch ms.
 */
export function watchFigures(
  spec: { name: string; from: string; to: string; intervalMs: number; probe?: WatchProbe },
  out: string,
  startedAt: number,
  stoppedAt: number,
  marks: readonly { label: string; name?: string; start: number; end: number }[],
): WatchResult {
  const bySeq = new Map<number, WatchReply>();
  const errors: string[] = [];
  let address: string | undefined;
  let transmitted: number | undefined;
  for (const line of out.split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^PING \S+ \(([\d.]+)\)/.exec(line))) address = m[1];
    else if ((m = /^WATCH tcp ([\d.]+) /.exec(line))) address = m[1];
    else if ((m = /^\[(\d+\.\d+)\] seq=(\d+) ok ms=([\d.]+)$/.exec(line))) {
      const seq = Number(m[2]);
      if (!bySeq.has(seq)) bySeq.set(seq, { seq, atMs: Number(m[1]) * 1000 - startedAt, rttMs: Number(m[3]) });
    } else if ((m = /^\[\d+\.\d+\] seq=\d+ fail (.*)$/.exec(line))) errors.push(m[1]!.trim());
    else if ((m = /^(\d+) probes started$/.exec(line))) transmitted = Number(m[1]);
    else if ((m = /^\[(\d+\.\d+)\] \d+ bytes from [\d.]+: icmp_seq=(\d+) ttl=(\d+) time=([\d.]+) ms/.exec(line))) {
      const seq = Number(m[2]);
      if (!bySeq.has(seq)) bySeq.set(seq, { seq, atMs: Number(m[1]) * 1000 - startedAt, ttl: Number(m[3]), rttMs: Number(m[4]) });
    } else if ((m = /^(\d+) packets transmitted/.exec(line))) transmitted = Number(m[1]);
    else if (/^\[\d+\.\d+\] From |^ping: /.test(line)) errors.push(line.replace(/^\[\d+\.\d+\] /, "").trim());
  }
  const replies = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const durationMs = stoppedAt - startedAt;
  // When sequence k left: ping paces its requests at the interval or slower (over a minute at
  // 20 ms, 3003 requests took 62.3 s, not 60), so extrapolate from the answered requests' own send
  // times (receive time − RTT) at their measured pace; before any answer, at the nominal interval.
  const first = replies[0];
  const last = replies.at(-1);
  const sendOf = (r: WatchReply) => r.atMs - r.rttMs;
  const pace =
    first && last && last.seq > first.seq
      ? Math.max(spec.intervalMs, (sendOf(last) - sendOf(first)) / (last.seq - first.seq))
      : spec.intervalMs;
  const leftAt = (k: number) => (last ? sendOf(last) + (k - last.seq) * pace : (k - 1) * spec.intervalMs);
  // Requests that left in the last second before the stop are still within ping's wait: not counted.
  const highest = Math.max(transmitted ?? Math.floor(durationMs / spec.intervalMs) + 1, last?.seq ?? 0);
  let sent = last?.seq ?? 0;
  while (sent < highest && leftAt(sent + 1) <= durationMs - IN_FLIGHT_MS) sent++;
  const answered = replies.filter((r) => r.seq <= sent);
  const rel = marks.map((k) => ({ label: k.label, name: k.name, startMs: k.start - startedAt, endMs: k.end - startedAt }));
  // The step an outage is put down to: the last named step (a fault is usually named) that had
  // started by then, else the last step of any kind.
  const during = (t: number) => {
    const before = rel.filter((k) => k.startMs <= t);
    return before.filter((k) => k.name).at(-1) ?? before.at(-1);
  };
  const outages: WatchOutage[] = [];
  // When the first probe a gap held back left: interpolated between the send times of the replies
  // around the gap (a clean-clone CI run of 2026-12-06: the last reply before a crash came at
  // 1017.4 ms, the crash began at 1039 ms, ping's requests were 24 ms apart; one nominal 20 ms
  // interval put the first lost request at 1037.4 ms, in the step before the crash, where the
  // requests' own pace puts it at 1041 ms, after the crash began).
  const heldFrom = (before: WatchReply | undefined, after: WatchReply | undefined): number => {
    if (before && after) return sendOf(before) + (sendOf(after) - sendOf(before)) / (after.seq - before.seq);
    if (before) return sendOf(before) + pace;
    return after ? Math.max(0, sendOf(after) - (after.seq - 1) * pace) : 0;
  };
  const add = (startMs: number, endMs: number, lost: number, recovered: boolean, firstHeld: number) => {
    const step = during(firstHeld);
    outages.push({
      startMs,
      endMs,
      durationMs: endMs - startMs,
      lost,
      recovered,
      heldFromMs: firstHeld,
      duringStep: step?.label,
      sinceStepMs: step ? Math.max(0, firstHeld - step.startMs) : undefined,
    });
  };
  // Walk the replies in the order they arrived. A gap is an outage when probes went unanswered in
  // it, or when it lasted well over an interval because the answer after it was held back (its own
  // round trip over an interval and 50 ms: e.g. echo requests queued behind a neighbour resolution,
  // an outage of service without a loss). A long gap closed by a prompt answer is the prober's own:
  // it sent nothing meanwhile, or read late, for want of the CPU (measured in the Incus seed's
  // gateway-member-crashes, while `incus network create` ran: a 124 ms gap between requests 3712
  // and 3713, no loss, request 3713 answered in 0.9 ms).
  const slowGap = 2 * spec.intervalMs + 50;
  const heldBack = (r: WatchReply) => r.rttMs > slowGap - spec.intervalMs;
  let prevAt = 0;
  let maxSeq = 0;
  let highestAnswered: WatchReply | undefined;
  for (const r of [...answered].sort((a, b) => a.atMs - b.atMs)) {
    const missing = r.seq > maxSeq + 1 ? countMissing(bySeq, maxSeq + 1, r.seq - 1) : 0;
    if (missing > 0 || (r.atMs - prevAt > slowGap && heldBack(r)))
      add(prevAt, r.atMs, missing, true, heldFrom(highestAnswered, r.seq > maxSeq ? r : undefined));
    prevAt = r.atMs;
    if (r.seq > maxSeq) highestAnswered = r;
    maxSeq = Math.max(maxSeq, r.seq);
  }
  if (sent > maxSeq) add(prevAt, durationMs, countMissing(bySeq, maxSeq + 1, sent), false, heldFrom(highestAnswered, undefined));
  const longest = outages.reduce<WatchOutage | undefined>((a, o) => (!a || o.durationMs > a.durationMs ? o : a), undefined);
  return {
    kind: "watch",
    name: spec.name,
    probe: spec.probe ?? "ping",
    from: spec.from,
    to: spec.to,
    address,
    intervalMs: spec.intervalMs,
    durationMs,
    sent,
    received: answered.length,
    lost: sent - answered.length,
    longest,
    outages,
    replies,
    marks: rel,
    errors: [...new Set(errors)].slice(0, 10),
  };
}

/** Sequence numbers from..to (inclusive) that got no reply. */
function countMissing(bySeq: ReadonlyMap<number, WatchReply>, from: number, to: number): number {
  let n = 0;
  for (let k = from; k <= to; k++) if (!bySeq.has(k)) n++;
  return n;
}

/**
 * How long after the step named `step` started the replies flowed again: the end of the last outage
 * the step answers for — one still going on when it started, or one that began before the next
 * named step started (a later fault's outage is that fault's: a crash and the boot after it each
 * have their own recovery). An outage begins, as for its `duringStep`, when its first held-back
 * probe left (`heldFromMs`), at least one interval after the last reply before it: a gap whose last reply came just
 * before the next step started is the next step's (a clean-clone CI run of 2026-12-05 put the
 * outages of an ovn-controller and an ovs-vswitchd restart on the steps before them: each gap's
 * last reply came 4 ms before its restart began, its first held-back probe 16 ms after). 0 when nothing was lost in that span;
 * undefined when the watch never recovered, or the step did not run while the watch did.
 */
export function recoveryAfter(w: WatchResult, step: string): { ms?: number; why?: string } {
  const mark = w.marks.find((k) => k.name === step);
  if (!mark) return { why: `step "${step}" did not run while watch ${w.name} did` };
  const next = w.marks.find((k) => k.name !== undefined && k.startMs > mark.startMs);
  // Results written before `heldFromMs` existed: one interval after the last reply.
  const began = (o: WatchOutage) => o.heldFromMs ?? o.startMs + w.intervalMs;
  const after = w.outages.filter((o) => o.endMs > mark.startMs && (!next || began(o) < next.startMs));
  if (after.length === 0) return { ms: 0 };
  const last = after.at(-1)!;
  if (!last.recovered) return { why: `no reply after ${Math.round(last.startMs)} ms: the watch never recovered` };
  return { ms: Math.max(0, last.endMs - mark.startMs) };
}
