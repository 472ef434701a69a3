import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Daemon, Enclave } from "../../../backends/host.ts";
import { isAlive } from "../../../run/process.ts";
import { span } from "../../../trace/timeline.ts";
import { listening } from "../../../wait/listening.ts";
import { logTail, waitFor } from "../../../wait/wait.ts";
import type { NodeFacts, OpenstackPaths } from "../kolla/config.ts";
import { GLANCE_PORT, NOVA_API_PORT, type NovaConfig, novaPaths, PLACEMENT_PORT } from "./config.ts";

/**
 * nova, placement and glance as kolla's plays start them with `enable_nova_fake`, as the real
 * Debian 12 daemons in the node's enclave: glance-api (glance play), placement under uwsgi
 * (placement play), then nova-conductor, nova-scheduler, nova-api and nova-compute with the fake
 * driver (the nova and nova-cell plays), and the nova-cell play's last tasks: wait for the compute
 * service, then `nova-manage cell_v2 discover_hosts --by-service`. Their databases come migrated
 * with the node's MariaDB (neutron/db.ts).
 */

export type NovaDaemon = "glance-api" | "placement-api" | "nova-conductor" | "nova-scheduler" | "nova-api" | "nova-compute";

/** Each Python daemon's console script, as python3-nova and python3-glance define them (Debian ships the scripts with the service packages). */
const ENTRY: Record<Exclude<NovaDaemon, "placement-api">, { module: string; conf: string }> = {
  "glance-api": { module: "glance.cmd.api", conf: "glance-api.conf" },
  "nova-conductor": { module: "nova.cmd.conductor", conf: "nova.conf" },
  "nova-scheduler": { module: "nova.cmd.scheduler", conf: "nova.conf" },
  "nova-api": { module: "nova.cmd.api", conf: "nova.conf" },
  "nova-compute": { module: "nova.cmd.compute", conf: "nova-compute.conf" },
};

/**
 * Debian's python3 (where python3-nova and python3-glance are; the packages' own scripts name it
 * too), running a console script's main() under its own name.
 */
export function consoleScript(name: string, module: string): string[] {
  return ["/usr/bin/python3", "-c", `import sys; sys.argv[0] = ${JSON.stringify(name)}; from ${module} import main; sys.exit(main())`];
}

/** The nova services that must be up (os-services) before hosts are discovered. */
const NOVA_SERVICES = ["nova-conductor", "nova-scheduler", "nova-compute"];

export class NovaServices {
  private readonly running = new Map<NovaDaemon, Daemon>();
  private readonly p: ReturnType<typeof novaPaths>;

  constructor(
    private readonly enclave: Enclave,
    private readonly paths: OpenstackPaths,
    private readonly facts: NodeFacts,
    private readonly record: (d: Daemon) => void,
  ) {
    this.p = novaPaths(paths);
  }

  /** Writes the rendered files (once per deploy; a daemon already running keeps what it read). */
  write(config: NovaConfig): void {
    for (const d of [this.p.etc, this.p.python, join(this.p.state, "tmp"), this.p.images]) mkdirSync(d, { recursive: true, mode: 0o700 });
    for (const [f, text] of Object.entries(config.files)) {
      mkdirSync(dirname(join(this.p.etc, f)), { recursive: true, mode: 0o700 });
      writeFileSync(join(this.p.etc, f), text, { mode: 0o600 });
    }
  }

  private env(): Record<string, string> {
    return { PYTHONPATH: this.p.python, OS_PLACEMENT_CONFIG_DIR: this.p.etc };
  }

  /** A daemon this started. */
  daemon(d: NovaDaemon): Daemon {
    const x = this.running.get(d);
    if (!x) throw new Error(`${d} was not started`);
    return x;
  }

  /** Starts a daemon unless it runs (the play's handler); readiness is awaited by `ready`. */
  start(d: NovaDaemon): void {
    if (this.running.has(d)) return;
    const argv =
      d === "placement-api"
        ? [
            "uwsgi",
            "--plugin",
            "python3",
            "--http-socket",
            `${this.facts.apiAddress}:${PLACEMENT_PORT}`,
            "--wsgi-file",
            "/usr/bin/placement-api",
            "--processes",
            "1",
            "--threads",
            "1",
            "--die-on-term",
            "--logto",
            join(this.paths.log, "placement-uwsgi.log"),
          ]
        : // oslo.log names a log after the program's file, which `python3 -c` does not have: each its own.
          [
            ...consoleScript(d, ENTRY[d].module),
            "--config-file",
            join(this.p.etc, ENTRY[d].conf),
            "--log-file",
            join(this.paths.log, `${d}.log`),
          ];
    const daemon = this.enclave.spawn(d, argv, { log: join(this.paths.log, `${d}.out`), env: this.env() });
    this.record(daemon);
    this.running.set(d, daemon);
  }

