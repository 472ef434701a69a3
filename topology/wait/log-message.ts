import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { WaitStrategy } from "./strategy.ts";

/**
 * Ready when the log file has a line matching `pattern` after byte offset `from` (what the daemon
 * logged since it started), as testcontainers' Wait.forLogMessage. `what` says it for messages.
 * The pattern is tested line by line (complete lines only), and each poll reads only what was
 * appended since the last complete line it read: a wait of seconds on a busy log stays cheap.
 */
export function logMessage(file: string, pattern: RegExp, from: number, what: string): WaitStrategy {
  const line = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
  let scanned = from;
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
        if (size <= scanned) return false;
        const buf = Buffer.alloc(size - scanned);
        readSync(fd, buf, 0, buf.length, scanned);
        const end = buf.lastIndexOf(0x0a);
        if (end < 0) return false;
        scanned += end + 1;
        return buf
          .subarray(0, end)
          .toString("utf8")
          .split("\n")
          .some((l) => line.test(l));
      } finally {
        closeSync(fd);
      }
    },
  };
}
