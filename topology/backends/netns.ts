import { must } from "../run/exec.ts";
import type { RunRecord } from "../run/state.ts";
import { namespaceExists } from "../run/teardown.ts";
import { batchLine } from "../run/tokens.ts";
import type { Backend } from "./backend.ts";

/** The default backend: every node is a plain network namespace. */
export class NetnsBackend implements Backend {
  readonly name = "netns";

  async createNamespaces(rec: RunRecord, names: readonly string[]): Promise<void> {
    const taken = names.filter(namespaceExists);
    if (taken.length) throw new Error(`namespace(s) ${taken.join(", ")} already exist and are not this run's: refusing to touch them`);
    rec.update((s) => s.namespaces.push(...names));
    await must(["ip", "-batch", "-"], { input: names.map((n) => batchLine("netns", "add", n)).join(""), timeoutS: 60, context: "creating namespaces" });
  }
}
