import { z } from "zod";
import {
  CheckStep,
  BootStep,
  CrashStep,
  HealStep,
  ImpairStep,
  PartitionStep,
  ExpectationKinds,
  IncusStep,
  KillStep,
  RestartStep,
  KollaStep,
  LabDoc,
  OpenstackStep,
  PlugStep,
  PullStep,
  RunStep,
  Scenario,
  WatchStep,
} from "./schema.ts";

/**
 * The lab file format as a JSON Schema, for editors (yaml-language-server reads the
 * `# yaml-language-server: $schema=...` comment at the top of a lab file). Generated from the same
 * zod schema that validates lab files, with steps and expectations spelled out (the loader checks
 * those one by one, to report each problem at its own line).
 */
export function labJsonSchema(): Record<string, unknown> {
  const kinds = Object.entries(ExpectationKinds) as [string, z.ZodType][];
  const expectation = z.union(kinds.map(([k, s]) => z.strictObject({ [k]: s })) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
  const step = z.union([
    RunStep,
    IncusStep,
    KollaStep,
    OpenstackStep,
    WatchStep,
    PullStep,
    PlugStep,
    KillStep,
    RestartStep,
    CrashStep,
    BootStep,
    ImpairStep,
    PartitionStep,
    HealStep,
    CheckStep.extend({ check: z.array(expectation).min(1) }),
  ]);
  const doc = LabDoc.extend({
    steps: z.array(step).optional(),
    expect: z.array(expectation).optional(),
    scenarios: z.array(Scenario.extend({ steps: z.array(step).optional(), expect: z.array(expectation).optional() })).optional(),
  });
  return {
    ...z.toJSONSchema(doc, { io: "input", unrepresentable: "any" }),
    title: "labwright lab file",
    description: "A labwright lab: LANs, nodes, steps, expectations and scenarios. See docs/lab-files.md.",
  };
}
