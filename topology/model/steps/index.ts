import { parseIncus } from "../commands/incus.ts";
import { parseOpenstack } from "../commands/openstack.ts";
import type { Path } from "../problem-list.ts";
import { pathString } from "../problems.ts";
import type { RefContext } from "../refs.ts";
import type { Step } from "../types.ts";
import { checkStep } from "./check.ts";
import type { StepHandler } from "./handler.ts";
import { incusStep } from "./incus.ts";
import { kollaStep } from "./kolla.ts";
import { openstackStep } from "./openstack.ts";
import { runStep } from "./run.ts";
import { bootStep, crashStep, faultStep, healStep, impairStep, partitionStep } from "./faults.ts";
import { watchStep } from "./watch.ts";

/**
 * The step kinds, by the key a step item holds. A step is of the first kind, in this order, whose
 * key it has (so `{ check, run }` is a check step and `run` then an unknown key of it).
 */
const KINDS = {
  check: checkStep,
  run: runStep,
  incus: incusStep,
  kolla: kollaStep,
  openstack: openstackStep,
  watch: watchStep,
  pull: faultStep("pull"),
  plug: faultStep("plug"),
  kill: faultStep("kill"),
  restart: faultStep("restart"),
  crash: crashStep,
  boot: bootStep,
  impair: impairStep,
  partition: partitionStep,
  heal: healStep,
} as const satisfies Record<
  Exclude<Step["kind"], "fault"> | "pull" | "plug" | "kill" | "restart" | "crash" | "boot" | "impair" | "partition" | "heal",
  StepHandler
>;

const KEYS = Object.keys(KINDS) as (keyof typeof KINDS)[];

export function steps(raw: unknown[], at: Path, ctx: RefContext): Step[] {
  const out: Step[] = [];
  raw.forEach((item, k) => {
    const sat: Path = [...at, k];
    const origin = { path: pathString(sat), line: ctx.problems.source.line(sat) };
    const kind = item && typeof item === "object" ? KEYS.find((key) => key in item) : undefined;
    if (kind === undefined) {
      ctx.problems.add(
        sat,
        "a step needs `run:` (a command, with `on:` a node), `incus:` (arguments of the incus command, with `on:` a cluster member), `kolla:` (deploy or precheck, on a kolla node), `openstack:` (arguments of the openstack command, on a kolla node), `check:` (a list of expectations), `watch:` (a probe kept running), or a fault: `pull:` / `plug:` (an interface's cable), `kill:` / `restart:` (a daemon), `crash:` / `boot:` (a node), `impair:` (loss, rate), `partition:` / `heal:`",
        "e.g. `- { on: pamonha1, run: ip link set enp3s0 up }`",
      );
      return;
    }
    const step = KINDS[kind](item as object, sat, ctx, origin);
    if (step) out.push(step);
  });
  return out;
}

/** Names that steps create and expectations may use like nodes: Incus instances, OpenStack servers and router namespaces. */
export function launched(raw: unknown[]): string[] {
  const out: string[] = [];
  for (const item of raw) {
    if (item && typeof item === "object" && typeof (item as { openstack?: unknown }).openstack === "string") {
      try {
        const c = parseOpenstack((item as { openstack: string }).openstack);
        if (c.server !== undefined) out.push(c.server);
        if (c.router !== undefined) out.push(`qrouter-${c.router}`);
      } catch {
        /* reported when the step itself is read */
      }
      continue;
    }
    if (!item || typeof item !== "object" || typeof (item as { incus?: unknown }).incus !== "string") continue;
    try {
      const c = parseIncus((item as { incus: string }).incus);
      if (c.creates) out.push(c.creates);
    } catch {
      /* reported when the step itself is read */
    }
  }
  return out;
}
