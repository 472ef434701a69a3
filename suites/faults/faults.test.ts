import { readFileSync } from "node:fs";
import { join } from "node:path";
import { JSDOM } from "jsdom";
import { describe, expect, it } from "vitest";
import type { LabResult } from "../../topology/results.ts";
import { labwright } from "../support/cli.ts";
import { loadLab } from "../../topology/model/load.ts";
import { recoveryAfter } from "../../topology/probes/watch.ts";
import { scenarioReport } from "../../topology/report/text.ts";
import { runScenario } from "../../topology/scenario.ts";
import { start } from "../../topology/lab.ts";
import type { Step } from "../../topology/model/types.ts";
import { BACKEND } from "../support/fixture.ts";
import { writeLab } from "../support/labs.ts";
import { scenario } from "../support/steps.ts";
import { scratchDir } from "../support/scratch.ts";

/**
 * Faults as steps and watches through them, on a plain routed lab (a — r — b): what the kernel
 * does when a cable is pulled and plugged back, and a daemon killed, measured by a ping every 20 ms.
 */
const LAB = `name: faults
lans:
  left: { cidr: 10.1.0.0/24 }
  right: { cidr: 10.2.0.0/24 }
nodes:
  a:
    interfaces: { eth0: { lan: left, address: 10.1.0.2 } }
    routes: [{ to: default, via: 10.1.0.1 }]
    resolver: 10.2.0.2
  r:
    interfaces: { eth0: { lan: left, address: 10.1.0.1 }, eth1: { lan: right, address: 10.2.0.1 } }
    sysctls: { net.ipv4.ip_forward: 1 }
  b:
    interfaces: { eth0: { lan: right, address: 10.2.0.2 } }
    routes: [{ to: default, via: 10.2.0.1 }]
    services: [{ type: http, port: 80, body: "b\\n" }]
    dns: { records: { web.faults: 10.2.0.2 } }
scenarios:
  - name: cable
    steps:
      - { watch: ab, on: a, ping: b, interval_ms: 20 }
      - { on: a, run: sleep 0.5 }
      - { name: pull, on: r, pull: eth1 }
      - check: [ { link: { node: r, dev: eth1, admin: up, carrier: false, address: 10.2.0.1/24 } } ]
      - { on: a, run: sleep 1 }
      - { name: plug, on: r, plug: eth1 }
      - { on: a, run: sleep 2.5 }
    expect:
      - outage: { watch: ab, max_ms: 2400 }
      - recovers: { watch: ab, after: plug, within_ms: 1300 }
      - link: { node: r, dev: eth1, carrier: true }
  - name: kinds
    steps:
      - { watch: tcp, on: a, tcp: { to: b, port: 80 }, interval_ms: 50 }
      - { watch: http, on: a, http: "http://10.2.0.2/", interval_ms: 50 }
      - { watch: dns, on: a, dns: web.faults, interval_ms: 50 }
      - { on: a, run: sleep 0.5 }
      - { name: pull, on: r, pull: eth1 }
      - { on: a, run: sleep 1 }
      - { name: plug, on: r, plug: eth1 }
      - { on: a, run: sleep 2.5 }
    expect:
      - outage: { watch: tcp, min_ms: 950 }
      - outage: { watch: http, min_ms: 950 }
      - outage: { watch: dns, min_ms: 950 }
  - name: kill
    steps:
      - check: [ { tcp: { from: a, to: b, port: 80 } } ]
      - { watch: ab, on: a, ping: b, interval_ms: 50 }
      - { name: crash, on: b, kill: "httpd:80" }
      - { name: no such daemon, on: b, kill: sshd, }
    expect:
      - tcp: { from: a, to: b, port: 80, open: false }
      - no_loss: { watch: ab }
  - name: impair
    steps:
      - { watch: ab, on: a, ping: b, interval_ms: 10 }
      - { name: lossy, on: r, impair: eth1, loss: 30 }
      - { on: a, run: sleep 2 }
      - { name: clean, on: r, impair: eth1, loss: 0 }
      - { watch: after, on: a, ping: b, interval_ms: 10 }
      - { on: a, run: sleep 1.5 }
      - { name: slow, on: r, impair: eth1, rate_kbit: 8 }
      - { watch: slow, on: a, ping: b, interval_ms: 10 }
      - { on: a, run: sleep 2.5 }
  - name: partition
    steps:
      - { watch: ab, on: a, ping: b, interval_ms: 20 }
      - { on: a, run: sleep 0.5 }
      - { name: split, partition: [[a], [r, b]] }
      - check: [ { no_reach: { from: a, to: r, count: 2 } }, { reach: { from: r, to: b } } ]
      - { name: heal, heal: true }
      - { on: a, run: sleep 1.5 }
    expect:
      - outage: { watch: ab, min_ms: 500 }
      - recovers: { watch: ab, after: heal, within_ms: 1500 }
      - reach: { from: a, to: b, loss: 0 }
  - name: crash-boot
    steps:
      - { watch: ab, on: a, ping: b, interval_ms: 20 }
      - { on: a, run: sleep 0.5 }
      - { name: crash, crash: b }
      - check: [ { no_reach: { from: a, to: b, count: 2 } }, { tcp: { from: a, to: b, port: 80, open: false } } ]
      - { name: boot, boot: b }
      - { on: a, run: sleep 1.5 }
    expect:
      - outage: { watch: ab, min_ms: 1000 }
      - tcp: { from: a, to: b, port: 80 }
      - resolve: { on: a, name: web.faults, addresses: [10.2.0.2] }
`;

