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
  vlog: (lines) => oneLine(lines, (l) => level(/^[^|]*\|\d+\|[^|]+\|(WARN|ERR|EMER)\|/.exec(l)?.[1], { WARN: "warning", ERR: "error", EMER: "error" })),
  /** incusd (Go, logfmt on a non-terminal): `time=... level=warning msg=...`; a Go panic is an error. */
  logfmt: (lines) => oneLine(lines, (l) => (l.startsWith("panic: ") || l.startsWith("fatal error: ") ? "error" : level(/(?:^|\s)level=(\w+)/.exec(l)?.[1], { warn: "warning", warning: "warning", error: "error", fatal: "error", crit: "error", panic: "error" }))),
  /** MariaDB: `<date> <time> <thread> [Warning|ERROR] ...`. */
  mariadb: (lines) => oneLine(lines, (l) => level(/^\d{4}-\d\d-\d\d\s+\d{1,2}:\d\d:\d\d \d+ \[(Warning|ERROR)\]/.exec(l)?.[1], { Warning: "warning", ERROR: "error" })),
  /** RabbitMQ 3.9+: `<date> <time> [level] <pid> message`, continuation lines indented. */
  rabbitmq: (lines) => grouped(lines, (l) => {
    const m = /^\d{4}-\d\d-\d\d \S+ \[(\w+)\] /.exec(l);
    if (!m) return /^\s/.test(l) ? "continues" : null;
    return { head: l, severity: level(m[1], { warning: "warning", error: "error", critical: "error", alert: "error", emergency: "error" }) };
  }),
  /** oslo.log (neutron): `<date> <time> <pid> LEVEL <module> [...] message`; a traceback repeats the header. */
  oslo: (lines) => {
    const out: LogRecord[] = [];
    let key = "";
    let open: LogRecord | null = null;
    for (const l of lines) {
      const m = /^(\S+ \S+) (\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE) (\S+) /.exec(l);
      if (!m) {
        open = null;
        continue;
      }
      const k = `${m[1]} ${m[2]} ${m[4]}`;
      if (open && k === key) {
        open.more++;
        continue;
      }
      key = k;
      const severity = level(m[3], { WARNING: "warning", ERROR: "error", CRITICAL: "error", TRACE: "error" });
      open = severity ? { severity, line: l, more: 0 } : null;
      if (open) out.push(open);
    }
    return out;
  },
};

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

/** Records whose continuation lines have no header of their own. */
function grouped(lines: string[], head: (l: string) => { head: string; severity: Severity | null } | "continues" | null): LogRecord[] {
  const out: LogRecord[] = [];
  let open: LogRecord | null = null;
  for (const l of lines) {
    const h = head(l);
    if (h === "continues") {
      if (open) open.more++;
      continue;
    }
    open = h?.severity ? { severity: h.severity, line: h.head, more: 0 } : null;
    if (open) out.push(open);
  }
  return out;
}
