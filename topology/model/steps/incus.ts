import { IncusArgsError, parseIncus } from "../commands/incus.ts";
import { LIMITS, readBounded, referencedFile } from "../limits.ts";
import type { Path } from "../problem-list.ts";
import { nodeRef, type RefContext } from "../refs.ts";
import { IncusStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";

/** `incus:` the arguments of an incus command, `on:` an Incus cluster member. */
export function incusStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(IncusStep, item, sat, ctx.problems);
  if (!s) return undefined;
  nodeRef(s.on, [...sat, "on"], ctx);
  if (ctx.nodeNames.has(s.on) && !ctx.members.has(s.on)) {
    ctx.problems.add(
      [...sat, "on"],
      `${s.on} is not an Incus cluster member`,
      `type incus commands on a node with \`software: [ovn-host, incus]\` (members: ${[...ctx.members].join(", ") || "none"})`,
    );
  }
  try {
    const command = parseIncus(s.incus);
    // A step that should fail may name a member that does not exist: the user wants Incus's own answer.
    for (const m of s.should === "fail" ? [] : command.targets) {
      if (!ctx.members.has(m))
        ctx.problems.add(
          [...sat, "incus"],
          `--target ${m} is not an Incus cluster member`,
          `use one of: ${[...ctx.members].join(", ") || "(no node has software: [incus])"}`,
        );
    }
    let stdin: string | undefined;
    if (command.stdinFile !== undefined) {
      // The rules of a `globals:` file: beside the lab file, inside its directory, bounded; its text is never printed.
      const ref = referencedFile(command.stdinFile, ctx.file);
      if ("error" in ref) {
        ctx.problems.add([...sat, "incus"], `< ${command.stdinFile}: ${ref.error}`, ref.hint.replace("kolla-globals.yml", "acl.yaml"));
        return undefined;
      }
      try {
        stdin = readBounded(ref.path, LIMITS.referencedBytes);
      } catch (e) {
        ctx.problems.add(
          [...sat, "incus"],
          `< ${command.stdinFile}: ${(e as Error).message.split("\n")[0]}`,
          "give a text file of at most 256 KiB beside the lab file",
        );
        return undefined;
      }
    }
    return {
      kind: "incus",
      name: s.name,
      on: s.on,
      line: s.incus,
      command,
      ...(stdin !== undefined ? { stdin } : {}),
      should: s.should,
      output: s.output,
      origin,
    };
  } catch (e) {
    if (!(e instanceof IncusArgsError)) throw e;
    ctx.problems.add(
      [...sat, "incus"],
      `incus ${s.incus}: ${e.message}`,
      "write the arguments of the incus command as you would type them after `incus` (see docs/lab-files.md, incus steps)",
    );
    return undefined;
  }
}
