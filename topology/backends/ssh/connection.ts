import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Duplex } from "node:stream";
import type { Client } from "ssh2";
import type { InventoryHost, Inventory } from "./inventory.ts";
import { verifyHostKey } from "./known-hosts.ts";

export class SshConnectError extends Error {}

/**
 * One SSH connection per inventory host, opened once and reused for every command (no per-command
 * handshake: ~2 ms per exec instead of ~80 ms). Host keys are checked against the inventory's
 * known_hosts file; an unknown or changed key is refused with its fingerprint.
 */
export class Connections {
  private readonly open = new Map<string, Promise<Client>>();
  /** Hosts whose connection dropped mid-run: not reconnected; every later command fails with the reason. */
  private readonly dropped = new Map<string, string>();
  private readonly children: { kill(): void }[] = [];

  constructor(private readonly inv: Inventory) {}

  get(name: string): Promise<Client> {
    const why = this.dropped.get(name);
    if (why) return Promise.reject(new SshConnectError(why));
    let c = this.open.get(name);
    if (!c) {
      c = this.connect(name);
      this.open.set(name, c);
      c.catch(() => this.open.delete(name));
    }
    return c;
  }

  private async connect(name: string): Promise<Client> {
    const h = this.inv.hosts.get(name);
    if (!h) throw new SshConnectError(`${name}: not in the inventory ${this.inv.file}`);
    const sock = await this.socket(h);
    // ssh2 loaded on first use: the CLI's other commands do not pay for its modules.
    const { default: ssh2 } = await import("ssh2");
    const conn = new ssh2.Client();
    let refused: string | undefined;
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      conn
        .on("ready", () => {
          ready = true;
          conn.setNoDelay(true);
          resolve(conn);
        })
        .on("error", (e: Error) => reject(new SshConnectError(`${name} (${h.user}@${h.address}:${h.port}): ${refused ?? e.message}`)))
        .on("close", () => {
          this.open.delete(name);
          if (ready && !this.ending.has(conn)) this.dropped.set(name, `${name} (${h.address}): the SSH connection dropped mid-run`);
        });
      try {
        conn.connect({
          host: h.address,
          port: h.port,
          username: h.user,
          ...(sock ? { sock } : {}),
          ...(h.key ? { privateKey: readFileSync(h.key) } : { agent: process.env.SSH_AUTH_SOCK }),
          readyTimeout: 15_000,
          keepaliveInterval: 5_000,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer) => {
            const v = verifyHostKey(this.inv.knownHosts, name, h.address, h.port, key);
            if (!v.ok) refused = v.why;
            return v.ok;
          },
        });
      } catch (e) {
        reject(new SshConnectError(`${name}: ${(e as Error).message}`));
      }
    });
  }

  /** The stream to connect over: a jump host's forwarded channel, a proxy command's stdio, or none (TCP). */
  private async socket(h: InventoryHost): Promise<Duplex | undefined> {
    if (h.jump) {
      const via = await this.get(h.jump);
      return new Promise((resolve, reject) =>
        via.forwardOut("127.0.0.1", 0, h.address, h.port, (err, stream) =>
          err ? reject(new SshConnectError(`${h.name}: through ${h.jump}: ${err.message}`)) : resolve(stream),
        ),
      );
    }
    if (h.proxy_command) {
      const argv = h.proxy_command.map((a) => a.replaceAll("%h", h.address).replaceAll("%p", String(h.port)));
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "ignore"] });
      this.children.push(child);
      return Duplex.from({ readable: child.stdout, writable: child.stdin });
    }
    return undefined;
  }

  /** Connections closed on purpose (closeAll): their close is not a drop. */
  private readonly ending = new WeakSet<Client>();

  async closeAll(): Promise<void> {
    for (const c of this.open.values())
      c.then((x) => {
        this.ending.add(x);
        x.end();
      }).catch(() => undefined);
    this.open.clear();
    for (const ch of this.children) ch.kill();
  }
}