// Each test's limit (60 s) is the harness's, half vitest's default: the scenarios take 4.3 s (cable),
// 5.0 s (kinds), 0.6 s (kill), 6.5 s (impair), 4.3 s (partition) and 6.5 s (crash-boot) on this 2-core machine, start and
// teardown included; the API test 4.5 s and the `labwright run` picture test 7-10 s (measured).
describe(`[${BACKEND}] faults as steps, measured by a watch`, () => {
  const lab = loadLab(writeLab("faults.yaml", LAB));

  it(
    "a cable pulled for 1 s on the router's far side: carrier lost at once, an outage covering the pull, and replies again within one ARP retransmission (1 s) of the plug",
    { timeout: 60_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "cable"), { backend: BACKEND });
      expect(r.checks.filter((c) => !c.ok).map((c) => `${c.description}: ${c.measured}`)).toEqual([]);
      const w = r.watches!.find((x) => x.name === "ab")!;
      // The pull does something measurable: the longest outage spans the 1 s the cable was out.
      expect(w.longest!.durationMs).toBeGreaterThanOrEqual(950);
      expect(w.longest!.duringStep).toBe("pull");
      // The carrier loss flushed r's neighbour entry for b: the held echo requests wait for ARP, which
      // retries every second (net.ipv4.neigh.*.retrans_time_ms = 1000), so the plug is followed by
      // replies within a second; the three tries (mcast_solicit) outlast a 1 s pull, so none is lost.
      const rec = recoveryAfter(w, "plug").ms!;
      expect(rec).toBeLessThanOrEqual(1300);
      expect(w.sent).toBeGreaterThan(150);
      // Every reply and every step is in the results' timeline.
      expect(w.replies.length).toBe(w.received);
      expect(w.marks.map((m) => m.name).filter(Boolean)).toEqual(["pull", "plug"]);
      expect(scenarioReport(r)).toMatch(/watch ab \(a → b\): \d+ sent every 20 ms, \d+ answered, \d+ lost; longest outage \d+ ms/);
      expect(r.ok).toBe(true);
    },
  );

  it(
    "TCP, HTTP and DNS watches through the same 1 s pull: each probe kind has an outage of over 950 ms from the pull to after the plug, and answers again",
    { timeout: 60_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "kinds"), { backend: BACKEND });
      expect(r.checks.filter((c) => !c.ok).map((c) => `${c.description}: ${c.measured}`)).toEqual([]);
      const by = Object.fromEntries(r.watches!.map((w) => [w.name, w]));
      expect(Object.values(by).map((w) => `${w.name}:${w.probe}:${w.to}`)).toEqual([
        "tcp:tcp:b:80/tcp",
        "http:http:http://10.2.0.2/",
        "dns:dns:web.faults (DNS)",
      ]);
      for (const w of Object.values(by)) {
        // Answered before and after; the longest outage began in the pull and ended after the plug.
        // How many probes fail, rather than answer late, depends on where r's ARP retry falls after the
        // plug (measured for TCP: 21 of 90 lost in two runs, 0 and 1 in two others): the outage is the
        // figure asserted. A failed probe says why.
        expect(w.received, w.name).toBeGreaterThan(40);
        expect(w.longest, w.name).toMatchObject({ duringStep: "pull", recovered: true });
        expect(w.longest!.endMs, w.name).toBeGreaterThan(w.marks.find((m) => m.name === "plug")!.startMs);
        if (w.lost) expect(w.errors.length, w.name).toBeGreaterThan(0);
      }
      expect(scenarioReport(r)).toMatch(/watch dns \(a → web\.faults \(DNS\)\): \d+ sent every 50 ms/);
      expect(r.ok).toBe(true);
    },
  );

  it(
    "from a suite: startWatch, a fault step run with runStep, then watch() and the matchers judge the figures",
    { timeout: 60_000 },
    async () => {
      await using started = await start(lab, { backend: BACKEND });
      await started.startWatch("api", "a", "b", 20);
      await started.startWatch("api-tcp", "a", "b", 50, { tcp: 80 });
      const pull = scenario(lab, "cable").steps.find((x) => x.name === "pull")! as Exclude<Step, { kind: "check" }>;
      const plug = scenario(lab, "cable").steps.find((x) => x.name === "plug")! as Exclude<Step, { kind: "check" }>;
      // The cable scenario's timing, from a test: 0.5 s of watch, a 1 s pull, 2.5 s after the plug.
      await new Promise((r) => setTimeout(r, 500));
      expect((await started.runStep(pull)).asExpected).toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      expect((await started.runStep(plug)).asExpected).toBe(true);
      await new Promise((r) => setTimeout(r, 2500));
      const w = await started.watch("api");
      expect(w).toRecoverWithin(1300, { after: "plug" });
      expect(w).not.toHaveOutageBelow(900); // the pull did something measurable
      expect(w).toHaveOutageBelow(2400);
      const t = await started.watch("api-tcp");
      expect(t).toMatchObject({ probe: "tcp", to: "b:80/tcp" });
      expect(t!.longest).toMatchObject({ duringStep: "pull", recovered: true });
      // Connects over the pull wait for r's ARP (its neighbour entry for b went with the carrier):
      // whether they complete within their 1 s or time out depends on where ARP's 1 s retry falls, so
      // the outage is the figure here, not the loss (0 lost in one run, 21 of 90 in another).
      expect(t).not.toHaveOutageBelow(900);
    },
  );

  it(
    "kill: the daemon labwright started (by its recorded pid) stops serving while the path stays up; a daemon the node does not run is refused with the list of those it does",
    { timeout: 60_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "kill"), { backend: BACKEND });
      const steps = r.steps.filter((s) => s.kind === "run");
      expect(steps.map((s) => s.kind === "run" && s.ok)).toEqual([true, true, false]);
      const refused = steps[2]!;
      expect(refused.kind === "run" && refused.output).toContain('labwright started no daemon "sshd" on b; running there: dnsmasq');
      expect(steps[1]!.kind === "run" && steps[1]!.output).toMatch(/^httpd:80 on b: killed \(SIGKILL, pid \d+\)/);
      // The refused step breaks the scenario (its later steps are skipped), but what was measured stands.
      expect(r.ok).toBe(false);
    },
  );

  it(
    "impair: 30% loss on what r sends to b loses about 30% of a's pings (binomial bounds), none once cleared; a rate of 8 kbit/s drops most of a 10 ms ping stream",
    { timeout: 60_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "impair"), { backend: BACKEND });
      expect(r.steps.filter((s) => s.kind === "run" && !s.ok)).toEqual([]);
      const by = Object.fromEntries(r.watches!.map((w) => [w.name, w]));
      const ab = by.ab!;
      const mark = (name: string) => ab.marks.find((m) => m.name === name)!;
      // Each request's send time: an answered one's from its reply (receive time - RTT); a lost
      // one's from its last answered predecessor, plus the interval per request.
      const sentAt = new Map(ab.replies.map((x) => [x.seq, x.atMs - x.rttMs]));
      const estimate = (seq: number) => {
        let k = seq - 1;
        while (k > 0 && !sentAt.has(k)) k--;
        return (sentAt.get(k) ?? 0) + (seq - k) * ab.intervalMs;
      };
      const requests = Array.from({ length: ab.sent }, (_, k) => k + 1).map((seq) => ({
        at: sentAt.get(seq) ?? estimate(seq),
        lost: !sentAt.has(seq),
      }));
      // The lossy phase: the requests sent between the lossy step's end (the rule in place) and the
      // clean step's start, and what share of them was lost. Counted, not assumed: ping's pace here
      // is about 16 ms, not the 10 ms asked (measured: 125-127 requests in the phase's 2.0 s, where
      // 200 were assumed until a clean-clone CI run of 2026-12-05 saw 27 lost, 0.135 of 200, 0.22 of
      // the requests really sent). 30% of ~125: the bounds are 3.7 standard deviations each side.
      const lossy = requests.filter((x) => x.at >= mark("lossy").endMs && x.at < mark("clean").startMs);
      expect(lossy.length).toBeGreaterThan(50);
      const share = lossy.filter((x) => x.lost).length / lossy.length;
      expect(share).toBeGreaterThan(0.15);
      expect(share).toBeLessThan(0.45);
      // The clean watch lost nothing; the slow one most (98-byte frames every 10 ms are 78 kbit/s, ten times the rate).
      const lostIn = (w: string, step: string) => by[w]!.outages.filter((o) => o.duringStep === step).reduce((n, o) => n + o.lost, 0);
      expect(lostIn("after", "clean")).toBe(0);
      // On "ab", no request sent after the clean step had rewritten the table is lost. A request sent
      // while it was rewriting (the step takes 26-35 ms, measured: 2-3 requests) still met the 30%
      // rule: one such loss failed this test in a clean-clone CI run (2026-12-05) when it counted
      // every loss of the step's outages.
      const lostAfterClean = requests.filter((x) => x.lost && x.at > mark("clean").endMs + ab.intervalMs && x.at < mark("slow").startMs);
      expect(lostAfterClean).toEqual([]);
      expect(by.slow!.lost / by.slow!.sent).toBeGreaterThan(0.5);
      expect(r.ok).toBe(true);
    },
  );

  it(
    "partition: frames between a and the r–b side are dropped (r still reaches b), and the watch recovers once healed",
    { timeout: 60_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "partition"), { backend: BACKEND });
      expect(r.checks.filter((c) => !c.ok).map((c) => `${c.description}: ${c.measured}`)).toEqual([]);
      const w = r.watches![0]!;
      expect(w.longest).toMatchObject({ duringStep: "split", recovered: true });
      // A partition and a heal are the fabric's: the report does not put them on a node.
      expect(scenarioReport(r)).toContain("(fabric)$ (labwright) heal every partition");
      expect(r.ok).toBe(true);
    },
  );

  it(
    "crash, then boot: b's cables pulled and its daemons killed (a loses b), then b comes back with its services (HTTP, DNS) answering again",
    { timeout: 60_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "crash-boot"), { backend: BACKEND });
      expect(r.checks.filter((c) => !c.ok).map((c) => `${c.description}: ${c.measured}`)).toEqual([]);
      const runs = r.steps.filter((s) => s.kind === "run");
      const named = (n: string) => runs.find((s) => s.kind === "run" && s.name === n)!;
      const crash = named("crash");
      expect(crash.kind === "run" && crash.output).toMatch(/b eth0: cable pulled[^\n]*\nb: 2 process\(es\) killed \(dnsmasq, httpd:80\)/);
      const boot = named("boot");
      expect(boot).toMatchObject({ ok: true, exitCode: 0 });
      expect(boot.kind === "run" && boot.output).toMatch(
        /b: \d+ socket\(s\) of the dead system closed, 1 cable\(s\) plugged back in\nb: its services answer after/,
      );
      // The watch lost b from the crash (the check in between took about 2 s) to after the boot.
      const w = r.watches!.find((x) => x.name === "ab")!;
      expect(w.longest).toMatchObject({ duringStep: "crash", recovered: true });
      expect(w.longest!.endMs).toBeGreaterThan(w.marks.find((m) => m.name === "boot")!.startMs);
      expect(recoveryAfter(w, "boot").ms).toBeLessThanOrEqual(1500);
      expect(r.ok).toBe(true);
    },
  );

  it(
    "`labwright run` draws the pulled cable's watch: an SVG beside the JSON, named in the report and the results, its outage shaded over the pull",
    { timeout: 60_000 },
    async () => {
      const dir = scratchDir("lw-faults-svg-");
      const r = await labwright(["run", lab.file, "--scenario", "cable", "--json", join(dir, "r.json"), "--quiet"]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      const svgFile = join(dir, "r-cable-watch-ab.svg");
      expect(r.stdout).toContain(`picture: ${svgFile}`);
      const result = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as LabResult;
      expect(result.scenarios[0]!.pictures).toEqual([svgFile]);
      const w = result.scenarios[0]!.watches![0]!;
      const doc = new new JSDOM("").window.DOMParser().parseFromString(readFileSync(svgFile, "utf8"), "image/svg+xml");
      expect(doc.getElementsByTagName("parsererror")).toHaveLength(0);
      expect(doc.querySelectorAll("g.reply_marks > *")).toHaveLength(w.received); // a point per reply
      const labels = [...doc.querySelectorAll("g.outage_label_marks > *")].map((e) => e.textContent);
      expect(labels).toContain(`${Math.round(w.longest!.durationMs)} ms`); // the outage, labelled
      expect([...doc.querySelectorAll("g.named_step_label_marks > *")].map((e) => e.textContent)).toContain("pull");
    },
  );
});
