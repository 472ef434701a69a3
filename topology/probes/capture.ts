import { readFileSync } from "node:fs";
import type { Host } from "../backends/host.ts";
import { isAlive } from "../run/process.ts";

export interface Capture {
  /** Stops the capture and returns the source addresses of the captured packets, in order. */
  stop(): Promise<string[]>;
}

/**
 * Starts tcpdump in a node and resolves once it is listening. Used to observe which source address a
 * destination really sees (NAT checks). `log` is a file on this machine that receives its output.
 */
export async function startCapture(host: Host, filter: string, log: string, timeoutMs = 5000): Promise<Capture> {
  const d = host.spawn("tcpdump", ["tcpdump", "-n", "-l", "--immediate-mode", "-i", "any", "--", filter], { log });
  const read = () => {
    try {
      return readFileSync(log, "utf8");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (!read().includes("listening on")) {
    if (!isAlive(d.ref)) throw new Error(`tcpdump exited: ${read().trim()}`);
    if (Date.now() > deadline) {
      host.signal(d, "SIGKILL");
      throw new Error(`tcpdump did not start within ${timeoutMs} ms: ${read().trim()}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 50));
      host.signal(d, "SIGTERM");
      const end = Date.now() + 2000;
      while (isAlive(d.ref) && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
      return read()
        .split("\n")
        .map((l) => /\bIP (\d+\.\d+\.\d+\.\d+)(?:\.\d+)? > /.exec(l)?.[1])
        .filter((s): s is string => !!s);
    },
  };
}
