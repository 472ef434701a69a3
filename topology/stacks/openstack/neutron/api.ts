import type { Host } from "../../../backends/host.ts";

/**
 * neutron's REST API as labwright reads it (what exists: agents, routers, ports, floating IPs) and
 * as its stand-in for nova calls it (a server's port, a floating IP's association): plain HTTP with
 * curl inside the node, where the API listens on the node's address. The body goes through stdin,
 * never through a command line; the answer is neutron's own JSON.
 */

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  /** neutron's error message (its `NeutronError.message`), when the status is not 2xx. */
  error?: string;
}

export class NeutronApi {
  constructor(
    private readonly host: Host,
    /** http://<address>:9696 */
    readonly endpoint: string,
  ) {}

  async call<T = Record<string, unknown>>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const argv = [
      "curl",
      "-sS",
      "--max-time",
      "60",
      "-X",
      method,
      "-H",
      "Accept: application/json",
      "-w",
      "\n%{http_code}",
      `${this.endpoint}/v2.0${path}`,
    ];
    if (body !== undefined) argv.push("-H", "Content-Type: application/json", "--data-binary", "@-");
    const r = await this.host.exec(argv, { timeoutS: 90, ...(body !== undefined ? { input: JSON.stringify(body) } : {}) });
    if (r.exitCode !== 0) throw new Error(`neutron API ${method} ${path}: ${r.stderr.trim() || `curl exit ${r.exitCode}`}`);
    const nl = r.stdout.lastIndexOf("\n");
    const status = Number(r.stdout.slice(nl + 1));
    const text = r.stdout.slice(0, nl);
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    const ok = status >= 200 && status < 300;
    const err = !ok
      ? ((parsed as { NeutronError?: { message?: string } } | null)?.NeutronError?.message ??
        (typeof parsed === "string" ? parsed.trim() : JSON.stringify(parsed)))
      : undefined;
    return { status, body: parsed as T, ...(err !== undefined ? { error: err } : {}) };
  }

  /** GET that must succeed. */
  async get<T>(path: string): Promise<T> {
    const a = await this.call<T>("GET", path);
    if (a.error !== undefined) throw new Error(`neutron API GET ${path}: ${a.status} ${a.error}`);
    return a.body;
  }

  /** A resource by name or ID, as the client looks it up (an ID first, then a unique name). */
  async find<T extends { id: string; name?: string }>(collection: string, key: string): Promise<T | { error: string }> {
    const plural = `${collection}s`;
    const byId = await this.call<Record<string, T>>("GET", `/${plural}/${encodeURIComponent(key)}`);
    if (byId.status === 200) return byId.body[collection]!;
    const named = (await this.get<Record<string, T[]>>(`/${plural}?name=${encodeURIComponent(key)}`))[plural] ?? [];
    if (named.length === 1) return named[0]!;
    if (named.length > 1) return { error: `More than one ${collection} exists with the name '${key}'.` };
    return { error: `No ${collection} found for ${key}` };
  }
}
