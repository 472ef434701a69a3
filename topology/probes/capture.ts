import { spawn } from "node:child_process";

export interface Capture {
  /** Stops the capture and returns the source addresses of the captured packets, in order. */
  stop(): Promise<string[]>;
}

/**
 * Starts tcpdump inside a namespace (argv prefix such as `ip netns exec <ns>`) and resolves once it
 * is listening. Used to observe which source address a destination really sees (NAT checks).
 */
export async function startCapture(prefix: string[], filter: string, timeoutMs = 5000): Promise<Capture> {
  const [cmd, ...args] = [...prefix, "tcpdump", "-n", "-l", "--immediate-mode", "-i", "any", filter];
  const child = spawn(cmd!, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  const exited = new Promise<void>((r) => child.on("close", () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err.trim()}`)), timeoutMs);
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      err += c;
      if (err.includes("listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("close", () => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited: ${err.trim()}`));
    });
  });
  return {
    async stop() {
      // Give packets in flight a moment to be printed, then end the capture's whole process group.
      await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
      await exited;
      return out
        .split("\n")
        .map((l) => /\bIP (\d+\.\d+\.\d+\.\d+)(?:\.\d+)? > /.exec(l)?.[1])
        .filter((s): s is string => !!s);
    },
  };
}
