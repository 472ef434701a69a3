import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadLab, parseLab } from "../../topology/model/load.ts";
import { LabFileError } from "../../topology/model/problems.ts";
import { labwright, ROOT } from "../support/cli.ts";
import { Ajv2020 as Ajv } from "ajv/dist/2020.js";
import { parse as parseYaml } from "yaml";
import { execa } from "execa";
import { labJsonSchema } from "../../topology/model/json-schema.ts";
import { listLabNamespaces, runIds } from "../support/machine.ts";

const DIR = fileURLToPath(new URL("./malformed/", import.meta.url));
const LABS = fileURLToPath(new URL("../../topology/labs/", import.meta.url));
const corpus = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

/** Each corpus file says, in its header, the message (and line) it must produce: `# expect: ...`, `# line: N`. */
function header(file: string): { message: string; line?: number } {
  const text = readFileSync(join(DIR, file), "utf8");
  const message = /^# expect: (.+)$/m.exec(text)?.[1];
  if (!message) throw new Error(`${file} has no '# expect:' header`);
  const line = /^# line: (\d+)$/m.exec(text)?.[1];
  return { message, line: line ? Number(line) : undefined };
}

describe("malformed lab files are refused with a message that says where and what to do", () => {
  it("the corpus is large enough to mean something", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(15);
  });

  it.each(corpus)("%s", (file) => {
    const { message, line } = header(file);
    let err: unknown;
    try {
      loadLab(join(DIR, file));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabFileError);
    const text = (err as LabFileError).message;
    expect(text).toContain(message);
    expect(text).toContain(join(DIR, file)); // which file
    expect(text).toContain("nothing was created");
    const problem = (err as LabFileError).problems.find((p) => `${p.path}: ${p.message} fix: ${p.hint}`.includes(message))!;
    expect(problem, text).toBeDefined();
    if (!problem.message.startsWith("YAML syntax")) expect(problem.hint, `${file} gives no fix`).toBeTruthy();
    if (line !== undefined) expect(problem.line).toBe(line);
  });

  it("the CLI exits 2 on an invalid lab and creates nothing on the machine", async () => {
    const nsBefore = listLabNamespaces();
    const runsBefore = runIds();
    const r = await labwright(["run", join(DIR, "04-duplicate-address.yaml")]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("04-duplicate-address.yaml:9: nodes.b.interfaces.eth0.address: 192.168.35.1 is already used by a/eth0");
    expect(r.stderr).toContain("fix: give every interface its own address");
    expect(listLabNamespaces()).toEqual(nsBefore);
    expect(runIds()).toEqual(runsBefore);
  });

  it("every problem in a file is listed at once, not just the first", () => {
    const text = [
      "name: t",
      "lans:",
      "  a: { cidr: 10.0.0.1/24 }",
      "nodes:",
      "  x: { interfaces: { eth0: { lan: nowhere }, averyveryverylongname: { lan: a } } }",
      "expect:",
      "  - reach: { from: y, to: x }",
    ].join("\n");
    let err: LabFileError | undefined;
    try {
      parseLab(text, "inline.yaml");
    } catch (e) {
      err = e as LabFileError;
    }
    expect(err?.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        "lans.a.cidr",
        "nodes.x.interfaces.eth0.lan",
        "nodes.x.interfaces.averyveryverylongname",
        "expect[0].reach.from",
      ]),
    );
  });

  it("the seed lab files are valid", () => {
    for (const f of readdirSync(LABS).filter((x) => x.endsWith(".yaml"))) expect(() => loadLab(join(LABS, f)), f).not.toThrow();
  });
});

