import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { WaitStrategy } from "./strategy.ts";

/**
 * Ready when the log file has a line matching `pattern` after byte offset `from` (what the daemon
 * logged since it started), as testcontainers' Wait.forLogMessage. `what` says it for messages.
 */
export function logMessage(file: string, pattern: RegExp, from: number, what: string): WaitStrategy {
  return {
    what,
    ready: async () => {
      let fd: number;
      try {
        fd = openSync(file, "r");
      } catch {
        return false;
      }
      try {
        const size = statSync(file).size;
        if (size <= from) return false;
        const buf = Buffer.alloc(size - from);
        readSync(fd, buf, 0, buf.length, from);
        return pattern.test(buf.toString("utf8"));
      } finally {
        closeSync(fd);
      }
    },
  };
}
