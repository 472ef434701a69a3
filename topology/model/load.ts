import { resolve } from "node:path";
import { LIMITS, readBounded } from "./limits.ts";
import { Problems } from "./problem-list.ts";
import { codeFrame, LabFileError } from "./problems.ts";
import { semantic } from "./semantic.ts";
import { shapeBySection } from "./shape.ts";
import type { Lab } from "./types.ts";
import { YamlSource } from "./yaml-source.ts";

/** Reads, parses and validates a lab file. Throws LabFileError listing every problem found. */
export function loadLab(file: string): Lab {
  const abs = resolve(file);
  let text: string;
  try {
    text = readBounded(abs, LIMITS.labBytes);
  } catch (e) {
    throw new LabFileError(file, [
      {
        file,
        path: "",
        message: `cannot read the file: ${(e as Error).message}`,
        hint: "give the path of a lab file (YAML, at most 1 MiB)",
      },
    ]);
  }
  return parseLab(text, file);
}

export function parseLab(text: string, file = "<lab>"): Lab {
  const { source, errors, more } = YamlSource.parse(text, LIMITS.problems);
  const problems = new Problems(file, source);
  for (const e of errors) {
    const frame = e.line !== undefined && e.column !== undefined ? codeFrame(text, e.line, e.column) : undefined;
    problems.list.push({
      file,
      path: "",
      line: e.line,
      column: e.column,
      frame,
      message: `YAML syntax: ${e.message}`,
      hint: "fix the YAML syntax at that line",
    });
  }
  if (problems.list.length) throw new LabFileError(file, problems.list, more);
  let raw: unknown;
  try {
    raw = source.toJS(LIMITS.aliases);
  } catch (e) {
    throw new LabFileError(file, [
      {
        file,
        path: "",
        message: `YAML: ${(e as Error).message.split("\n")[0]}`,
        hint: `use at most ${LIMITS.aliases} aliases (*name) in a lab file`,
      },
    ]);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new LabFileError(file, [
      { file, path: "", line: 1, message: "the document must be a map with `name`, `lans` and `nodes`", hint: "see docs/lab-files.md" },
    ]);
  }
  for (const key of ["nodes", "lans"] as const) {
    const v = (raw as Record<string, unknown>)[key];
    const n = v && typeof v === "object" ? Object.keys(v).length : 0;
    const max = LIMITS[key];
    if (n > max) {
      problems.add([key], `${n} ${key}: labwright builds at most ${max} on one machine`, `split the lab, or keep at most ${max} ${key}`);
      throw new LabFileError(file, problems.list);
    }
  }
  const { doc, broken } = shapeBySection(raw as Record<string, unknown>, problems);
  const lab = semantic(doc, problems, resolve(file), broken);
  if (problems.list.length) throw new LabFileError(file, problems.list, problems.dropped);
  return lab;
}
