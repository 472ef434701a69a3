import { z } from "zod";
import { closest, distance } from "fastest-levenshtein";
import { LabDoc, type LabDocT, Lan, Node, Scenario } from "./schema.ts";
import type { Path, Problems } from "./problem-list.ts";

/** Names whose own definition failed its shape check: known to exist, so references to them raise no knock-on errors. */
export interface Broken {
  lans: Set<string>;
  nodes: Set<string>;
  /** Sections that are missing or not a map (already reported by the top-level check). */
  absent: Set<"lans" | "nodes">;
}

/**
 * The document's shape, checked a section and an entry at a time: a LAN, node or scenario that fails
 * is reported and left out of the semantic checks (its name still counts as defined), so one
 * mistake gives one problem and the rest of the file is still checked in the same report.
 */
export function shapeBySection(raw: Record<string, unknown>, problems: Problems): { doc: LabDocT; broken: Broken } {
  const broken: Broken = { lans: new Set(), nodes: new Set(), absent: new Set() };
  // The top level itself (its keys and simple values), with the sections taken as opaque.
  const top = shape(
    LabDoc.extend({
      lans: z.record(z.string(), z.unknown()),
      nodes: z.record(z.string(), z.unknown()),
      scenarios: z.array(z.unknown()).optional(),
    }),
    raw,
    [],
    problems,
  );
  const section = (key: "lans" | "nodes") => {
    const v = raw[key];
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    broken.absent.add(key);
    return {};
  };
  const lans: LabDocT["lans"] = {};
  for (const [k, v] of Object.entries(section("lans"))) {
    const s = shape(Lan, v, ["lans", k], problems);
    if (s) lans[k] = s;
    else broken.lans.add(k);
  }
  const nodes: LabDocT["nodes"] = {};
  for (const [k, v] of Object.entries(section("nodes"))) {
    const s = shape(Node, v, ["nodes", k], problems);
    if (s) nodes[k] = s;
    else broken.nodes.add(k);
  }
  const list = (key: string) => (Array.isArray(raw[key]) ? (raw[key] as unknown[]) : []);
  const scenarios =
    raw.scenarios === undefined
      ? undefined
      : list("scenarios").flatMap((v, k) => {
          const s = shape(Scenario, v, ["scenarios", k], problems);
          return s ? [s] : [];
        });
  return {
    doc: {
      name: top?.name ?? (typeof raw.name === "string" ? raw.name : "lab"),
      description: top?.description,
      logs: top?.logs ?? "report",
      toolchain: top?.toolchain ?? "debian-12",
      lans,
      nodes,
      steps: list("steps"),
      expect: list("expect"),
      ...(scenarios !== undefined ? { scenarios } : {}),
    },
    broken,
  };
}

/** zod shape check, with zod's issues turned into problems at their path. */
export function shape<S extends z.ZodType>(schema: S, value: unknown, at: Path, problems: Problems): z.output<S> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const path = [...at, ...(issue.path as Path)];
    if (issue.code === "unrecognized_keys") {
      const allowed = knownKeys(schema, issue.path as Path);
      const obj = valueAt(value, issue.path as Path);
      for (const k of issue.keys) {
        // `{ incus: config set k a,b }`: in a flow-style mapping a comma ends the value, and what follows
        // becomes a key without a value.
        const split = obj !== null && typeof obj === "object" && (obj as Record<string, unknown>)[k] === null && k.length > 0;
        problems.add(
          path,
          `unknown key "${k}"`,
          split
            ? 'a comma ends a value in a flow-style { … } mapping, so the text after it became this key: quote the value (`incus: "config set k a,b"`) or write the step in block style'
            : allowed
              ? `${didYouMean(k, allowed)}use one of: ${allowed.join(", ")}`
              : "remove it",
          k,
        );
      }
    } else if (issue.code === "invalid_type") {
      const actual = valueAt(value, issue.path as Path);
      if (actual === undefined) problems.add(path, `missing required key`, `add \`${String(path.at(-1))}: ...\``);
      else problems.add(path, `expected ${issue.expected}, got ${kindOf(actual)}`, `write ${article(issue.expected)} here`);
    } else {
      problems.add(path, issue.message.replace(/^Invalid input: /, ""), hintFor(issue));
    }
  }
  return undefined;
}

function valueAt(v: unknown, path: Path): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)})`;
  if (typeof v === "number") return Number.isInteger(v) ? `an integer (${v})` : `a number (${v})`;
  return `a ${typeof v} (${String(v)})`;
}

function article(expected: string): string {
  const words: Record<string, string> = {
    object: "a map",
    array: "a list",
    string: "a string",
    number: "a number",
    int: "an integer",
    boolean: "true or false",
  };
  return words[expected] ?? expected;
}

/** "did you mean ...?" when one of `known` is a likely typo of `name`. */
export function didYouMean(name: string, known: readonly string[]): string {
  if (!known.length) return "";
  const best = closest(name, [...known]);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? `did you mean "${best}"? ` : "";
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === "invalid_value" && "values" in issue) return `use one of: ${issue.values.map(String).join(", ")}`;
  if (issue.code === "invalid_union") return "see docs/lab-files.md for the accepted forms";
  return undefined;
}

/** Keys a strict object accepts, found by walking the schema along path (best effort, for hints). */
function knownKeys(schema: z.ZodType, path: Path): string[] | undefined {
  let s: unknown = schema;
  for (const k of path) {
    s = unwrap(s);
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }).def;
    if (!def) return undefined;
    if (def.type === "object" && def.shape) s = def.shape[String(k)];
    else if (def.type === "array") s = def.element;
    else if (def.type === "record") s = def.valueType;
    else return undefined;
  }
  s = unwrap(s);
  const shapeObj = (s as { def?: { shape?: Record<string, unknown> } }).def?.shape;
  return shapeObj ? Object.keys(shapeObj) : undefined;
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { type?: string; innerType?: unknown } } | undefined;
  while (cur?.def && ["optional", "default", "nullable", "prefault"].includes(cur.def.type ?? "")) {
    cur = cur.def.innerType as typeof cur;
  }
  return cur;
}
