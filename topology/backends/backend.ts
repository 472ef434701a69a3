import type { RunRecord } from "../run/state.ts";

/**
 * What differs between backends: how a node's isolated network stack comes to exist and goes away.
 * Every backend hands the fabric named network namespaces (`ip -n <ns>` works on them), so wiring,
 * probes and expectations are the same code everywhere.
 */
export interface Backend {
  readonly name: string;
  /** Creates one namespace per name. Each name is recorded in the run state before it is created. */
  createNamespaces(rec: RunRecord, names: readonly string[]): Promise<void>;
}
