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

/**
 * Ready when a unix socket at `path` is listening, read from the daemon's /proc/<pid>/net/unix
 * (flag __SO_ACCEPTCON). The socket file alone is not enough: a daemon binds it before it listens,
 * and a client connecting in between is refused (measured: `ovs-vsctl: unix:…/db.sock: database
 * connection failed (Connection refused)` right after ovsdb-server's db.sock appeared, clean-clone CI
 * of 2026-12-05 22:1x). OVS binds a path too long for sun_path through /proc/self/fd/<dir>/<name>.
 */
export function unixListening(path: string): WaitStrategy {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return {
    what: `listen on unix:${path}`,
    async ready(_host, d) {
      try {
        return readFileSync(`${d.proc}/net/unix`, "utf8")
          .split("\n")
          .slice(1)
          .some((l) => {
            const f = l.trim().split(/\s+/);
            const p = f[7] ?? "";
            const bound = p === path || (p.startsWith("/proc/self/fd/") && p.endsWith(`/${name}`));
            return bound && (parseInt(f[3] ?? "0", 16) & 0x10000) !== 0;
          });
      } catch {
        return false;
      }
    },
  };
}
