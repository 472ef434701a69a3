import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { labwright, ROOT } from "../support/cli.ts";
import { writeLab } from "../support/labs.ts";
import { scratchDir } from "../support/scratch.ts";

const XSD = fileURLToPath(new URL("../support/junit.xsd", import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const COMMANDS = ["run", "up", "down", "status", "exec", "gc", "import", "graph", "validate", "merge"];

/** A small lab with one expectation that holds and one that does not (at a known line). */
const LAB = writeLab(
  "ci.yaml",
  [
    "name: ci",
    "lans: { m: { cidr: 10.82.0.0/24 } }",
    "nodes:",
    "  a: { interfaces: { eth0: { lan: m, address: 10.82.0.1 } } }",
    "  b: { interfaces: { eth0: { lan: m, address: 10.82.0.2 } } }",
    "steps:",
    "  - { on: a, run: ip link set eth0 mtu 1400 }",
    "expect:",
    "  - reach: { from: a, to: b, ttl: 64 }",
    "  - reach: { from: a, to: b, ttl: 63 }",
    "  - no_reach: { from: b, to: 10.82.0.9 }",
    "",
  ].join("\n"),
);

describe("the command line", () => {
  it.each(COMMANDS)("`labwright %s --help` describes the command and exits 0", async (cmd) => {
    const r = await labwright([cmd, "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Usage: labwright ${cmd}`);
  });

  it("--version prints the package's version", async () => {
    const r = await labwright(["--version"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it("an unknown flag or command is a usage error: exit 2, the message and the usage, no stack trace", async () => {
    for (const args of [["run", LAB, "--frobnicate"], ["frobnicate"], ["run"]]) {
      const r = await labwright(args);
      expect(r.exitCode, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/error: (unknown option '--frobnicate'|unknown command 'frobnicate'|missing required argument 'lab')/);
      expect(r.stderr).toContain("Usage: labwright");
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe("CI outputs of `run`", () => {
  let dir: string;
  let r: Awaited<ReturnType<typeof labwright>>;
  beforeAll(async () => {
    dir = scratchDir("lw-ci-");
    r = await labwright(["run", LAB, "--quiet", "--json", join(dir, "r.json"), "--junit", join(dir, "junit.xml")], {
      env: { GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: join(dir, "summary.md"), GITHUB_WORKSPACE: join(LAB, "..") },
    });
  });

  it("exits 1 because one expectation does not hold", () => {
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
  });

  it("--junit writes JUnit XML that validates against the schema vitest's own JUnit output validates against", async () => {
    // The schema first proves itself on vitest's own reporter output.
    const own = join(dir, "vitest-junit.xml");
    // (A file of pure unit tests: a nested run must not build labs beside this file's own.)
    await execa("npx", ["vitest", "run", "suites/harness/verdicts.test.ts", "--reporter=junit", `--outputFile=${own}`], {
      cwd: ROOT,
      env: { NO_COLOR: "1" },
    });
    expect((await execa("xmllint", ["--noout", "--schema", XSD, own], { reject: false })).exitCode).toBe(0);
    const v = await execa("xmllint", ["--noout", "--schema", XSD, join(dir, "junit.xml")], { reject: false });
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it("the JUnit file has one testcase per step and expectation, with the measured values and the lab file's line", () => {
    const xml = readFileSync(join(dir, "junit.xml"), "utf8");
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toMatch(/<testsuites name="labwright ci" tests="4" failures="1"/);
    expect(xml).toContain('name="step: a$ ip link set eth0 mtu 1400"');
    expect(xml).toMatch(/<failure message="reply TTL 64, expected 63"[^>]*>[^<]*measured: 3\/3 replies/);
    expect(xml).toContain(`lab file: ${LAB}:10`);
  });

  it("GitHub: a step summary with the results, the reachability matrix and the topology; an ::error annotation at the failing line", () => {
    const md = readFileSync(join(dir, "summary.md"), "utf8");
    expect(md).toContain("## labwright: ci ❌ FAIL");
    expect(md).toContain("| default | ❌ | a → b reachable, TTL 63 |");
    expect(md).toMatch(/\| \*\*a\*\* \| ✅ reach TTL 64<br>❌ reach TTL 64 \|/);
    expect(md).toMatch(/\| \*\*b\*\* \| +\| ✅ no reach \|/);
    expect(md).toMatch(/```mermaid\nflowchart LR\n[\s\S]*node_a ---\|"eth0 10\.82\.0\.1"\| lan_m\n[\s\S]*```/);
    expect(Buffer.byteLength(md)).toBeLessThan(1024 * 1024);
    expect(r.stdout).toMatch(
      /^::error file=ci\.yaml,line=10,title=default%3A a → b reachable%2C TTL 63::reply TTL 64, expected 63 \(measured: 3\/3 replies/m,
    );
  });
});

describe("the debugging loop", () => {
  it("run --keep-on-failure leaves the failed scenario's lab up; exec, capture and down work on it by lab name", async () => {
    const dir = scratchDir("lw-keep-");
    const r = await labwright(["run", LAB, "--quiet", "--keep-on-failure", "--json", join(dir, "r.json")]);
    expect(r.exitCode).toBe(1);
    const id = /kept up for inspection \(run ([0-9a-f]{6})\)/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    // Whatever happens below (a timeout too), the kept lab goes: a later test builds one of the same name.
    onTestFinished(async () => {
      await labwright(["down", id!]);
    });
    try {
      const ex = await labwright(["exec", "ci", "a", "--", "ip", "-br", "addr", "show", "eth0"]);
      expect(ex.exitCode).toBe(0);
      expect(ex.stdout).toContain("10.82.0.1/24");
      const st = await labwright(["status"]);
      expect(st.stdout).toMatch(new RegExp(`${id}\\s+ci\\s+netns\\s+up\\s+labwright up\\s+a\\s+eth0 10\\.82\\.0\\.1/24`));
      // A capture while a ping runs: a real pcap (libpcap magic) with the echo requests in it. The
      // ping starts once tcpdump says it listens: started side by side, each CLI took 3.9-5.4 s to get
      // its command running on this machine (measured), the ping lasts 0.45 s, and a capture that
      // came up after it waited for its 4 packets until the test's limit (a CI run on 2026-12-05).
      const pcap = join(dir, "a.pcap");
      const capture = labwright(["capture", "ci", "b", "eth0", "-c", "4", "-w", pcap]);
      await new Promise<void>((ok, fail) => {
        let said = "";
        capture.stderr!.on("data", (b: Buffer) => {
          said += b.toString();
          if (said.includes("listening on")) ok();
        });
        void capture.then(() => fail(new Error(`the capture ended before listening: ${said}`)));
      });
      const ping = await labwright(["exec", "ci", "a", "--", "ping", "-c", "3", "-i", "0.2", "10.82.0.2"]);
      expect(ping.exitCode, ping.stderr).toBe(0);
      const cap = await capture;
      expect(cap.exitCode, cap.stderr).toBe(0);
      expect(readFileSync(pcap).readUInt32LE(0)).toBe(0xa1b2c3d4);
      const read = await execa("tcpdump", ["-n", "-r", pcap], { reject: false });
      expect(read.stdout).toContain("10.82.0.1 > 10.82.0.2: ICMP echo request");
      const forensics = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")).scenarios[0].forensics as string;
      const files = (await execa("ls", [forensics])).stdout;
      expect(files).toMatch(/flow-1-a-to-10\.82\.0\.2\.pcap/);
      expect((await execa("tcpdump", ["-n", "-r", join(forensics, "flow-1-a-to-10.82.0.2.pcap")], { reject: false })).stdout).toContain(
        "10.82.0.1 > 10.82.0.2: ICMP echo request",
      );
      expect(readFileSync(join(forensics, "a.txt"), "utf8")).toContain("net.ipv4.ip_forward = 0");
    } finally {
      const d = await labwright(["down", "ci"]);
      expect(d.stdout).toContain(`run ${id} removed`);
    }
  });

  it("up --scenario runs that scenario's steps on the lab it leaves up", async () => {
    const up = await labwright(["up", LAB, "--scenario", "default"]);
    try {
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stdout).toContain("ok    a$ ip link set eth0 mtu 1400");
      expect((await labwright(["exec", "ci", "a", "--", "cat", "/sys/class/net/eth0/mtu"])).stdout.trim()).toBe("1400");
    } finally {
      await labwright(["down", "ci"]);
    }
  });
});

describe("run --repeat", () => {
  const GOOD = writeLab(
    "rep.yaml",
    [
      "name: rep",
      "lans: { m: { cidr: 10.83.0.0/24 } }",
      "nodes:",
      "  a: { interfaces: { eth0: { lan: m, address: 10.83.0.1 } } }",
      "  b: { interfaces: { eth0: { lan: m, address: 10.83.0.2 } } }",
      "expect:",
      "  - reach: { from: a, to: b, ttl: 64 }",
      "",
    ].join("\n"),
  );

  it("runs the lab N times: one line per run, the pass rate and RTT spread per expectation, a JSON summary with each run's file, JUnit that validates; exit 0", async () => {
    const dir = scratchDir("lw-rep-");
    const r = await labwright(["run", GOOD, "--repeat", "3", "--quiet", "--json", join(dir, "s.json"), "--junit", join(dir, "j.xml")], {
      env: { GITHUB_STEP_SUMMARY: join(dir, "summary.md") },
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run 1\/3: PASS[\s\S]*run 2\/3: PASS[\s\S]*run 3\/3: PASS/);
    expect(r.stdout).toMatch(/PASS +3\/3 +a → b reachable, TTL 64/);
    expect(r.stdout).toMatch(/RTT p50 ms [\d.]+( \/ [\d.]+ \/ [\d.]+)?\n/);
    expect(r.stdout).toContain("Result: PASS — 3/3 runs passed; 0 flaky item(s)");
    const s = JSON.parse(readFileSync(join(dir, "s.json"), "utf8")) as { runs: number; runFiles: string[]; flaky: number };
    expect([s.runs, s.flaky, s.runFiles.length]).toEqual([3, 0, 3]);
    for (const f of s.runFiles) expect((JSON.parse(readFileSync(f, "utf8")) as { ok: boolean }).ok).toBe(true);
    expect((await execa("xmllint", ["--noout", "--schema", XSD, join(dir, "j.xml")], { reject: false })).exitCode).toBe(0);
    expect(readFileSync(join(dir, "summary.md"), "utf8")).toContain("## labwright: rep ×3 ✅ PASS");
  });

  it("--until-fail stops at the first failed run and exits 1; --repeat 0 is a usage error", async () => {
    const r = await labwright(["run", LAB, "--until-fail", "--repeat", "4", "--quiet", "--json", join(scratchDir("lw-rep-"), "s.json")]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("run 1/4: FAIL");
    expect(r.stdout).not.toContain("run 2/4");
    expect(r.stdout).toContain("Result: FAIL — 0/1 runs passed");
    const bad = await labwright(["run", LAB, "--repeat", "0"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--repeat takes a whole number from 1 to 9999");
  });
});

describe("run --timings and --trace", () => {
  const LAB2 = writeLab(
    "timed.yaml",
    [
      "name: timed",
      "lans: { m: { cidr: 10.84.0.0/24 } }",
      "nodes:",
      "  a: { interfaces: { eth0: { lan: m, address: 10.84.0.1 } } }",
      "  b: { interfaces: { eth0: { lan: m, address: 10.84.0.2 } } }",
      "steps:",
      "  - { on: a, run: 'ip link set lo up' }",
      "expect:",
      "  - reach: { from: a, to: b }",
      "",
    ].join("\n"),
  );

  it("prints each phase, the step with its command and convergence wait, the probe and teardown; the trace is Chrome's format with nested lanes", async () => {
    const dir = scratchDir("lw-trace-");
    const trace = join(dir, "t.json");
    const r = await labwright(["run", LAB2, "--quiet", "--timings", "--trace", trace, "--json", join(dir, "r.json")]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const what of [
      "start",
      "preflight",
      "nodes and fabric (netns)",
      "sysctls",
      "veth pairs",
      "LAN ports forwarding",
      "a$ ip link set lo up",
      "command",
      "convergence",
      "a → b reachable",
      "daemon logs",
      "teardown",
    ])
      expect(r.stdout).toContain(what);
    expect(r.stdout).toMatch(/Timings — default \(run \w+\): [\d.]+ (s|ms)/);
    expect(r.stdout).toMatch(/wall time by kind \(overlaps once\): phase [\d.]+ (s|ms) \(\d+\)/);
    type Ev = { name: string; ph: string; ts?: number; dur?: number; pid: number; tid: number; cat?: string };
    const ev = (JSON.parse(readFileSync(trace, "utf8")) as { traceEvents: Ev[] }).traceEvents;
    const x = ev.filter((e) => e.ph === "X");
    expect(new Set(x.map((e) => e.cat))).toEqual(new Set(["phase", "step", "command", "converge", "probe", "logs", "teardown"]));
    // On each lane, events either nest or follow each other (what a trace viewer needs).
    for (const tid of new Set(x.map((e) => e.tid))) {
      const lane = x.filter((e) => e.tid === tid).sort((a, b) => a.ts! - b.ts!);
      const open: number[] = [];
      for (const e of lane) {
        while (open.length && open[open.length - 1]! <= e.ts!) open.pop();
        if (open.length) expect(e.ts! + e.dur!, `${e.name} on lane ${tid}`).toBeLessThanOrEqual(open[open.length - 1]!);
        open.push(e.ts! + e.dur!);
      }
    }
    const res = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as {
      scenarios: { timeline: { name: string; parent: number | null }[] }[];
    };
    const tl = res.scenarios[0]!.timeline;
    const startSpan = tl.find((s) => s.name === "start")!;
    expect(tl.find((s) => s.name === "sysctls")!.parent).toBe((startSpan as unknown as { id: number }).id);
  });
});

describe("run --shard and merge", () => {
  const SHARDED = writeLab(
    "sharded.yaml",
    [
      "name: sharded",
      "lans: { m: { cidr: 10.85.0.0/24 } }",
      "nodes:",
      "  a: { interfaces: { eth0: { lan: m, address: 10.85.0.1 } } }",
      "  b: { interfaces: { eth0: { lan: m, address: 10.85.0.2 } } }",
      "scenarios:",
      "  - { name: one, expect: [ { reach: { from: a, to: b } } ] }",
      "  - { name: two, expect: [ { reach: { from: b, to: a } } ] }",
      "  - { name: three, expect: [ { no_reach: { from: a, to: 10.85.0.9 } } ] }",
      "",
    ].join("\n"),
  );

  it("two shards run scenarios one+three and two; merge joins them in the lab's order into one report, JSON and JUnit; a missing shard is a usage error (and so are --shard 3/2 and --repeat with --keep-on-failure but no --until-fail)", async () => {
    const dir = scratchDir("lw-shard-");
    const r1 = await labwright(["run", SHARDED, "--shard", "1/2", "--quiet", "--json", join(dir, "1.json")]);
    const r2 = await labwright(["run", SHARDED, "--shard", "2/2", "--quiet", "--json", join(dir, "2.json")]);
    expect([r1.exitCode, r2.exitCode], r1.stdout + r2.stdout).toEqual([0, 0]);
    expect(r1.stdout).toContain("shard 1/2: one, three");
    expect(r2.stdout).toContain("shard 2/2: two");
    const names = (f: string) =>
      (JSON.parse(readFileSync(join(dir, f), "utf8")) as { scenarios: { name: string }[] }).scenarios.map((x) => x.name);
    expect([names("1.json"), names("2.json")]).toEqual([["one", "three"], ["two"]]);
    const m = await labwright([
      "merge",
      join(dir, "2.json"),
      join(dir, "1.json"),
      "--json",
      join(dir, "m.json"),
      "--junit",
      join(dir, "m.xml"),
    ]);
    expect(m.exitCode, m.stdout + m.stderr).toBe(0);
    expect(names("m.json")).toEqual(["one", "two", "three"]);
    expect((JSON.parse(readFileSync(join(dir, "m.json"), "utf8")) as { totals: { checks: number; passed: number } }).totals).toMatchObject({
      checks: 3,
      passed: 3,
    });
    expect(m.stdout).toMatch(/Scenario one: PASS[\s\S]*Scenario two: PASS[\s\S]*Scenario three: PASS/);
    expect((await execa("xmllint", ["--noout", "--schema", XSD, join(dir, "m.xml")], { reject: false })).exitCode).toBe(0);
    const missing = await labwright(["merge", join(dir, "1.json")]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("shard 2/2 missing");
    const keep = await labwright(["run", SHARDED, "--repeat", "3", "--keep-on-failure"]);
    expect(keep.exitCode).toBe(2);
    expect(keep.stderr).toContain("add --until-fail");
    const bad = await labwright(["run", SHARDED, "--shard", "3/2"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--shard takes i/n with 1 ≤ i ≤ n");
  });
});
