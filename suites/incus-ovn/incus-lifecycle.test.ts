import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { loadLab } from "../../topology/model/load.ts";
import { readState } from "../../topology/run/state.ts";
import { runScenario } from "../../topology/scenario.ts";
import { BACKEND } from "../support/fixture.ts";
import { CLI, labwright } from "../support/cli.ts";
import { expectGcRemoves } from "../support/gc.ts";
import { writeLab } from "../support/labs.ts";
import { listLabNamespaces, runIds } from "../support/machine.ts";

/**
 * The real Incus's processes, mounts and files across a run's life: a one-member cluster with an
 * Incus-managed bridge network (Incus's own dnsmasq) and a running LXC instance from the lab's
 * `images:` remote. Nothing of it may survive a SIGKILL of labwright followed by `gc`, and an incusd
 * that cannot start fails the start with its own log and leaves nothing.
 */
const TINY = `name: tiny-incus
lans:
  net: { cidr: 10.98.0.0/24 }
nodes:
  inet:
    interfaces: { eth0: { lan: net, address: 10.98.0.1 } }
    services: [ { type: images, port: 443, host: images.linuxcontainers.org } ]
    dns: { records: { images.linuxcontainers.org: 10.98.0.1 } }
  p1:
    interfaces: { eth0: { lan: net, address: 10.98.0.2 } }
    resolver: 10.98.0.1
    software: [ovn-central, ovn-host, incus]
scenarios:
  - name: instance
    steps:
      - { on: p1, incus: network create lwbr --type=bridge ipv4.address=10.99.0.1/24 ipv4.nat=false ipv6.address=none }
      - { on: p1, incus: launch images:debian/12 c1 --network lwbr }
      - { name: hold the lab here, on: p1, run: sleep 600, timeout: 700 }
    expect:
      - reach: { from: p1, to: c1 }
`;

