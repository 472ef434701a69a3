import { homedir } from "node:os";
import { dirname, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";
import { NAME } from "../../model/names.ts";

/**
 * The inventory: which real machine each lab node is. Credentials are never in it: a key file path
 * or the SSH agent. Known host keys come from a known_hosts file (default ~/.ssh/known_hosts).
 */
const HostEntry = z.strictObject({
  address: z.string().min(1),
  port: z.int().min(1).max(65535).default(22),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/)
    .default("root"),
  /** A private key file (relative to the inventory); else the SSH agent ($SSH_AUTH_SOCK). */
  key: z.string().optional(),
  /** Another inventory entry to hop through (OpenSSH's ProxyJump). */
  jump: z.string().optional(),
  /** A local command whose stdin/stdout is the connection (OpenSSH's ProxyCommand), as argv; %h and %p are the address and port. */
  proxy_command: z.array(z.string()).min(1).optional(),
  /** Seconds a command may run before it is killed (default 60). */
  command_timeout: z.number().positive().max(3600).default(60),
});

const InventoryDoc = z.strictObject({
  known_hosts: z.string().optional(),
  hosts: z.record(z.string().regex(NAME), HostEntry),
});

export type InventoryHost = z.output<typeof HostEntry> & { name: string };

export interface Inventory {
  file: string;
  knownHosts: string;
  hosts: Map<string, InventoryHost>;
}

export class InventoryError extends Error {}

export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InventoryError(`${file}: cannot read the inventory: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) throw new InventoryError(`${file}: YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
  const r = InventoryDoc.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!r.success) {
    throw new InventoryError(
      `${file}: ${r.error.issues.map((i) => `${i.path.join(".") || "(document)"}: ${i.message}`).join("; ")} (see docs/real-hosts.md)`,
    );
  }
  const base = dirname(resolve(file));
  const hosts = new Map<string, InventoryHost>();
  for (const [name, h] of Object.entries(r.data.hosts)) {
    if (h.jump !== undefined && !(h.jump in r.data.hosts))
      throw new InventoryError(`${file}: hosts.${name}.jump: no host "${h.jump}" in the inventory`);
    hosts.set(name, { ...h, name, key: h.key === undefined ? undefined : resolve(base, h.key.replace(/^~(?=\/)/, homedir())) });
  }
  const known = r.data.known_hosts ?? "~/.ssh/known_hosts";
  return { file, knownHosts: resolve(base, known.replace(/^~(?=\/)/, homedir())), hosts };
}
