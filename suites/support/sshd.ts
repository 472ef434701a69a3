import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { stringify } from "yaml";
import type { StartedLab } from "../../topology/lab.ts";
import type { Daemon } from "../../topology/backends/host.ts";
import { listening } from "../../topology/wait/listening.ts";
import { waitFor } from "../../topology/wait/wait.ts";
import { scratchDir } from "./scratch.ts";

const HELPER = fileURLToPath(new URL("../../topology/probes/net-helper.mjs", import.meta.url));

/** A client key pair for the suites (never a real one). */
export async function clientKey(): Promise<{ dir: string; key: string; pub: string }> {
  const dir = scratchDir("lw-ssh-");
  const key = join(dir, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "labwright-suite", "-f", key]);
  return { dir, key, pub: readFileSync(`${key}.pub`, "utf8") };
}

/**
 * Debian's sshd in a lab node (the node's own filesystem: a container), with a fresh host key, root
 * allowed by key only, and the suite's public key authorized. Returns its host key line for known_hosts.
 */
export async function startSshd(lab: StartedLab, node: string, pub: string): Promise<{ hostKey: string; daemon: Daemon }> {
  const h = lab.host(node);
  const sh = async (cmd: string) => {
    const r = await h.exec(["bash", "-c", cmd], { timeoutS: 30 });
    if (r.exitCode !== 0) throw new Error(`${node}: ${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  await sh(
    "mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh && { test -f /etc/ssh/lw_host || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/lw_host; }",
  );
  await h.writeFile("/root/.ssh/authorized_keys", pub);
  await h.writeFile(
    "/etc/ssh/lw_sshd_config",
    [
      "Port 22",
      "HostKey /etc/ssh/lw_host",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "PidFile none",
      "StrictModes no",
      "AuthorizedKeysFile /root/.ssh/authorized_keys",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  const daemon = h.spawn("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/lw_sshd_config"], {
    log: join(lab.record.dir, `sshd-${node}.log`),
  });
  lab.record.update((s) => s.processes.push({ ...daemon.ref, name: "sshd", node }));
  await waitFor(h, daemon, listening("tcp", 22));
  const [type, blob] = (await sh("cat /etc/ssh/lw_host.pub")).trim().split(/\s+/);
  return { hostKey: `${type} ${blob}`, daemon };
}

/** Ends a process and every process under it (this machine's /proc): an sshd and its sessions, as when a host goes down. */
export function killTree(pid: number): void {
  const children = (p: number): number[] =>
    readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const st = readFileSync(`/proc/${d}/stat`, "utf8");
          return Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]) === p;
        } catch {
          return false;
        }
      })
      .flatMap((d) => [Number(d), ...children(Number(d))]);
  for (const p of [pid, ...children(pid)]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** An inventory for `hosts` (node → address), connecting from inside each node's namespace through the probe helper. */
export function writeInventory(
  dir: string,
  lab: StartedLab,
  hosts: Record<string, { address: string; hostKey: string }>,
  key: string,
  extra: Record<string, unknown> = {},
): string {
  const known = join(dir, "known_hosts");
  writeFileSync(
    known,
    Object.values(hosts)
      .map((h) => `${h.address} ${h.hostKey}\n`)
      .join(""),
  );
  const inv = {
    known_hosts: known,
    hosts: Object.fromEntries(
      Object.entries(hosts).map(([n, h]) => [
        n,
        {
          address: h.address,
          user: "root",
          key,
          command_timeout: 30,
          proxy_command: ["ip", "netns", "exec", lab.host(n).netns!, process.execPath, HELPER, "pipe", "%h", "%p"],
          ...extra,
        },
      ]),
    ),
  };
  const file = join(dir, "hosts.yaml");
  writeFileSync(file, stringify(inv));
  return file;
}
