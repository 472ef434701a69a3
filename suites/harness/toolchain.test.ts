import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { start } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { readState, runDir } from "../../topology/run/state.ts";
import {
  builtToolchain,
  lockDifferences,
  loadToolchain,
  rootPackages,
  TOOLCHAIN_CACHE,
  toolchainNames,
  upstreamOf,
} from "../../topology/toolchain/index.ts";
import { labwright } from "../support/cli.ts";
import { writeLab } from "../support/labs.ts";
import { scratchDir } from "../support/scratch.ts";

/** Debian versions as the archive gives them → the upstream version the lock pins. */
describe("a toolchain's lock pins upstream versions", () => {
  it("drops the Debian revision and a stable update's +debNuM/~debNuM, keeps the epoch", () => {
    expect(upstreamOf("2:21.0.0-7+deb12u1")).toBe("2:21.0.0");
    expect(upstreamOf("6.0.4-2+deb13u7~bpo12+1")).toBe("6.0.4");
    expect(upstreamOf("1:10.11.19-0+deb12u1")).toBe("1:10.11.19");
    expect(upstreamOf("12.4+deb12u13")).toBe("12.4"); // a native package's stable update
    expect(upstreamOf("5.7-0.5~deb12u1")).toBe("5.7");
    expect(upstreamOf("2026b-0+deb12u1")).toBe("2026b");
    expect(upstreamOf("3.1.0-2")).toBe("3.1.0");
  });

  it("takes a newer Debian revision of a locked upstream version; names another upstream version, a missing and an extra package", () => {
    const t = { ...loadToolchain("debian-12"), locked: { "neutron-common": "2:21.0.0", "incus-base": "6.0.4", nftables: "1.0.6" } };
    expect(
      lockDifferences(t, { "neutron-common": "2:21.0.0-7+deb12u9", "incus-base": "6.0.4-2+deb13u7~bpo12+1", nftables: "1.0.6-2+deb12u2" }),
    ).toEqual([]);
    expect(lockDifferences(t, { "neutron-common": "2:21.0.1-1", "incus-base": "6.0.4-2", extra: "1.0-1" })).toEqual([
      "extra: 1.0-1 is in the built root but not in the lock",
      "neutron-common: locked at 2:21.0.0, the archive gave 2:21.0.1-1 (upstream 2:21.0.1)",
      "nftables: locked at 1.0.6, not in the built root",
    ]);
  });

  it("an import of a tarball that is not this toolchain at this lock's hash is refused, naming what it holds, and installs nothing", async () => {
    const t = loadToolchain("debian-12");
    const dir = scratchDir("lw-tc-");
    mkdirSync(join(dir, "debian-12-000000000000", "root"), { recursive: true });
    writeFileSync(join(dir, "debian-12-000000000000", "manifest.json"), "{}");
    await execa("tar", ["-C", dir, "-czf", join(dir, "old.tar.gz"), "debian-12-000000000000"]);
    const before = readdirSync(TOOLCHAIN_CACHE).sort();
    const r = await labwright(["toolchain", "import", join(dir, "old.tar.gz")]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(
      `does not hold toolchain debian-12 at this lock's hash (debian-12-${t.hash}): it holds debian-12-000000000000`,
    );
    expect(readdirSync(TOOLCHAIN_CACHE).sort()).toEqual(before);
  });

  it("the shipped toolchain locks every package it asks for, and an unknown toolchain names the ones there are", () => {
    expect(toolchainNames()).toContain("debian-12");
    const t = loadToolchain("debian-12");
    expect(t.hash).toMatch(/^[0-9a-f]{12}$/);
    for (const p of [...t.packages, ...Object.values(t.from).flat(), ...t.downloads]) expect(t.locked, p).toHaveProperty([p]);
    expect(() => loadToolchain("debian-99")).toThrow(/no toolchain "debian-99" .*the toolchains are: .*debian-12/);
    expect(() => loadToolchain("../etc")).toThrow(/not a toolchain name/);
  });
});

describe("the toolchain every lab runs in", () => {
  it("is built on this machine (the suites' global setup) and its root's packages match the lock", async () => {
    const t = loadToolchain("debian-12");
    const b = builtToolchain(t);
    expect(b, "global setup builds it").not.toBeNull();
    // The root's own dpkg database, read now, not the manifest written at build time.
    expect(lockDifferences(t, await rootPackages(b!.root))).toEqual([]);
    expect(readFileSync(`${b!.root}/etc/labwright-toolchain`, "utf8").trim()).toBe("debian-12");
    // Downloaded, unpacked, not installed: the Incus lab image's files.
    expect(existsSync(`${b!.root}/var/lib/labwright/unpacked/busybox-static/bin/busybox`)).toBe(true);
    expect((await rootPackages(b!.root))["busybox-static"]).toMatch(/^1:1\.35\.0-/);
  });

  const LAB = (toolchain?: string) =>
    [
      "name: rooted",
      ...(toolchain ? [`toolchain: ${toolchain}`] : []),
      "lans:",
      "  a: { cidr: 10.30.0.0/24 }",
      "nodes:",
      "  n1: { interfaces: { eth0: { lan: a, address: 10.30.0.1 } } }",
      "  n2: { interfaces: { eth0: { lan: a, address: 10.30.0.2 } } }",
      "",
    ].join("\n");

  it("a node's commands see the toolchain as /, and its writes to /etc land in the run, not in this machine's /etc, and go with it", async () => {
    const marker = `/etc/labwright-test-${process.pid}`;
    const lab = await start(loadLab(writeLab("rooted.yaml", LAB())));
    let id = "";
    try {
      id = lab.runId;
      const n1 = lab.host("n1");
      expect((await n1.exec(["cat", "/etc/labwright-toolchain"])).stdout.trim()).toBe("debian-12");
      const w = await n1.exec(["sh", "-c", `echo written-in-n1 > ${marker} && cat ${marker}`]);
      expect(w.exitCode, w.stderr).toBe(0);
      expect(existsSync(marker)).toBe(false); // not this machine's /etc
      expect(readFileSync(`${runDir(id)}/root/upper${marker}`, "utf8")).toBe("written-in-n1\n"); // the run's
      // The nodes of a run share its root (one overlay per run), as they share this machine's files without one.
      expect((await lab.host("n2").exec(["cat", marker])).stdout).toBe("written-in-n1\n");
      // The lab still works as a network: the probes run from the toolchain too.
      expect((await n1.exec(["ping", "-c1", "-W2", "10.30.0.2"])).exitCode).toBe(0);
      expect(readState(id)?.root?.pid).toBeGreaterThan(0);
    } finally {
      await lab.stop();
    }
    expect(existsSync(runDir(id))).toBe(false);
    const again = await start(loadLab(writeLab("rooted.yaml", LAB())));
    try {
      expect((await again.host("n1").exec(["test", "-e", marker])).exitCode).toBe(1); // a fresh run, a fresh root
    } finally {
      await again.stop();
    }
  });

  it("toolchain: host runs on this machine's own files (no toolchain marker there)", async () => {
    expect(existsSync("/etc/labwright-toolchain")).toBe(false);
    const lab = await start(loadLab(writeLab("host.yaml", LAB("host"))));
    try {
      expect((await lab.host("n1").exec(["test", "-e", "/etc/labwright-toolchain"])).exitCode).toBe(1);
      expect(readState(lab.runId)?.root).toBeUndefined();
    } finally {
      await lab.stop();
    }
  });

  it("the report names the toolchain and its lock's hash; an unknown toolchain is refused before anything is made, naming the field", async () => {
    const t = loadToolchain("debian-12");
    const r = await labwright(["run", writeLab("rooted.yaml", LAB())]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^toolchain debian-12 \\(lock ${t.hash}\\): .*iproute2 6\\.1\\.0-3`, "m"));
    const bad = await labwright(["run", writeLab("bad.yaml", LAB("debian-99"))]);
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toMatch(/bad\.yaml: toolchain: no toolchain "debian-99".*the toolchains are: .*debian-12/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
