import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ALL_IMAGES, manifestPath } from "../emulators/openstack/kolla.ts";
import type { NodeSpec, ServiceDoc } from "../model/types.ts";
import { isAlive, type ProcessRef, processStart } from "../run/process.ts";

export interface DaemonSpec {
  name: string;
  argv: string[];
  /** Ready when this socket is listening in the daemon's namespace. */
  listens: { proto: "tcp" | "udp"; port: number };
}

/** dnsmasq answering the node's DNS records on every address the node has. */
export function dnsmasq(node: NodeSpec): DaemonSpec | null {
  if (!node.dns) return null;
  const listen = node.interfaces.filter((i) => i.address).map((i) => `--listen-address=${i.address}`);
  const records = Object.entries(node.dns.records).flatMap(([name, ips]) => ips.map((ip) => `--host-record=${name},${ip}`));
  return {
    name: "dnsmasq",
    argv: [
      "dnsmasq",
      "--conf-file=/dev/null",
      "--keep-in-foreground",
      "--log-facility=-",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      "--user=root",
      "--group=root",
      "--pid-file=",
      ...listen,
      ...records,
    ],
    listens: { proto: "udp", port: 53 },
  };
}

/**
 * A container registry for kolla's images: busybox httpd serving the Docker Registry v2 paths that
 * an image pull fetches first (`/v2/`, then each image's manifest), for every image the kolla plays pull.
 */
export function registry(svc: Extract<ServiceDoc, { type: "registry" }>, dir: string): DaemonSpec {
  const root = join(dir, `registry-${svc.port}`);
  mkdirSync(join(root, "v2"), { recursive: true });
  writeFileSync(join(root, "v2", "index.html"), "{}\n");
  for (const img of ALL_IMAGES) {
    const path = join(root, manifestPath(svc.namespace, img, svc.tag));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", name: `${svc.namespace}/${img}`, tag: svc.tag }) + "\n");
  }
  return { name: `registry:${svc.port}`, argv: ["busybox", "httpd", "-f", "-p", String(svc.port), "-h", root], listens: { proto: "tcp", port: svc.port } };
}

/** busybox httpd serving a one-line page that names the node. */
export function httpd(node: NodeSpec, svc: Extract<ServiceDoc, { type: "http" }>, dir: string): DaemonSpec {
  const root = join(dir, `www-${svc.port}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "index.html"), svc.body ?? `${node.name} (labwright http service on port ${svc.port})\n`);
  return { name: `httpd:${svc.port}`, argv: ["busybox", "httpd", "-f", "-p", String(svc.port), "-h", root], listens: { proto: "tcp", port: svc.port } };
}

/**
 * Starts a daemon inside a namespace, detached so it outlives this process (for `labwright up`).
 * `ip netns exec` execs the daemon, so the pid we get is the daemon's own. Output goes to logFile.
 */
export function spawnDaemon(ns: string, spec: Pick<DaemonSpec, "argv">, logFile: string, env?: Record<string, string>): ProcessRef {
  const fd = openSync(logFile, "a");
  try {
    const child = spawn("ip", ["netns", "exec", ns, ...spec.argv], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, ...env },
    });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${spec.argv[0]} in ${ns}`);
    // A freshly forked child may not show its start time for a moment.
    let start = processStart(child.pid);
    for (let k = 0; start === null && k < 100; k++) start = processStart(child.pid);
    return { pid: child.pid, start: start ?? 0 };
  } finally {
    closeSync(fd);
  }
}

function listening(pid: number, proto: "tcp" | "udp", port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  // tcp: state 0A = LISTEN; udp: state 07 = bound. Dual-stack daemons show up in the *6 tables.
  return [proto, `${proto}6`].some((table) => {
    try {
      return readFileSync(`/proc/${pid}/net/${table}`, "utf8")
        .split("\n")
        .slice(1)
        .some((l) => {
          const f = l.trim().split(/\s+/);
          return f[1]?.endsWith(`:${hex}`) && f[3] === (proto === "tcp" ? "0A" : "07");
        });
    } catch {
      return false;
    }
  });
}

/** Waits (polling /proc, no spawn) until the daemon listens; throws with its log if it dies or hangs. */
export function awaitListening(ref: ProcessRef, spec: DaemonSpec, logFile: string, timeoutMs = 10_000): Promise<void> {
  const { proto, port } = spec.listens;
  return awaitDaemon(ref, spec.name, () => listening(ref.pid, proto, port), `listen on ${proto}/${port}`, logFile, timeoutMs);
}

/** Polls `ready` until it holds; throws with the tail of the daemon's log if the daemon dies or time runs out. */
export async function awaitDaemon(ref: ProcessRef, name: string, ready: () => boolean, what: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(ref)) throw new Error(`${name} exited during start:\n${tail(logFile)}`);
    if (ready()) return;
    if (Date.now() > deadline) throw new Error(`${name} did not ${what} within ${timeoutMs} ms:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-8).map((l) => "    " + l).join("\n");
  } catch {
    return "    (no log)";
  }
}
