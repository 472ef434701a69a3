import { OpenstackArgsError, parseOpenstack } from "../commands/openstack.ts";
import type { Path } from "../problem-list.ts";
import { kollaTargetRef, type RefContext } from "../refs.ts";
import { OpenstackStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";

/** `openstack:` the arguments of an openstack command, `on:` a kolla node. */
export function openstackStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(OpenstackStep, item, sat, ctx.problems);
  if (!s) return undefined;
  kollaTargetRef(s.on, [...sat, "on"], ctx, "type openstack commands on a node with `software: [kolla]`");
  try {
    return {
      kind: "openstack",
      name: s.name,
      on: s.on,
      line: s.openstack,
      command: parseOpenstack(s.openstack),
      should: s.should,
      output: s.output,
      origin,
    };
  } catch (e) {
    if (!(e instanceof OpenstackArgsError)) throw e;
    ctx.problems.add(
      [...sat, "openstack"],
      `openstack ${s.openstack}: ${e.message}`,
      "write the arguments of the openstack command as you would type them after `openstack` (see docs/lab-files.md, openstack steps)",
    );
    return undefined;
  }
}
