import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Daemon, Host } from "../../../backends/host.ts";
import type { CommandResult } from "../../../run/exec.ts";
import { pathExists } from "../../../wait/path.ts";
import { waitFor } from "../../../wait/wait.ts";

const SERVER = join(dirname(fileURLToPath(import.meta.url)), "openstack-forkserver.py");
/** The interpreter of Debian's /usr/bin/openstack (its shebang). */
const PYTHON = "/usr/bin/python3";

/**
 * The real `openstack` client of a kolla node, without its start-up cost per command: a process in
 * the node (openstack-forkserver.py) imports the client once and runs each command in a fork of
 * itself through the client's own entry point, `openstackclient.shell.main(argv)`, in the node's
 * environment — what /usr/bin/openstack runs, minus 1.5 s of imports. Exit code, standard output
 * and standard error are the command's (the kolla suite compares them with the plain client's).
 * Started on first use (or ahead of it with `start()`), ended with the run.
 */
export class OpenstackClient {
  private ready: Promise<void> | null = null;

  constructor(
    /** The node as commands typed in it see it (its environment: the client's cloud). */
    private readonly view: Host,
    /** The node's directory on this machine (the socket and the server's log go there). */
    private readonly dir: string,
    private readonly record: (d: Daemon) => void,
  ) {}

  private get socket(): string {
    return join(this.dir, "openstack-client.sock");
  }

  /** Starts the server (once); resolves when it answers. */
  start(): Promise<void> {
    this.ready ??= (async () => {
      const d = this.view.spawn("openstack-client", [PYTHON, SERVER, this.socket], { log: join(this.dir, "openstack-client.log") });
      this.record(d);
      await waitFor(this.view, d, pathExists(this.socket), 60_000);
    })();
    return this.ready;
  }

  /** `openstack <argv>` as typed in the node. */
  async run(argv: readonly string[], timeoutS = 300): Promise<CommandResult> {
    const t0 = performance.now();
    await this.start();
    const full = ["openstack", ...argv];
    return new Promise((resolve, reject) => {
      const c = createConnection(this.socket);
      let data = "";
      const timer = setTimeout(() => {
        c.destroy(); // the server kills the command when its connection closes
        resolve({
          argv: full,
          exitCode: null,
          signal: "SIGKILL",
          stdout: "",
          stderr: "",
          timedOut: true,
          timeoutS,
          durationMs: performance.now() - t0,
        });
      }, timeoutS * 1000);
      c.setEncoding("utf8");
      c.on("connect", () => c.write(JSON.stringify({ argv }) + "\n"));
      c.on("data", (chunk: string) => (data += chunk));
      c.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`the openstack client server of ${this.view.name} (${this.socket}): ${e.message}`));
      });
      c.on("end", () => {
        clearTimeout(timer);
        try {
          const a = JSON.parse(data) as { exitCode: number | null; signal: number | null; stdout: string; stderr: string };
          resolve({
            argv: full,
            exitCode: a.exitCode,
            signal: a.signal === null ? null : `signal ${a.signal}`,
            stdout: a.stdout,
            stderr: a.stderr,
            timedOut: false,
            durationMs: performance.now() - t0,
          });
        } catch {
          reject(
            new Error(
              `the openstack client server of ${this.view.name} ended without an answer (its log: ${join(this.dir, "openstack-client.log")})`,
            ),
          );
        }
      });
    });
  }
}
