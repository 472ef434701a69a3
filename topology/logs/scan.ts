import { records } from "./formats.ts";
import { builtInAllow } from "./allowlist.ts";
import type { LogFinding, LogSource, LogVerdict } from "./types.ts";

/** Every warning and error record of the sources, each marked with the built-in entry that allows it, if any. */
export async function scanLogs(sources: readonly LogSource[]): Promise<LogFinding[]> {
  const out: LogFinding[] = [];
  for (const s of sources) {
    const text = await s.read();
    if (text === null) continue;
    const allow = builtInAllow(s.daemon);
    for (const r of records(s.format, text)) {
      const by = allow.find((a) => a.match.test(r.line));
      out.push({ ...r, node: s.node, daemon: s.daemon, file: s.file, ...(by ? { allowedBy: by.why } : {}) });
    }
  }
  return out;
}

export interface LabAllow {
  readonly match: RegExp;
  readonly why: string;
}

/**
 * Errors fail unless an entry allows them; warnings are reported and fail only when `strict`. The
 * lab's own entries (a scenario's `log_allow`, useLab's `logAllow`) allow records of any daemon.
 */
export function judgeLogs(findings: readonly LogFinding[], labAllow: readonly LabAllow[], strict: boolean): LogVerdict {
  const marked = findings.map((f) => {
    if (f.allowedBy !== undefined) return f;
    const by = labAllow.find((a) => a.match.test(f.line));
    return by ? { ...f, allowedBy: by.why } : f;
  });
  const errors = marked.filter((f) => f.allowedBy === undefined && f.severity === "error");
  const warnings = marked.filter((f) => f.allowedBy === undefined && f.severity === "warning");
  return {
    strict,
    errors,
    warnings,
    allowed: marked.length - errors.length - warnings.length,
    ok: errors.length === 0 && (!strict || warnings.length === 0),
  };
}

/** One line per finding, for messages: `node daemon: line (+N lines)`. */
export function findingLine(f: LogFinding): string {
  return `${f.node} ${f.daemon}: ${f.line}${f.more ? ` (+${f.more} lines of its traceback)` : ""}`;
}

/** The records that fail a verdict: its errors, and under strict logs its warnings too. */
export function failingFindings(v: Pick<LogVerdict, "errors" | "warnings" | "strict">): LogFinding[] {
  return v.strict ? [...v.errors, ...v.warnings] : [...v.errors];
}
