import type { WaitStrategy } from "./strategy.ts";

/** Ready when a path exists in the node's view (a unix socket, a database file). */
export function pathExists(path: string): WaitStrategy {
  return { what: `create ${path}`, ready: (host) => host.exists(path) };
}

/** Ready when `<dir>/<name>.<pid>.ctl` exists: the control socket OVS/OVN daemons name after their pid. */
export function ctlSocket(dir: string, name: string): WaitStrategy {
  return { what: `create its control socket in ${dir}`, ready: (host, d) => host.exists(`${dir}/${name}.${d.ref.pid}.ctl`) };
}
