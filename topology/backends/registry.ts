import type { Backend } from "./backend.ts";
import { ContainerBackend } from "./containers/backend.ts";
import { NetnsBackend } from "./netns.ts";
import { SshBackend } from "./ssh/backend.ts";

export const BACKENDS = ["netns", "containers", "ssh"] as const;

export class UnknownBackendError extends Error {}

/** A backend by name (`--backend`, `LABWRIGHT_BACKEND`); `ssh` needs an inventory (`--inventory`, `LABWRIGHT_INVENTORY`). */
export function backendNamed(name: string, opts: { inventory?: string } = {}): Backend {
  if (name === "netns" || name === "namespaces") return new NetnsBackend();
  if (name === "containers" || name === "docker") return new ContainerBackend();
  if (name === "ssh") {
    const inv = opts.inventory ?? process.env.LABWRIGHT_INVENTORY;
    if (!inv) throw new UnknownBackendError("the ssh backend needs an inventory: --inventory hosts.yaml (see docs/real-hosts.md)");
    return new SshBackend(inv);
  }
  throw new UnknownBackendError(`unknown backend "${name}": use one of ${BACKENDS.join(", ")}`);
}

/** The backend from $LABWRIGHT_BACKEND, else network namespaces. */
export function defaultBackend(): Backend {
  return backendNamed(process.env.LABWRIGHT_BACKEND || "netns");
}
