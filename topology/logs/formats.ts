import type { LogFormat, LogRecord, Severity } from "./types.ts";

/**
 * The warning and error records of a log's text, by the daemon's own format. Lines below warning
 * are not records here. A record that spans lines (oslo.log writes a traceback as one line per
 * line, each with the record's header; RabbitMQ indents a report's continuation lines) is one
 * record, reported by its first line.
 */
export function records(format: LogFormat, text: string): LogRecord[] {
  return READERS[format](text.split("\n"));
}

const READERS: Record<LogFormat, (lines: string[]) => LogRecord[]> = {
  /** OVS and OVN (vlog): `<time>|<seq>|<module>|<LEVEL>|<message>`, one line a record. */
  vlog: (lines) =>
    oneLine(lines, (l) => level(/^[^|]*\|\d+\|[^|]+\|(WARN|ERR|EMER)\|/.exec(l)?.[1], { WARN: "warning", ERR: "error", EMER: "error" })),
  /**
   * incusd (Go, logfmt on a non-terminal): `time=... level=warning msg=...`; a Go panic is an error,
   * and so is a panic in an API handler, which net/http recovers (the client sees its connection
   * closed: EOF) and Incus's server error log writes at level info (`msg="http: panic serving …"`,
   * internal/server/endpoints/network_util.go).
   */
  logfmt: (lines) =>
    oneLine(lines, (l) =>
      l.startsWith("panic: ") || l.startsWith("fatal error: ") || /\smsg="http: panic serving /.test(l)
        ? "error"
        : level(/(?:^|\s)level=(\w+)/.exec(l)?.[1], {
            warn: "warning",
            warning: "warning",
            error: "error",
            fatal: "error",
            crit: "error",
            panic: "error",
          }),
    ),
  /** MariaDB: `<date> <time> <thread> [Warning|ERROR] ...`. */
  mariadb: (lines) =>
    oneLine(lines, (l) =>
      level(/^\d{4}-\d\d-\d\d\s+\d{1,2}:\d\d:\d\d \d+ \[(Warning|ERROR)\]/.exec(l)?.[1], { Warning: "warning", ERROR: "error" }),
    ),
  /** RabbitMQ 3.9+: `<date> <time> [level] <pid> message`; a report over several lines repeats the header. */
  rabbitmq: (lines) =>
    sameHeader(
      lines,
      /^(\d{4}-\d\d-\d\d \S+) \[(\w+)\] (<[\d.]+>) /,
      (m) => `${m[1]} ${m[2]} ${m[3]}`,
      (m) => level(m[2], { warning: "warning", error: "error", critical: "error", alert: "error", emergency: "error" }),
    ),
  /** oslo.log (neutron): `<date> <time> <pid> LEVEL <module> [...] message`; a traceback repeats the header. */
  oslo: (lines) =>
    sameHeader(
      lines,
      /^(\S+ \S+) (\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE) (\S+) /,
      (m) => `${m[1]} ${m[2]} ${m[4]}`,
      (m) => level(m[3], { WARNING: "warning", ERROR: "error", CRITICAL: "error", TRACE: "error" }),
    ),
};

/** Records whose every line repeats a header: consecutive lines with one header key are one record. */
function sameHeader(
  lines: string[],
  header: RegExp,
  key: (m: RegExpExecArray) => string,
  severity: (m: RegExpExecArray) => Severity | null,
): LogRecord[] {
  const out: LogRecord[] = [];
  let open: LogRecord | null = null;
  let openKey = "";
  for (const l of lines) {
    const m = header.exec(l);
    if (!m) {
      open = null;
      continue;
    }
    const k = key(m);
    if (open && k === openKey) {
      open.more++;
      continue;
    }
    openKey = k;
    const sev = severity(m);
    open = sev ? { severity: sev, line: l, more: 0 } : null;
    if (open) out.push(open);
  }
  return out;
}

function level(name: string | undefined, map: Record<string, Severity>): Severity | null {
  return name !== undefined ? (map[name] ?? null) : null;
}

function oneLine(lines: string[], severity: (l: string) => Severity | null): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of lines) {
    const s = severity(line);
    if (s) out.push({ severity: s, line, more: 0 });
  }
  return out;
}
