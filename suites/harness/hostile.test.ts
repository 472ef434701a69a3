import { existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start } from "../../topology/lab.ts";
import { LIMITS } from "../../topology/model/limits.ts";
import { loadLab, parseLab } from "../../topology/model/load.ts";
import { LabFileError } from "../../topology/model/problems.ts";
import { labwright } from "../support/cli.ts";
import { writeLab } from "../support/labs.ts";
import { listLabNamespaces, rootSnapshot, runIds } from "../support/machine.ts";
import { scratchDir } from "../support/scratch.ts";

const DIR = fileURLToPath(new URL("./hostile/", import.meta.url));
const corpus = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();
/** Files the corpus's injections would create if any reached a shell. */
const MARKERS = ["/tmp/lw-pwned"];
const ESC = /[\u001b\u0007]/;

function expected(file: string): string {
  const m = /^# expect: (.+)$/m.exec(readFileSync(join(DIR, file), "utf8"));
  if (!m) throw new Error(`${file} has no '# expect:' header`);
  return m[1]!;
}

/** Links and namespaces named by the corpus's injected commands (they must never exist). */
async function injectedLinks(): Promise<string[]> {
  const root = (await rootSnapshot()).links as { ifname: string }[];
  return root.map((l) => l.ifname).filter((n) => n.startsWith("lwpwn"));
}

let rootBefore: Record<string, unknown>;
const nsBefore = listLabNamespaces();
const runsBefore = runIds();
beforeAll(async () => {
  rootBefore = await rootSnapshot();
  for (const m of MARKERS) rmSync(m, { force: true });
});

