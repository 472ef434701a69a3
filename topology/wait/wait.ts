import { readFileSync } from "node:fs";
import type { Daemon, Host } from "../backends/host.ts";
import { isAlive } from "../run/process.ts";
import type { WaitStrategy } from "./strategy.ts";

/** Polls `strategy` until it holds; throws with the tail of the daemon's log if the daemon exits or time runs out. */
export async function waitFor(host: Host, d: Daemon, strategy: WaitStrategy, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(d.ref)) throw new Error(`${d.name} on ${host.name} exited during start:\n${logTail(d.log)}`);
    if (await strategy.ready(host, d)) return;
    if (Date.now() > deadline)
      throw new Error(`${d.name} on ${host.name} did not ${strategy.what} within ${timeoutMs} ms:\n${logTail(d.log)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function logTail(file: string, lines = 8): string {
  try {
    return readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .slice(-lines)
      .map((l) => "    " + l)
      .join("\n");
  } catch {
    return "    (no log)";
  }
}
