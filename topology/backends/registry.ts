import type { Backend } from "./backend.ts";
import { ContainerBackend } from "./containers/backend.ts";
import { NetnsBackend } from "./netns.ts";

export const BACKENDS = ["netns", "containers"] as const;

export class UnknownBackendError extends Error {}

/** A backend by name (`--backend`, `LABWRIGHT_BACKEND`). */
export function backendNamed(name: string): Backend {
  if (name === "netns" || name === "namespaces") return new NetnsBackend();
  if (name === "containers" || name === "docker") return new ContainerBackend();
  throw new UnknownBackendError(`unknown backend "${name}": use one of ${BACKENDS.join(", ")}`);
}

/** The backend from $LABWRIGHT_BACKEND, else network namespaces. */
export function defaultBackend(): Backend {
  return backendNamed(process.env.LABWRIGHT_BACKEND || "netns");
}