describe("hostile lab files are refused before anything is created", () => {
  it("the corpus covers names, globals, sysctls, paths, bombs, options and types", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
  });

  it.each(corpus)("%s: exit 2, a clear message, nothing created", async (file) => {
    const r = await labwright(["run", join(DIR, file), "--quiet"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(expected(file));
    expect(r.stderr).toContain("nothing was created");
    expect(r.stderr + r.stdout, "terminal control sequences are printed escaped").not.toMatch(ESC);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.ts:\d+/); // no stack trace
    expect(listLabNamespaces()).toEqual(nsBefore);
    expect(runIds()).toEqual(runsBefore);
    for (const m of MARKERS) expect(existsSync(m), m).toBe(false);
  });

  it("a globals file reached through a symbolic link out of the lab's directory is refused, and its contents never printed", async () => {
    const file = writeLab(
      "lab.yaml",
      "name: link\nlans: { m: { cidr: 10.77.0.0/24 } }\nnodes:\n  a:\n    software: [kolla]\n    interfaces: { eth0: { lan: m, address: 10.77.0.1 } }\nsteps:\n  - { on: a, kolla: precheck, globals: g.yml }\n",
    );
    const secret = join(scratchDir("lw-secret-"), "secret.yml");
    writeFileSync(secret, "network_interface: TOPSECRET-VALUE\n");
    symlinkSync(secret, join(file, "..", "g.yml"));
    const r = await labwright(["run", file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("leads outside the lab file's directory");
    expect(r.stderr + r.stdout).not.toContain("TOPSECRET");
  });

  it("a globals file's values are never quoted in messages", () => {
    const file = writeLab(
      "lab.yaml",
      "name: q\nlans: { m: { cidr: 10.77.0.0/24 } }\nnodes:\n  a:\n    software: [kolla]\n    interfaces: { eth0: { lan: m, address: 10.77.0.1 } }\nsteps:\n  - { on: a, kolla: precheck, globals: g.yml }\n",
    );
    writeFileSync(join(file, "..", "g.yml"), "network_interface: { SECRET-IN-A-MAP: 1 }\ndocker_registry: 'SECRET:host'\n");
    let err: unknown;
    try {
      loadLab(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabFileError);
    expect((err as Error).message).toContain("network_interface must be a string, not a map");
    expect((err as Error).message).not.toContain("SECRET");
  });
});

describe("bounded work on hostile input", () => {
  it("a file over the size limit is refused at once, without reading it", async () => {
    const file = writeLab("huge.yaml", `name: huge\n# ${"x".repeat(LIMITS.labBytes)}\n`);
    const r = await labwright(["validate", file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`more than the ${LIMITS.labBytes} bytes labwright reads`);
  });

  it("/dev/zero as the lab file is refused as not a regular file", async () => {
    const r = await labwright(["validate", "/dev/zero"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("not a regular file");
  });

  it.each([
    ["32k unknown keys", (k: number) => `junk${k}: 1`],
    ["32k YAML syntax errors", (k: number) => `  junk${k}: 1`],
    ["32k duplicate keys", () => "name: again"],
  ])("%s: linear-time validation, problems capped with a count", (_, line) => {
    const n = 32_000;
    const text = `name: t\nlans: { a: { cidr: 10.0.0.0/24 } }\nnodes: {}\n${Array.from({ length: n }, (_, k) => line(k)).join("\n")}\n`;
    const t0 = performance.now();
    let err: LabFileError | undefined;
    try {
      parseLab(text, "keys.yaml");
    } catch (e) {
      err = e as LabFileError;
    }
    const ms = performance.now() - t0;
    expect(err?.problems.length).toBe(LIMITS.problems);
    expect(err!.problems.length + err!.more).toBeGreaterThanOrEqual(n - 1);
    expect(err?.message).toMatch(/\.\.\. and \d+ more problems/);
    // Not a speed benchmark: the quadratic versions took 7-31 s here; linear work stays far below this bound.
    expect(ms).toBeLessThan(10_000);
  });
});

describe("values that are allowed stay data at run time", () => {
  it("an HTTP body and a DNS answer full of shell syntax are served verbatim and never run", async () => {
    const body = "$(touch /tmp/lw-pwned) `touch /tmp/lw-pwned`; touch /tmp/lw-pwned\n";
    const file = writeLab(
      "data.yaml",
      [
        "name: data",
        "lans: { m: { cidr: 10.77.0.0/24 } }",
        "nodes:",
        "  srv:",
        "    interfaces: { eth0: { lan: m, address: 10.77.0.1 } }",
        `    services: [ { type: http, port: 80, body: ${JSON.stringify(body)} } ]`,
        "    dns: { records: { evil.example: 10.77.0.1 } }",
        "  cli:",
        "    interfaces: { eth0: { lan: m, address: 10.77.0.2 } }",
        "    resolver: 10.77.0.1",
        "",
      ].join("\n"),
    );
    await using lab = await start(loadLab(file));
    const r = await lab.http("cli", "http://10.77.0.1/");
    expect(r.status).toBe(200);
    expect(r.body).toBe(body);
    expect((await lab.resolve("cli", "evil.example")).addresses).toEqual(["10.77.0.1"]);
    for (const m of MARKERS) expect(existsSync(m)).toBe(false);
  });

  it("a sysctl that passes the grammar but is not per-namespace on this kernel is refused before it is written", async () => {
    const file = writeLab(
      "tcpmem.yaml",
      "name: tcpmem\nlans: { m: { cidr: 10.77.0.0/24 } }\nnodes:\n  a:\n    interfaces: { eth0: { lan: m, address: 10.77.0.1 } }\n    sysctls: { net.ipv4.tcp_mem: 1 2 3 }\n",
    );
    const host = readFileSync("/proc/sys/net/ipv4/tcp_mem", "utf8");
    await expect(start(loadLab(file))).rejects.toThrow(/net\.ipv4\.tcp_mem does not exist inside the node's network namespace/);
    expect(readFileSync("/proc/sys/net/ipv4/tcp_mem", "utf8")).toBe(host);
    expect(listLabNamespaces()).toEqual(nsBefore);
  });
});

describe("files labwright writes are private", () => {
  it("run state and results are readable by root only", async () => {
    const file = writeLab(
      "p.yaml",
      "name: p\nlans: { m: { cidr: 10.77.0.0/24 } }\nnodes:\n  a:\n    interfaces: { eth0: { lan: m, address: 10.77.0.1 } }\nexpect:\n  - reach: { from: a, to: 10.77.0.1, count: 1 }\n",
    );
    await using lab = await start(loadLab(file));
    expect(statSync(lab.record.dir).mode & 0o077).toBe(0);
    expect(statSync(join(lab.record.dir, "state.json")).mode & 0o077).toBe(0);
    expect(statSync(join(lab.record.dir, "..")).mode & 0o077).toBe(0);
    const json = join(scratchDir("lw-res-"), "r.json");
    const r = await labwright(["run", file, "--quiet", "--json", json]);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(statSync(json).mode & 0o077).toBe(0);
  });
});

afterAll(async () => {
  expect(await injectedLinks()).toEqual([]);
  expect(await rootSnapshot()).toEqual(rootBefore);
});
