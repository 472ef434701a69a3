import { expectations } from "./expectations.ts";
import type { Path, Problems } from "./problem-list.ts";
import type { RefContext } from "./refs.ts";
import type { Expectation, LabDocT } from "./schema.ts";
import type { Broken } from "./shape.ts";
import { isIncusMember, isKollaNode } from "./software.ts";
import { launched, steps } from "./steps/index.ts";
import { lanSpecs, nodeChecks, nodeSpecs } from "./topology.ts";
import type { Lab, Located, ScenarioSpec, Step } from "./types.ts";

// ---------------------------------------------------------------- semantic checks

/** The checks past the shape: LANs, nodes and their references, then steps, expectations and scenarios. */
export function semantic(
  doc: LabDocT,
  problems: Problems,
  file: string,
  broken: Broken = { lans: new Set(), nodes: new Set(), absent: new Set() },
): Lab {
  // LANs
  const { lans, ranges } = lanSpecs(doc, problems, broken);

  // Nodes and their interfaces
  const { nodeNames, nodes } = nodeSpecs(doc, problems, broken, ranges);

  // Per-node references: routes, NAT, DNS, resolver, services
  for (const node of nodes) nodeChecks(node, problems, ranges);

  // Steps, expectations, scenarios
  const members = new Set(nodes.filter(isIncusMember).map((n) => n.name));
  const kolla = new Set(nodes.filter(isKollaNode).map((n) => n.name));
  const ctx: RefContext = {
    nodeNames,
    problems,
    members,
    instances: new Set(launched(doc.steps)),
    kolla,
    nodes: new Map(nodes.map((n) => [n.name, n])),
    file,
  };
  const prologue = steps(doc.steps, ["steps"], ctx);
  const epilogue = expectations(doc.expect, ["expect"], ctx);
  const scenarios = scenarioSpecs(doc, ctx, prologue, epilogue);

  return { name: doc.name, description: doc.description, file, logs: doc.logs, toolchain: doc.toolchain, lans, nodes, scenarios };
}

/** The scenarios, each with the top-level steps before its own and the top-level expectations after its own. */
function scenarioSpecs(doc: LabDocT, ctx: RefContext, prologue: Step[], epilogue: Located<Expectation>[]): ScenarioSpec[] {
  const { problems } = ctx;
  if (doc.scenarios === undefined) {
    return [{ name: "default", steps: prologue, expect: epilogue, logAllow: [], software: "used" }];
  }
  if (doc.scenarios.length === 0) problems.add(["scenarios"], "`scenarios` is empty", "add a scenario or remove the key");
  const seen = new Set<string>();
  /** Each scenario's own steps (without the lab's common ones), for `continues:`. */
  const own = new Map<string, { raw: unknown[]; steps: Step[] }>();
  return doc.scenarios.map((s, k) => {
    if (seen.has(s.name)) problems.add(["scenarios", k, "name"], `duplicate scenario name "${s.name}"`, "give every scenario its own name");
    seen.add(s.name);
    const base = s.continues === undefined ? undefined : own.get(s.continues);
    if (s.continues !== undefined && !base)
      problems.add(
        ["scenarios", k, "continues"],
        `no scenario before ${s.name} is named "${s.continues}"`,
        `continue one of the scenarios above it: ${[...own.keys()].join(", ") || "(none)"}`,
      );
    ctx.instances = new Set([...launched(doc.steps), ...launched(base?.raw ?? []), ...launched(s.steps)]);
    const mine = [...(base?.steps ?? []), ...steps(s.steps, ["scenarios", k, "steps"], ctx)];
    own.set(s.name, { raw: [...(base?.raw ?? []), ...s.steps], steps: mine });
    const spec: ScenarioSpec = {
      name: s.name,
      description: s.description,
      steps: [...prologue, ...mine],
      expect: [...expectations(s.expect, ["scenarios", k, "expect"], ctx), ...epilogue],
      logAllow: logAllow(s.log_allow, k, problems),
      software: s.software,
    };
    watchRefs(spec, ["scenarios", k], problems);
    bootsFollowCrashes(spec, ["scenarios", k], problems);
    return spec;
  });
}

