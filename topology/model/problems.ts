/** One thing wrong with a lab file, said so that a person can fix it. */
export interface Problem {
  file: string;
  /** Path in the document, e.g. `nodes.curau.interfaces.eth0.address`. */
  path: string;
  line?: number;
  /** Column (1-based), where known (YAML syntax errors). */
  column?: number;
  /** The source line with a caret under the column. */
  frame?: string;
  message: string;
  hint?: string;
}

/** A problem is one line: a line break inside a name or message is shown as \n. */
const oneLine = (s: string) => s.replace(/\r/g, "\\r").replace(/\n/g, "\\n");

export function formatProblem(p: Problem): string {
  const where = `${oneLine(p.file)}${p.line !== undefined ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ""}` : ""}`;
  const frame = p.frame
    ? `\n${p.frame
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}`
    : "";
  return `${where}: ${oneLine(p.path) || "(document)"}: ${oneLine(p.message)}${frame}${p.hint ? `\n    fix: ${oneLine(p.hint)}` : ""}`;
}

/** A lab file that cannot be used. Nothing on the machine was touched when this is thrown. */
export class LabFileError extends Error {
  /** `more`: problems found beyond those listed (the list is capped so a hostile file cannot flood the terminal). */
  constructor(
    readonly file: string,
    readonly problems: Problem[],
    readonly more = 0,
  ) {
    const total = problems.length + more;
    super(
      `${file}: ${total} problem${total === 1 ? "" : "s"} in the lab file (nothing was created):\n` +
        problems.map((p) => "  " + formatProblem(p)).join("\n") +
        (more ? `\n  ... and ${more} more problem${more === 1 ? "" : "s"} of the same file (fix these first)` : ""),
    );
    this.name = "LabFileError";
  }
}

/** The source line `line` (1-based) of `text` with a caret under `column`: a code frame. */
export function codeFrame(text: string, line: number, column: number): string {
  const src = text.split("\n")[line - 1] ?? "";
  const shown = src.length > 120 ? `${src.slice(0, 117)}...` : src;
  const no = String(line);
  return `${no} | ${oneLine(shown)}\n${" ".repeat(no.length)} | ${" ".repeat(Math.max(0, Math.min(column, 120) - 1))}^`;
}

export function pathString(path: readonly (string | number)[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}
