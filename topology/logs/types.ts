/** What the daemons of a lab logged, and how labwright judges it (see docs/lab-files.md, "Daemon logs"). */

export type Severity = "error" | "warning";

/** How a daemon writes its log: each has its own way to say a record's severity. */
export type LogFormat = "vlog" | "oslo" | "logfmt" | "rabbitmq" | "mariadb";

/** One log file of one daemon of one node, as its stack names it. */
export interface LogSource {
  node: string;
  /** The daemon, as the built-in allowlists name it (`ovs-vswitchd`, `neutron-l3-agent`, `incusd`, ...). */
  daemon: string;
  /** The file, as its node sees it (for the report). */
  file: string;
  format: LogFormat;
  /** Its text now (null when the file does not exist). */
  read(): Promise<string | null>;
}

/** A warning or error record of a daemon's log. */
export interface LogRecord {
  severity: Severity;
  /** Its first line. */
  line: string;
  /** Lines that belong to it after the first (a traceback). */
  more: number;
}

export interface LogFinding extends LogRecord {
  node: string;
  daemon: string;
  file: string;
  /** The reason of the entry that allows it, built-in or the lab's; absent when none does. */
  allowedBy?: string;
}

/** The judgement of a scenario's daemon logs. */
export interface LogVerdict {
  /** `strict`: a warning fails like an error. */
  strict: boolean;
  /** Error records no entry allows: each fails the scenario. */
  errors: LogFinding[];
  /** Warning records no entry allows: reported; they fail only under `logs: strict`. */
  warnings: LogFinding[];
  /** How many records an entry allowed (built-in or the lab's). */
  allowed: number;
  ok: boolean;
}
