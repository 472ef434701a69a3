import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.ts";
import { listLabNamespaces } from "../support/machine.ts";
import { scratchDir } from "../support/scratch.ts";

/**
 * labwright as a user's dependency: the packed tarball installed into a scratch project (no tsx, no
 * sources of ours on its path), a vitest file of the user's own importing `labwright` and
 * `labwright/vitest`, against a lab of the user's own.
 */
const dir = scratchDir("lw-consumer-");

const LAB = `name: mine
lans: { office: { cidr: 10.84.0.0/24 } }
nodes:
  gw:
    interfaces: { eth0: { lan: office, address: 10.84.0.1 } }
    services: [ { type: http, port: 80, body: "hello from gw" } ]
    dns: { records: { gw.office: 10.84.0.1 } }
  pc:
    interfaces: { eth0: { lan: office, address: 10.84.0.2 } }
    resolver: 10.84.0.1
`;

const TEST = `import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { loadLab, junitXml } from "labwright";
import { useLab } from "labwright/vitest";

const lab = loadLab(fileURLToPath(new URL("./lab.yaml", import.meta.url)));

describe("my office lab", () => {
  const s = useLab(lab);
  it("reaches, serves, resolves", async () => {
    expect(await s().ping("pc", "gw")).toReach({ ttl: 64, loss: 0 });
    expect(await s().ping("pc", "10.84.0.99")).toBeUnreachable();
    expect(await s().tcp("pc", "gw", 80)).toConnect();
    expect(await s().tcp("pc", "gw", 81)).toConnect({ open: false });
    expect(await s().http("pc", "http://10.84.0.1/")).toServe({ contains: "hello from gw" });
    expect(await s().resolve("pc", "gw.office")).toResolveTo(["10.84.0.1"]);
    expect(await s().sh("pc", "ip -br link show eth0")).toExitWith(0, { output: "eth0" });
    expect(await s().link("pc", "eth0")).toHaveLinkState({ oper: "up" });
    expect(typeof junitXml).toBe("function");
  });
});
`;

// A test of the user's that fails: the fixture leaves the lab's forensics where it says, taken when it failed.
const BROKEN = `import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { loadLab } from "labwright";
import { useLab } from "labwright/vitest";

const lab = loadLab(fileURLToPath(new URL("./lab.yaml", import.meta.url)));

describe("a wrong belief", () => {
  const s = useLab(lab, { forensicsDir: "evidence" });
  it("pc reaches 10.84.0.99", async () => {
    expect(await s().ping("pc", "10.84.0.99", { count: 1 })).toReach();
  });
});
`;

describe("the package, as a user installs it", () => {
  it(
    "the packed tarball installs into a scratch project and its vitest file runs against a lab of its own; a failing test of its leaves a forensics bundle",
    { timeout: 300_000 },
    async () => {
      const nsBefore = listLabNamespaces();
      await execa("npm", ["pack", "--pack-destination", dir], { cwd: ROOT });
      const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
      const app = join(dir, "app");
      await execa("mkdir", ["-p", app]);
      const vitest = (await execa(process.execPath, ["-p", "require('vitest/package.json').version"], { cwd: ROOT })).stdout.trim();
      writeFileSync(
        join(app, "package.json"),
        JSON.stringify(
          {
            name: "consumer",
            private: true,
            type: "module",
            dependencies: { labwright: `file:${join(dir, tgz)}` },
            devDependencies: { vitest },
          },
          null,
          2,
        ),
      );
      writeFileSync(join(app, "lab.yaml"), LAB);
      writeFileSync(join(app, "office.test.js"), TEST);
      // --prefer-offline: the packages the checkout installed are in npm's cache (38 -> 32 s measured; the rest is unpacking).
      const install = await execa("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: app,
        reject: false,
        all: true,
      });
      expect(install.exitCode, install.all).toBe(0);
      // What the user got is compiled JavaScript with declarations: no TypeScript sources are loaded.
      const pkg = join(app, "node_modules", "labwright");
      expect(readdirSync(join(pkg, "dist", "topology"))).toEqual(
        expect.arrayContaining(["index.js", "index.d.ts", "vitest.js", "vitest.d.ts"]),
      );
      const r = await execa("npx", ["vitest", "run", "--reporter=verbose"], {
        cwd: app,
        reject: false,
        all: true,
        env: { NO_COLOR: "1", CI: "true" },
      });
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toContain("✓ office.test.js > my office lab > reaches, serves, resolves");
      expect(r.all).toMatch(/Tests\s+1 passed/);
      expect(listLabNamespaces()).toEqual(nsBefore);

      // The user's failing test: exit 1, and the bundle of the lab as it was when the test failed.
      writeFileSync(join(app, "broken.test.js"), BROKEN);
      const b = await execa("npx", ["vitest", "run", "broken.test.js"], {
        cwd: app,
        reject: false,
        all: true,
        env: { NO_COLOR: "1", CI: "true" },
      });
      expect(b.exitCode, b.all).toBe(1);
      const said = /forensics bundle of the first failing test: (\S+)/.exec(b.all);
      const bundle = said?.[1] ?? "";
      expect(bundle, b.all).toMatch(new RegExp(`^${join(app, "evidence", "mine-pc-reaches-10-84-0-99-")}`));
      expect(readdirSync(bundle).sort()).toEqual(["gw.txt", "pc.txt"]);
      expect(readFileSync(join(bundle, "pc.txt"), "utf8")).toMatch(/### ip route {2}\(exit 0\)\n10\.84\.0\.0\/24 dev eth0/);
      expect(listLabNamespaces()).toEqual(nsBefore);
    },
  );
});
