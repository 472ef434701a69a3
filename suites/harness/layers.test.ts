import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseAst } from "rolldown/parseAst";
import { describe, expect, it } from "vitest";

/**
 * The one direction of topology/'s imports: the layer order is written once, in
 * docs/architecture.md's `layers` block (bottom first); this suite reads it from there and fails on
 * any import (type-only ones too) from a layer to one above it, on a folder or top-level file the
 * order does not place, and on a stack's folder importing another stack's (only ovs/, which the
 * others run on, and the registry's interface are shared).
 */
const root = resolve(import.meta.dirname, "../..");
const topo = join(root, "topology");

function layerOrder(): string[] {
  const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");
  const m = /```layers\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error("docs/architecture.md has no ```layers block");
  return m[1]!
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/)[0]!);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The layer of a file: its folder under topology/, or a top-level file's name without .ts. */
const layerOf = (file: string) => {
  const parts = relative(topo, file).split("/");
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, "") : parts[0]!;
};

/** Every module specifier a TypeScript AST names: imports (type-only too), re-exports, dynamic imports. */
function specifiers(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) specifiers(x, out);
  else if (node && typeof node === "object") {
    const n = node as { type?: string; source?: { type?: string; value?: unknown } };
    if (
      n.type &&
      /^(ImportDeclaration|ExportNamedDeclaration|ExportAllDeclaration|ImportExpression)$/.test(n.type) &&
      typeof n.source?.value === "string"
    )
      out.push(n.source.value);
    for (const v of Object.values(node)) if (v && typeof v === "object") specifiers(v, out);
  }
  return out;
}

/** Every relative import of a file, as absolute paths: parsed as TypeScript (oxc, through rolldown, which vitest runs on), not matched by pattern. */
function importsOf(file: string): string[] {
  const ast = parseAst(readFileSync(file, "utf8"), { lang: "ts" }, file);
  return specifiers(ast.body)
    .filter((s) => s.startsWith("."))
    .map((s) => resolve(dirname(file), s));
}

const files = tsFiles(topo);
const order = layerOrder();

/** The edges (importer, imported) that go from a layer to one above it. */
function upward(edges: readonly (readonly [string, string])[]): string[] {
  return edges
    .filter(([f, t]) => order.indexOf(layerOf(t)) > order.indexOf(layerOf(f)))
    .map(([f, t]) => `${relative(root, f)} → ${relative(root, t)} (${layerOf(f)} is below ${layerOf(t)})`);
}

describe("topology/ imports go one way (docs/architecture.md, Layers)", () => {
  it("the order names every folder and top-level file of topology/, each once", () => {
    const layers = [...new Set(files.map(layerOf))].sort();
    expect(layers.filter((l) => !order.includes(l))).toEqual([]);
    expect(order.filter((l, k) => order.indexOf(l) !== k)).toEqual([]);
    expect(order.filter((l) => !layers.includes(l))).toEqual([]);
  });

  it("no file imports from a layer above its own", () => {
    const edges = files.flatMap((f) =>
      importsOf(f)
        .filter((t) => t.startsWith(topo + "/"))
        .map((t) => [f, t] as const),
    );
    expect(edges.length).toBeGreaterThan(300);
    expect(upward(edges)).toEqual([]);
  });

  it("a stack's folder imports no other stack's, except ovs/ (the switch the others run on) and stack.ts", () => {
    const stacks = join(topo, "stacks");
    const stackOf = (p: string) => relative(stacks, p).split("/")[0]!;
    const wrong: string[] = [];
    for (const f of files.filter((x) => x.startsWith(stacks + "/") && relative(stacks, x).includes("/"))) {
      for (const t of importsOf(f).filter((x) => x.startsWith(stacks + "/"))) {
        const [a, b] = [stackOf(f), stackOf(t)];
        if (a !== b && b !== "ovs" && b !== "stack.ts") wrong.push(`${relative(root, f)} → ${relative(root, t)}`);
        if (a === "ovs" && b !== "ovs" && b !== "stack.ts") wrong.push(`${relative(root, f)} → ${relative(root, t)} (ovs/ is the base)`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the rule catches an upward import (made-up edges: report/ → lab.ts, model/ → stacks/)", () => {
    const edges = [
      [join(topo, "report/text.ts"), join(topo, "lab.ts")],
      [join(topo, "model/load.ts"), join(topo, "stacks/registry.ts")],
      [join(topo, "lab.ts"), join(topo, "stacks/registry.ts")],
    ] as const;
    expect(upward(edges)).toEqual([
      "topology/report/text.ts → topology/lab.ts (report is below lab)",
      "topology/model/load.ts → topology/stacks/registry.ts (model is below stacks)",
    ]);
  });
});
