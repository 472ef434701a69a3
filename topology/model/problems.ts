/** One thing wrong with a lab file, said so that a person can fix it. */
export interface Problem {
  file: string;
  /** Path in the document, e.g. `nodes.curau.interfaces.eth0.address`. */
  path: string;
  line?: number;
  message: string;
  hint?: string;
}

export function formatProblem(p: Problem): string {
  const where = `${p.file}${p.line !== undefined ? `:${p.line}` : ""}`;
  return `${where}: ${p.path || "(document)"}: ${p.message}${p.hint ? `\n    fix: ${p.hint}` : ""}`;
}

/** A lab file that cannot be used. Nothing on the machine was touched when this is thrown. */
export class LabFileError extends Error {
  constructor(readonly file: string, readonly problems: Problem[]) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"} in the lab file (nothing was created):\n` +
        problems.map((p) => "  " + formatProblem(p)).join("\n"),
    );
    this.name = "LabFileError";
  }
}

export function pathString(path: readonly (string | number)[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}
