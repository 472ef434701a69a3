import { readFileSync } from "node:fs";
import type { WaitStrategy } from "./strategy.ts";

/**
 * Ready when the daemon has a socket listening (tcp) or bound (udp) on `port`, read from the
 * daemon's own /proc/<pid>/net tables: its view is the node's network namespace, no process spawned.
 */
export function listening(proto: "tcp" | "udp", port: number): WaitStrategy {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const state = proto === "tcp" ? "0A" : "07"; // LISTEN / bound
  return {
    what: `listen on ${proto}/${port}`,
    async ready(_host, d) {
      // Dual-stack daemons show up in the *6 tables.
      return [proto, `${proto}6`].some((table) => {
        try {
          return readFileSync(`${d.proc}/net/${table}`, "utf8")
            .split("\n")
            .slice(1)
            .some((l) => {
              const f = l.trim().split(/\s+/);
              return f[1]?.endsWith(`:${hex}`) && f[3] === state;
            });
        } catch {
          return false;
        }
      });
    },
  };
}
