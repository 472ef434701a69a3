import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { JSDOM } from "jsdom";
import { beforeAll, describe, expect, it } from "vitest";
import { loadLab } from "../../topology/model/load.ts";
import { markdownSummary } from "../../topology/report/github.ts";
import { mermaid } from "../../topology/report/mermaid.ts";
import { runLab } from "../../topology/scenario.ts";
import { writeLab } from "../support/labs.ts";

const LABS = fileURLToPath(new URL("../../topology/labs/", import.meta.url));

/** Mermaid's own parser (the renderer's first stage), in a DOM of jsdom's. */
let parse: (text: string) => Promise<unknown>;
beforeAll(async () => {
  const dom = new JSDOM("<!doctype html><html><body></body></html>");
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const m = (await import("mermaid")).default;
  m.initialize({ startOnLoad: false });
  parse = (text) => m.parse(text);
});

describe("Mermaid output parses with mermaid itself", () => {
  it("the parser refuses a broken flowchart (the check can fail)", async () => {
    await expect(parse('flowchart LR\n  a["x"] ---|"y| b\n')).rejects.toThrow(/Parse error/);
  });

  it.each(readdirSync(LABS).filter((f) => f.endsWith(".yaml")))("`labwright graph` of %s", async (f) => {
    await expect(parse(mermaid(loadLab(join(LABS, f))))).resolves.toMatchObject({ diagramType: "flowchart-v2" });
  });

  it("the topology block of the GitHub step summary", async () => {
    const file = writeLab(
      "mm.yaml",
      "name: mm\nlans: { m: { cidr: 10.85.0.0/24 } }\nnodes:\n  a: { interfaces: { eth0: { lan: m, address: 10.85.0.1 } } }\n  b: { interfaces: { eth0: { lan: m, address: 10.85.0.2 } } }\nexpect:\n  - reach: { from: a, to: b }\n",
    );
    const lab = loadLab(file);
    const md = markdownSummary(await runLab(lab), lab);
    const block = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1];
    expect(block).toBeDefined();
    await expect(parse(block!)).resolves.toMatchObject({ diagramType: "flowchart-v2" });
  });
});