/** Every process below `pid` on this machine (children of children...). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    for (const t of readdirSync(`/proc/${p}/task`)) {
      let kids: string[] = [];
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      } catch {
        /* gone */
      }
      for (const k of kids.map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

/** The same member, with its own firewall dropping DHCP requests to Incus's dnsmasq before the launch. */
const NO_LEASE = TINY.replace(
  /scenarios:[\s\S]*$/,
  `scenarios:
  - name: no-lease
    steps:
      - { on: p1, incus: network create lwbr --type=bridge ipv4.address=10.99.0.1/24 ipv4.nat=false ipv6.address=none }
      - { on: p1, run: "nft add table inet lwtest && nft add chain inet lwtest in '{ type filter hook input priority -10; }' && nft add rule inet lwtest in udp dport 67 drop" }
      - { on: p1, incus: launch images:debian/12 c1 --network lwbr }
      - { on: p1, run: "true" }
    expect:
      - reach: { from: p1, to: 10.99.0.1 }
`,
);

/** Commands typed as Incus's docs print them: a continuation line, and YAML fed on standard input (`< file`). */
const DOCS_FORMS = TINY.replace(
  /scenarios:[\s\S]*$/,
  `scenarios:
  - name: docs-forms
    steps:
      - { on: p1, incus: "network acl create web < acl.yaml" }
      - on: p1
        incus: |
          network acl rule add web ingress action=allow \\
            protocol=tcp destination_port=80
      - { on: p1, incus: network create lwbr --type=bridge ipv4.address=10.99.0.1/24 ipv4.nat=false ipv6.address=none }
      - { on: p1, incus: launch images:ubuntu/24.04 u1 --network lwbr }
      - { on: p1, incus: network create other --type=bridge --target=nosuch, should: fail }
    expect:
      - reach: { from: p1, to: u1 }
      - command: { on: p1, run: "incus network acl get web description --property", equals: "written in acl.yaml" }
      - command: { on: p1, run: "incus network acl show web", output: 'destination_port: "80"' }
      - command: { on: p1, run: "incus network acl show web", output: "action: drop" }
`,
);

describe("Incus commands typed as the docs print them", () => {
  it(
    "`incus network acl create web < acl.yaml` gives the real client the file on stdin; a continued line is one command; images:ubuntu/24.04 launches (the lab's small image, and the step says so)",
    { timeout: 180_000 },
    async () => {
      const file = writeLab("docs-forms.yaml", DOCS_FORMS);
      writeFileSync(
        join(dirname(file), "acl.yaml"),
        [
          "description: written in acl.yaml",
          "egress:",
          "  - action: drop",
          "    protocol: udp",
          '    destination_port: "53"',
          "    state: enabled",
          "",
        ].join("\n"),
      );
      const lab = loadLab(file);
      const step = lab.scenarios[0]!.steps[0]!;
      expect(step.kind === "incus" && step.stdin).toContain("written in acl.yaml");
      const r = await runScenario(lab, lab.scenarios[0]!, { backend: BACKEND });
      expect(
        r.steps.map((x) => (x.kind === "run" ? `${x.ok} ${x.run} ${x.reason ?? ""}` : x.kind)),
        JSON.stringify(r.checks.map((c) => c.measured)),
      ).toEqual([
        "true incus network acl create web < acl.yaml ",
        expect.stringMatching(/^true incus network acl rule add web ingress action=allow \\\n/),
        expect.stringMatching(/^true incus network create lwbr/),
        "true incus launch images:ubuntu/24.04 u1 --network lwbr ",
        "true incus network create other --type=bridge --target=nosuch ",
      ]);
      // A member that does not exist reaches the real Incus when the step should fail: its own answer.
      const other = r.steps[4]!;
      expect(other.kind === "run" && other.output).toMatch(/^Error: /);
      const launch = r.steps[3]!;
      expect(launch.kind === "run" && launch.notes).toEqual(
        expect.arrayContaining([expect.stringContaining("images:ubuntu/24.04 is labwright's small lab image")]),
      );
      expect(r.checks.map((c) => `${c.ok} ${c.measured}`)).toEqual([
        expect.stringMatching(/^true /),
        expect.stringMatching(/^true /),
        expect.stringMatching(/^true /),
        expect.stringMatching(/^true /),
      ]);
      expect(r.ok).toBe(true);
    },
  );
});

describe("a step's effect is judged", () => {
  it(
    "an instance that never gets its lease (the member drops DHCP) fails its launch step, naming the instance and how long it was waited for; later steps are skipped",
    { timeout: 180_000 },
    async () => {
      const lab = loadLab(writeLab("no-lease.yaml", NO_LEASE));
      const r = await runScenario(lab, lab.scenarios[0]!, { backend: BACKEND });
      const steps = r.steps.filter((x) => x.kind !== "check");
      const launch = steps[2]!;
      expect(launch.kind).toBe("run");
      if (launch.kind !== "run") return;
      expect(launch.exitCode).toBe(0); // incus launch itself succeeded
      expect(launch.ok).toBe(false);
      expect(launch.reason).toMatch(/^did not converge after 1[5-9] s: instance c1 \(on p1, network lwbr\): no IPv4 address$/);
      expect(launch.unconverged).toEqual(["instance c1 (on p1, network lwbr): no IPv4 address"]);
      expect(steps[3]!.kind).toBe("skipped");
      expect(r.ok).toBe(false);
    },
  );
});

describe("the real Incus leaves nothing behind", () => {
  it(
    "SIGKILL of labwright with incusd, its dnsmasq and a running instance up: `labwright gc` removes every process, namespace, mount and file",
    { timeout: 240_000 },
    async () => {
      const file = writeLab("tiny-incus.yaml", TINY);
      const before = new Set(runIds());
      const child = execa(process.execPath, [CLI, "run", file, "--quiet"], { reject: false });
      let id: string | undefined;
      let state: ReturnType<typeof readState> = null;
      let tree: number[] = [];
      const deadline = Date.now() + 180_000;
      try {
        // Wait until the instance is attached as a guest: incusd, dnsmasq and the instance all run.
        for (;;) {
          id = runIds().find((r) => !before.has(r));
          if (id && listLabNamespaces().includes(`lw-${id}-c1`)) break;
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the instance never came up: ${(await child).stdout}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        state = readState(id)!;
        const incusd = state.processes.filter((p) => p.name === "incusd");
        expect(incusd.length).toBe(1);
        tree = descendants(incusd[0]!.pid);
        const names = tree.map((p) => {
          try {
            return readFileSync(`/proc/${p}/comm`, "utf8").trim();
          } catch {
            return "";
          }
        });
        expect(names).toEqual(expect.arrayContaining(["incusd", "dnsmasq", "init"])); // the daemon, Incus's dnsmasq, the instance's busybox init
      } finally {
        // Whatever happened above, the run is killed here (a failed assertion must not leave it running).
        child.kill("SIGKILL");
        await child;
      }

      await expectGcRemoves(id!, [...state!.processes.map((x) => x.pid), ...tree]);
      expect(existsSync("/var/lib/incus/containers/c1")).toBe(false); // the machine's own Incus directory was never used
    },
  );

  it("an incusd that cannot start fails the start with its log tail, and the start unwinds completely", { timeout: 120_000 }, async () => {
    const file = writeLab("tiny-incus.yaml", TINY);
    const fake = join(file, "..", "incusd");
    // A build of incusd that reports a version and then fails as a broken one would.
    await execa("sh", [
      "-c",
      `printf '#!/bin/sh\\n[ "$1" = --version ] && { echo 6.0.4; exit 0; }\\necho "Error: Failed to initialize global database: broken on purpose" >&2\\nexit 1\\n' > ${fake}`,
    ]);
    chmodSync(fake, 0o755);
    const before = new Set(runIds());
    const nsBefore = new Set(listLabNamespaces());
    const r = await labwright(["up", file], { env: { LABWRIGHT_INCUSD: fake } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("incusd on p1 exited during start");
    expect(r.stderr).toContain("broken on purpose");
    expect(runIds().filter((x) => !before.has(x))).toEqual([]);
    expect(listLabNamespaces().filter((n) => !nsBefore.has(n))).toEqual([]);
  });

  it("another build of incusd too old for the lab stops at preflight (exit 3) saying what to do, before anything is created", async () => {
    const file = writeLab("tiny-incus.yaml", TINY);
    const fake = join(file, "..", "incusd");
    await execa("sh", ["-c", `printf '#!/bin/sh\\necho 5.21.2\\n' > ${fake}`]);
    chmodSync(fake, 0o755);
    const before = new Set(runIds());
    const r = await labwright(["run", file], { env: { LABWRIGHT_INCUSD: fake } });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("Incus 5.21.2 is too old for this lab (needs 6.0 or newer)");
    expect(r.stderr).toContain(
      `LABWRIGHT_INCUSD=${fake} is another build than the lab's toolchain's: unset it, or point it at Incus 6.0 or newer`,
    );
    expect(runIds().filter((x) => !before.has(x))).toEqual([]);
  });
});