  /**
   * Every API answering on its port, nova's conductor, scheduler and compute reported up, then the
   * compute host mapped into its cell (kolla's wait_discover_computes.yml and discover_computes.yml).
   */
  async ready(timeoutMs = 180_000): Promise<string[]> {
    const t0 = performance.now();
    const deadline = Date.now() + timeoutMs;
    const lap = (what: string) => `${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const timings: string[] = [];
    const ports: [NovaDaemon, number][] = [
      ["glance-api", GLANCE_PORT],
      ["placement-api", PLACEMENT_PORT],
      ["nova-api", NOVA_API_PORT],
    ];
    for (const [d, port] of ports) {
      const daemon = this.running.get(d);
      if (!daemon) throw new Error(`${d} was not started`);
      await span(
        d,
        "daemon",
        () => waitFor(this.enclave, daemon, listening("tcp", port), Math.max(1000, deadline - Date.now())),
        this.enclave.name,
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${this.tails([d])}`);
      });
    }
    timings.push(lap("glance, placement and nova's API listening after"));
    await span("nova services up", "daemon", () => this.servicesUp(deadline), this.enclave.name);
    timings.push(lap("nova-conductor, nova-scheduler and nova-compute up after"));
    const r = await span(
      "nova-manage cell_v2 discover_hosts",
      "daemon",
      () =>
        this.enclave.exec(
          [
            ...consoleScript("nova-manage", "nova.cmd.manage"),
            "--config-file",
            join(this.p.etc, "nova.conf"),
            // oslo.log would name the file after python3 -c's program ("<string>.log").
            "--log-file",
            join(this.paths.log, "nova-manage.log"),
            "cell_v2",
            "discover_hosts",
            "--by-service",
          ],
          {
            timeoutS: 120,
            env: this.env(),
          },
        ),
      this.enclave.name,
    );
    if (r.exitCode !== 0) throw new Error(`nova-manage cell_v2 discover_hosts --by-service: ${(r.stderr || r.stdout).trim().slice(-600)}`);
    timings.push(lap("compute host mapped after"));
    return timings;
  }

  /** nova's own view of its services (GET /os-services), until each of conductor, scheduler and compute is up. */
  private async servicesUp(deadline: number): Promise<void> {
    let last = "";
    for (;;) {
      for (const [d, daemon] of this.running) {
        if (!isAlive(daemon.ref)) throw new Error(`${d} exited during start:\n${this.tails([d])}`);
      }
      const r = await this.enclave.exec(
        ["curl", "-sS", "--max-time", "10", "-H", "Accept: application/json", `http://${this.facts.vip}:${NOVA_API_PORT}/v2.1/os-services`],
        { timeoutS: 20 },
      );
      if (r.exitCode === 0) {
        try {
          const list = (JSON.parse(r.stdout) as { services: { binary: string; host: string; state: string }[] }).services;
          const waiting = NOVA_SERVICES.filter(
            (b) => !list.some((s) => s.binary === b && s.host === this.facts.hostname && s.state === "up"),
          );
          if (!waiting.length) return;
          last = `not up yet: ${waiting.join(", ")}`;
        } catch {
          last = r.stdout.slice(0, 200);
        }
      } else last = r.stderr.trim();
      if (Date.now() > deadline)
        throw new Error(`nova's services did not report up (${last}):\n${this.tails(NOVA_SERVICES as NovaDaemon[])}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** The last lines of each daemon's log and output. */
  tails(daemons: readonly NovaDaemon[]): string {
    return daemons
      .map(
        (d) =>
          `  ${d}.log:\n${logTail(join(this.paths.log, `${d === "placement-api" ? "placement-uwsgi" : d}.log`), 12)}\n  ${d} output:\n${logTail(join(this.paths.log, `${d}.out`), 4)}`,
      )
      .join("\n");
  }
}
