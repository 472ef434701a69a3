import { fileURLToPath } from "node:url";
import type { NodeExec } from "./types.ts";

/** The in-node helper (TCP, HTTP, watches): run with this machine's node, inside the node's namespaces. */
export const HELPER = fileURLToPath(new URL("./net-helper.mjs", import.meta.url));

export interface TcpResult {
  kind: "tcp";
  target: string;
  port: number;
  open: boolean;
  address?: string;
  error?: string;
  ms: number;
}

export interface HttpResult {
  kind: "http";
  url: string;
  status?: number;
  body?: string;
  address?: string;
  error?: string;
  ms: number;
}

export interface ResolveResult {
  kind: "resolve";
  name: string;
  addresses: string[];
  error?: string;
  ms: number;
}

export async function tcpConnect(exec: NodeExec, target: string, port: number, timeoutMs = 2000): Promise<TcpResult> {
  const r = await exec([process.execPath, HELPER, "tcp", target, String(port), String(timeoutMs)], { timeoutS: timeoutMs / 1000 + 10 });
  const j = parseJson(r.stdout);
  return {
    kind: "tcp",
    target,
    port,
    open: j?.open === true,
    address: j?.address,
    error: j?.error ?? (j ? undefined : r.stderr.trim()),
    ms: j?.ms ?? r.durationMs,
  };
}

export async function httpGet(exec: NodeExec, url: string, timeoutMs = 3000): Promise<HttpResult> {
  const r = await exec([process.execPath, HELPER, "http", url, String(timeoutMs)], { timeoutS: timeoutMs / 1000 + 10 });
  const j = parseJson(r.stdout);
  return {
    kind: "http",
    url,
    status: j?.status,
    body: j?.body,
    address: j?.address,
    error: j?.error ?? (j ? undefined : r.stderr.trim()),
    ms: j?.ms ?? r.durationMs,
  };
}

/** curl's exit codes in the words the helper uses. */
function curlError(code: number | null, stderr: string): string {
  if (code === 7) return /refused/i.test(stderr) ? "ECONNREFUSED" : "EHOSTUNREACH";
  if (code === 28) return "timeout";
  if (code === 6) return "ENOTFOUND";
  return stderr.trim().split("\n").pop() || `curl exited ${code}`;
}

/**
 * TCP connect with bash's /dev/tcp (real hosts, where this machine's probe helper does not run). The
 * target and port are arguments ($0, $1), never part of the script; `ms` includes the command's round trip.
 */
export async function tcpConnectShell(exec: NodeExec, target: string, port: number, timeoutMs = 2000): Promise<TcpResult> {
  const r = await exec(["timeout", String(timeoutMs / 1000), "bash", "-c", 'exec 3<>"/dev/tcp/$0/$1"', target, String(port)], {
    timeoutS: timeoutMs / 1000 + 10,
  });
  if (r.exitCode === 0) return { kind: "tcp", target, port, open: true, address: target, ms: r.durationMs };
  const why =
    r.exitCode === 124
      ? "timeout"
      : /refused/i.test(r.stderr)
        ? "ECONNREFUSED"
        : /unreachable/i.test(r.stderr)
          ? "EHOSTUNREACH"
          : r.stderr.trim().split("\n").pop() || `exit ${r.exitCode}`;
  return { kind: "tcp", target, port, open: false, error: why, ms: r.durationMs };
}

/** HTTP GET with curl (real hosts). */
export async function httpGetCurl(exec: NodeExec, url: string, timeoutMs = 3000): Promise<HttpResult> {
  const marker = "\n__labwright__ ";
  const r = await exec(
    ["curl", "-sS", "--max-time", String(timeoutMs / 1000), "-o", "-", "-w", `${marker}%{http_code} %{remote_ip} %{time_total}`, "--", url],
    { timeoutS: timeoutMs / 1000 + 10 },
  );
  const at = r.stdout.lastIndexOf(marker);
  if (r.exitCode !== 0 || at < 0) return { kind: "http", url, error: curlError(r.exitCode, r.stderr), ms: r.durationMs };
  const [code, ip, t] = r.stdout
    .slice(at + marker.length)
    .trim()
    .split(" ");
  return {
    kind: "http",
    url,
    status: Number(code),
    body: r.stdout.slice(0, at).slice(0, 4096),
    address: ip,
    ms: Math.round(Number(t) * 1e6) / 1000,
  };
}

/** Resolves a name the way programs in the node do (glibc, the node's resolv.conf). */
export async function resolveName(exec: NodeExec, name: string): Promise<ResolveResult> {
  const r = await exec(["getent", "ahostsv4", "--", name], { timeoutS: 15 });
  const addresses = [
    ...new Set(
      r.stdout
        .split("\n")
        .map((l) => l.split(/\s+/)[0])
        .filter((a): a is string => !!a),
    ),
  ];
  return {
    kind: "resolve",
    name,
    addresses,
    error: r.exitCode === 0 ? undefined : r.exitCode === 2 ? "name not found" : `getent exited ${r.exitCode}`,
    ms: Math.round(r.durationMs * 1000) / 1000,
  };
}

function parseJson(s: string): { open?: boolean; address?: string; error?: string; status?: number; body?: string; ms?: number } | null {
  try {
    return JSON.parse(s.trim().split("\n").at(-1) ?? "");
  } catch {
    return null;
  }
}
