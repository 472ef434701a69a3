import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshBackend } from "../../topology/backends/ssh/backend.ts";
import { start, type StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { runLab } from "../../topology/scenario.ts";
import { labwright } from "../support/cli.ts";
import { writeLab } from "../support/labs.ts";
import { clientKey, killTree, startSshd, writeInventory } from "../support/sshd.ts";
import type { Daemon } from "../../topology/backends/host.ts";
import { execa } from "execa";

/**
 * The SSH backend against sshd in lab nodes (containers: each has its own filesystem, like a real
 * host). The suite reaches each sshd from inside the lab (a ProxyCommand entering the node's
 * namespace): the root namespace gets no lab address or route.
 */
const LAB = writeLab(
  "sshlab.yaml",
  `name: sshlab
lans: { l1: { cidr: 10.81.1.0/24 }, l2: { cidr: 10.81.2.0/24 } }
nodes:
  gw:
    interfaces: { eth0: { lan: l1, address: 10.81.1.1 }, eth1: { lan: l2, address: 10.81.2.1 } }
    sysctls: { net.ipv4.ip_forward: 1 }
    dns: { records: { web.lab: 10.81.2.2 } }
  a:
    interfaces: { eth0: { lan: l1, address: 10.81.1.2 } }
    routes: [ { to: default, via: 10.81.1.1 } ]
    resolver: 10.81.1.1
  b:
    interfaces: { eth0: { lan: l2, address: 10.81.2.2 } }
    routes: [ { to: default, via: 10.81.2.1 } ]
    services: [ { type: http, port: 80, body: "hello from b" } ]
expect:
  - reach: { from: a, to: b, ttl: 63 }
  - reach: { from: b, to: a, ttl: 63 }
  - trace: { from: a, to: b, hops: [10.81.1.1, 10.81.2.2] }
  - resolve: { on: a, name: web.lab, addresses: [10.81.2.2] }
  - http: { from: a, url: "http://10.81.2.2/", contains: hello from b }
  - tcp: { from: a, to: b, port: 80 }
  - tcp: { from: a, to: b, port: 81, open: false }
  - no_reach: { from: a, to: 10.81.3.1 }
  - link: { node: a, dev: eth0, oper: up, address: 10.81.1.2/24 }
  - sysctl: { on: gw, key: net.ipv4.ip_forward, value: "1" }
  - package: { on: a, name: iproute2 }
  - file: { on: a, path: /etc/hostname, contains: a }
`,
);
const ADDR: Record<string, string> = { gw: "10.81.1.1", a: "10.81.1.2", b: "10.81.2.2" };

let lab: StartedLab;
let key: Awaited<ReturnType<typeof clientKey>>;
let hostKeys: Record<string, string>;
let inventory: string;
const sshd: Record<string, Daemon> = {};

beforeAll(async () => {
  lab = await start(loadLab(LAB), { backend: "containers" });
  key = await clientKey();
  hostKeys = {};
  for (const n of ["gw", "a", "b"]) {
    const s = await startSshd(lab, n, key.pub);
    hostKeys[n] = s.hostKey;
    sshd[n] = s.daemon;
  }
  inventory = writeInventory(
    key.dir,
    lab,
    Object.fromEntries(Object.keys(ADDR).map((n) => [n, { address: ADDR[n]!, hostKey: hostKeys[n]! }])),
    key.key,
  );
}, 300_000);

afterAll(async () => {
  await lab?.stop();
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

describe("[ssh] the same expectations against real hosts as in the emulated run", () => {
  it("[ssh] every expectation gives the same verdict and the same TTLs and hops over SSH as on the containers themselves", async () => {
    const file = loadLab(LAB);
    const emulated = await runLab(file, { backend: "containers" });
    const real = await runLab(file, { backend: new SshBackend(inventory) });
    expect(real.backend).toBe("ssh");
    const verdicts = (r: typeof real) => r.scenarios[0]!.checks.map((c) => [c.description, c.ok] as const);
    expect(verdicts(real)).toEqual(verdicts(emulated));
    expect(real.ok, JSON.stringify(real.scenarios[0]!.checks.filter((c) => !c.ok).map((c) => [c.description, c.measured, c.reasons]))).toBe(
      true,
    );
    const ttl = (r: typeof real) =>
      r.scenarios[0]!.checks.filter((c) => c.measurement.kind === "ping" && c.ok).map((c) => c.measured.match(/TTL (\d+)/)?.[1]);
    expect(ttl(real)).toEqual(ttl(emulated));
  });
});

describe("[ssh] host keys, timeouts, read-only", () => {
  it("[ssh] a changed host key is refused with its fingerprint and how to accept it; nothing runs", async () => {
    const known = join(key.dir, "known_hosts");
    const good = readFileSync(known, "utf8");
    writeFileSync(known, good.replace(hostKeys.a!, hostKeys.b!));
    try {
      const r = await labwright(["run", LAB, "--backend", "ssh", "--inventory", inventory]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(3);
      expect(r.stderr).toMatch(/a: .*host key of a \(10\.81\.1\.2\) has CHANGED: it now offers ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/);
      expect(r.stderr).toContain("ssh-keygen -f");
      expect(r.stderr).not.toContain("BEGIN OPENSSH PRIVATE KEY");
    } finally {
      writeFileSync(known, good);
    }
  });

  it("[ssh] an unknown host key is refused: labwright never accepts one by itself", async () => {
    const known = join(key.dir, "known_hosts");
    const good = readFileSync(known, "utf8");
    writeFileSync(
      known,
      good
        .split("\n")
        .filter((l) => !l.startsWith(ADDR.b!))
        .join("\n"),
    );
    try {
      const r = await labwright(["run", LAB, "--backend", "ssh", "--inventory", inventory]);
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toMatch(/b: .*host key of b \(10\.81\.2\.2\) is unknown: it offers ssh-ed25519 SHA256:\S+/);
      expect(r.stderr).toContain("ssh-keyscan -p 22 -t ssh-ed25519 10.81.2.2");
    } finally {
      writeFileSync(known, good);
    }
  });

  it("[ssh] a command that outlives its timeout is killed and reported; the connection serves the next command", async () => {
    const b = new SshBackend(inventory);
    try {
      const h = b.hostOf("a");
      const t0 = performance.now();
      const r = await h.exec(["sleep", "31"], { timeoutS: 1 });
      expect(r.timedOut).toBe(true);
      expect(r.timeoutS).toBe(1);
      expect(performance.now() - t0).toBeLessThan(10_000);
      // Killed on the host, not only given up on here (this machine sees the container's processes).
      expect((await execa("pgrep", ["-f", "^sleep 31$"], { reject: false })).stdout.trim()).toBe("");
      expect((await h.exec(["hostname"])).stdout.trim()).toBe("a");
    } finally {
      await b.close();
    }
  });

  it("[ssh] steps do not run without --apply; with it, they are listed first and run", async () => {
    const file = writeLab(
      "apply.yaml",
      `name: apply\nlans: { l1: { cidr: 10.81.1.0/24 } }\nnodes:\n  a: { interfaces: { eth0: { lan: l1, address: 10.81.1.2 } } }\nsteps:\n  - { on: a, run: "echo applied > /tmp/lw-applied" }\nexpect:\n  - file: { on: a, path: /tmp/lw-applied, contains: applied }\n`,
    );
    const inv = parse(readFileSync(inventory, "utf8"));
    const onlyA = join(key.dir, "a-only.yaml");
    writeFileSync(onlyA, JSON.stringify({ known_hosts: inv.known_hosts, hosts: { a: inv.hosts.a } }));
    const ro = await labwright(["run", file, "--backend", "ssh", "--inventory", onlyA]);
    expect(ro.stdout).toContain("not run: real hosts are read-only; --apply runs steps");
    expect(ro.exitCode).toBe(1); // the file the step would write is not there
    expect(await lab.host("a").readFile("/tmp/lw-applied")).toBeNull();
    const rw = await labwright(["run", file, "--backend", "ssh", "--inventory", onlyA, "--apply"]);
    expect(rw.stdout).toContain("--apply: these steps will run on the real hosts, in order:");
    expect(rw.stdout).toContain("[default] a$ echo applied > /tmp/lw-applied");
    expect(rw.exitCode, rw.stdout).toBe(0);
    expect(await lab.host("a").readFile("/tmp/lw-applied")).toBe("applied\n");
  });

  it("[ssh] an unreachable host and a failed login each get one line; exit 3, nothing run", async () => {
    const inv = parse(readFileSync(inventory, "utf8"));
    inv.hosts.b.address = "10.81.2.99"; // no such host in the lab
    const other = await clientKey();
    inv.hosts.a.key = other.key; // a key sshd does not accept
    const bad = join(key.dir, "bad.yaml");
    writeFileSync(bad, JSON.stringify(inv));
    const r = await labwright(["run", LAB, "--backend", "ssh", "--inventory", bad]);
    rmSync(other.dir, { recursive: true, force: true });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/\n {2}a: .*(authentication|All configured authentication methods failed)/i);
    expect(r.stderr).toMatch(/\n {2}b: /);
    expect(r.stderr).not.toMatch(/\n {2}gw: /);
  });

  it("[ssh] a host that drops mid-run fails its remaining commands with the reason; the other hosts go on", async () => {
    const b = new SshBackend(inventory);
    try {
      const a = b.hostOf("a");
      const gw = b.hostOf("gw");
      expect((await gw.exec(["hostname"])).stdout.trim()).toBe("gw");
      // The host goes away under the connection: its sshd and every session end.
      killTree(sshd.gw!.ref.pid);
      await new Promise((r) => setTimeout(r, 500));
      const lost = await gw.exec(["hostname"]);
      expect(lost.exitCode).toBeNull();
      expect(lost.stderr).toContain("gw (10.81.1.1): the SSH connection dropped mid-run");
      expect((await gw.exec(["true"])).stderr).toContain("dropped mid-run"); // and stays so: no silent reconnect
      expect((await a.exec(["hostname"])).stdout.trim()).toBe("a");
    } finally {
      await b.close();
      sshd.gw = (await startSshd(lab, "gw", key.pub)).daemon; // same host key: the next tests reach gw again
    }
  });
});

describe("[ssh] import", () => {
  it("[ssh] `labwright import` writes a valid lab file: the same nodes, interfaces, addresses, LANs (by subnet), routes and forwarding", async () => {
    const out = join(key.dir, "imported.yaml");
    const r = await labwright(["import", "--inventory", inventory, "--name", "twin", "-o", out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const twin = loadLab(out);
    const original = loadLab(LAB);
    const shape = (l: typeof twin) =>
      l.nodes
        .map((n) => ({
          name: n.name,
          interfaces: n.interfaces.map((i) => ({ name: i.name, address: i.address, cidr: l.lans.find((x) => x.name === i.lan)!.cidr })),
          routes: n.routes,
          forwarding: n.sysctls["net.ipv4.ip_forward"] ?? "0",
        }))
        .sort((x, y) => x.name.localeCompare(y.name));
    expect(shape(twin)).toEqual(shape(original));
    expect(twin.lans.map((l) => l.cidr).sort()).toEqual(original.lans.map((l) => l.cidr).sort());
  });
});
