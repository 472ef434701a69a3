/** One thing wrong with a lab file, said so that a person can fix it. */
export interface Problem {
  file: string;
  /** Path in the document, e.g. `nodes.curau.interfaces.eth0.address`. */
  path: string;
  line?: number;
  message: string;
  hint?: string;
}

/** A problem is one line: a line break inside a name or message is shown as \n. */
const oneLine = (s: string) => s.replace(/\r/g, "\\r").replace(/\n/g, "\\n");

export function formatProblem(p: Problem): string {
  const where = `${oneLine(p.file)}${p.line !== undefined ? `:${p.line}` : ""}`;
  return `${where}: ${oneLine(p.path) || "(document)"}: ${oneLine(p.message)}${p.hint ? `\n    fix: ${oneLine(p.hint)}` : ""}`;
}

/** A lab file that cannot be used. Nothing on the machine was touched when this is thrown. */
export class LabFileError extends Error {
  /** `more`: problems found beyond those listed (the list is capped so a hostile file cannot flood the terminal). */
  constructor(readonly file: string, readonly problems: Problem[], readonly more = 0) {
    const total = problems.length + more;
    super(
      `${file}: ${total} problem${total === 1 ? "" : "s"} in the lab file (nothing was created):\n` +
        problems.map((p) => "  " + formatProblem(p)).join("\n") +
        (more ? `\n  ... and ${more} more problem${more === 1 ? "" : "s"} of the same file (fix these first)` : ""),
    );
    this.name = "LabFileError";
  }
}

export function pathString(path: readonly (string | number)[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}