describe("validation that helps the author", () => {
  it("problems of every stage come in one report, without knock-on errors from the same cause", () => {
    const text = [
      "name: t",
      "lans:",
      "  a: { cidr: 10.0.0.0/24 }",
      "  bad: { cidr: 10.1.0.0/24, vlan: 7 }",
      "nodes:",
      "  x: { interfaces: { eth0: { lan: a, address: 10.0.0.1, mtu: 12 } } }",
      "  y: { interfaces: { eth0: { lan: a, address: 10.0.0.2 }, eth1: { lan: bad, address: 10.1.0.1 } } }",
      "  z: { interfaces: { eth0: { lan: a, address: 10.0.0.2 } } }",
      "expect:",
      "  - reach: { from: x, to: y }",
      "  - reach: { from: w, to: y }",
    ].join("\n");
    let err: LabFileError | undefined;
    try {
      parseLab(text, "stages.yaml");
    } catch (e) {
      err = e as LabFileError;
    }
    const found = err!.problems.map((p) => `${p.path}: ${p.message}`);
    expect(found).toEqual([
      'lans.bad.vlan: unknown key "vlan"', // shape
      "nodes.x.interfaces.eth0.mtu: Too small: expected number to be >=576", // shape
      "nodes.z.interfaces.eth0.address: 10.0.0.2 is already used by y/eth0", // semantic, in the same report
      'expect[1].reach.from: unknown node "w"', // x is defined (its shape failed): no knock-on for x
    ]);
  });

  it("a YAML syntax error gives line, column and the source line with a caret", () => {
    let err: LabFileError | undefined;
    try {
      parseLab("name: t\nlans:\n  a: { cidr: 10.0.0.0/24 ]\nnodes: {}\n", "frame.yaml");
    } catch (e) {
      err = e as LabFileError;
    }
    const p = err!.problems[0]!;
    expect(p.line).toBe(3);
    expect(p.column).toBeGreaterThan(1);
    expect(err!.message).toMatch(/frame\.yaml:3:\d+: \(document\): YAML syntax: /);
    expect(err!.message).toContain("3 |   a: { cidr: 10.0.0.0/24 ]");
    expect(err!.message).toMatch(/\n {4} {2}\| +\^/);
  });

  it("unknown names and keys get a 'did you mean' when one is close", () => {
    let err: LabFileError | undefined;
    try {
      parseLab(
        "name: t\nlans: { mgmt: { cidr: 10.0.0.0/24 } }\nnodes:\n  curau: { interfaces: { eth0: { lan: mgnt, address: 10.0.0.1 } }, rotues: [] }\nexpect:\n  - reach: { from: cruau, to: 10.0.0.1 }\n",
        "typo.yaml",
      );
    } catch (e) {
      err = e as LabFileError;
    }
    const hints = err!.problems.map((p) => p.hint).join("\n");
    expect(hints).toContain('did you mean "routes"?');
    try {
      parseLab(
        "name: t\nlans: { mgmt: { cidr: 10.0.0.0/24 } }\nnodes:\n  curau: { interfaces: { eth0: { lan: mgnt, address: 10.0.0.1 } } }\nexpect:\n  - reach: { from: cruau, to: 10.0.0.1 }\n",
        "typo.yaml",
      );
    } catch (e) {
      err = e as LabFileError;
    }
    const h2 = err!.problems.map((p) => p.hint).join("\n");
    expect(h2).toContain('did you mean "mgmt"?');
    expect(h2).toContain('did you mean "curau"?');
  });

  it("the shipped JSON Schema is generated from the zod schema, is current, accepts the seed labs and refuses a broken one", async () => {
    const check = await execa(process.execPath, ["scripts/schema.mjs", "--check"], { cwd: ROOT, reject: false });
    expect(check.exitCode, check.stderr).toBe(0);
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(labJsonSchema());
    for (const f of readdirSync(LABS).filter((x) => x.endsWith(".yaml"))) {
      const text = readFileSync(join(LABS, f), "utf8");
      expect(text.split("\n")[0], f).toBe("# yaml-language-server: $schema=../../docs/lab.schema.json");
      expect(validate(parseYaml(text)), `${f}: ${JSON.stringify(validate.errors?.slice(0, 2))}`).toBe(true);
    }
    expect(
      validate(
        parseYaml("name: t\nlans: {}\nnodes: { a: { interfaces: { eth0: { lan: x, mtu: 12 } } } }\nexpect: [ { reach: { from: a } } ]\n"),
      ),
    ).toBe(false);
  });
});