const WATCH_KINDS = new Set(["outage", "no_loss", "lost", "recovers"]);

/** A `boot:` brings back a node an earlier step of the scenario crashed (and no boot since). */
function bootsFollowCrashes(sc: ScenarioSpec, at: Path, problems: Problems): void {
  const down = new Set<string>();
  for (const st of sc.steps) {
    if (st.kind !== "fault") continue;
    if (st.action === "crash") down.add(st.target);
    if (st.action !== "boot") continue;
    if (!down.delete(st.target))
      problems.add(
        [...at, "steps"],
        `boot: ${st.target} (line ${st.origin.line ?? "?"}) follows no crash of ${st.target} in scenario ${sc.name}`,
        `a boot brings back a crashed node: put a step \`- { crash: ${st.target} }\` before it`,
      );
  }
}

/**
 * A scenario's watches: each started once by a `watch:` step; the expectations on them name a
 * watch of the scenario (and `recovers.after`, one of its named steps); they are judged in
 * `expect:`, after the steps — a `check:` step in between would end the watch.
 */
function watchRefs(sc: ScenarioSpec, at: Path, problems: Problems): void {
  const watches = new Set<string>();
  const named = new Set<string>();
  for (const st of sc.steps) {
    if (st.name) named.add(st.name);
    if (st.kind === "watch") {
      if (watches.has(st.watch))
        problems.add([...at, "steps"], `watch "${st.watch}" is started twice in scenario ${sc.name}`, "give each watch its own name");
      watches.add(st.watch);
    }
    if (st.kind === "check")
      for (const e of st.checks)
        if (WATCH_KINDS.has(e.kind))
          problems.add(
            [...at, "steps"],
            `${e.kind} (line ${e.origin.line ?? "?"}) judges a watch in a check step, which would end the watch there`,
            "judge watches in the scenario's `expect:`, after its steps",
          );
  }
  for (const e of sc.expect) {
    if (e.kind !== "outage" && e.kind !== "no_loss" && e.kind !== "lost" && e.kind !== "recovers") continue;
    const where = `${e.kind} (${e.origin.path}${e.origin.line ? `, line ${e.origin.line}` : ""})`;
    if (!watches.has(e.watch))
      problems.add(
        [...at, "expect"],
        `${where} names watch "${e.watch}", which no step of scenario ${sc.name} starts`,
        watches.size ? `use one of: ${[...watches].join(", ")}` : "start it with a step `- { watch: <name>, on: <node>, ping: <target> }`",
      );
    if (e.kind === "recovers" && !named.has(e.after))
      problems.add(
        [...at, "expect"],
        `${where}: no step of scenario ${sc.name} is named "${e.after}"`,
        named.size ? `use a step's name: ${[...named].slice(0, 10).join(", ")}` : "give the fault step a `name:`",
      );
  }
}

/** A scenario's `log_allow` patterns, compiled (a pattern that is too long or not valid is reported and left out). */
function logAllow(allow: NonNullable<LabDocT["scenarios"]>[number]["log_allow"], k: number, problems: Problems): ScenarioSpec["logAllow"] {
  return allow.flatMap((a, i) => {
    if (a.match.length > 200) {
      problems.add(
        ["scenarios", k, "log_allow", i, "match"],
        "a log pattern is at most 200 characters",
        "match a distinctive part of the line",
      );
      return [];
    }
    try {
      return [{ match: new RegExp(a.match), why: a.why }];
    } catch (e) {
      problems.add(
        ["scenarios", k, "log_allow", i, "match"],
        `not a valid regular expression: ${(e as Error).message}`,
        "fix the pattern (JavaScript syntax)",
      );
      return [];
    }
  });
}
