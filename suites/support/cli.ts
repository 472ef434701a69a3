import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../scripts/labwright.mjs", import.meta.url));
export const INCUS_LAB = fileURLToPath(new URL("../../topology/labs/incus-ovn.yaml", import.meta.url));
export const KOLLA_LAB = fileURLToPath(new URL("../../topology/labs/kolla-openstack.yaml", import.meta.url));

/** Runs the labwright CLI as a user would, returning its exit code and output. */
export function labwright(args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    input: opts.input,
    timeout: 300_000,
  });
}
