import { isIPv4, NETWORK_REF } from "./addresses.ts";
import { HOSTNAME, IFNAME, IFNAME_HINT } from "./names.ts";
import type { Path } from "./problem-list.ts";
import { pathString } from "./problems.ts";
import { nodeRef, type RefContext, targetRef } from "./refs.ts";
import { type Expectation, ExpectationKinds } from "./schema.ts";
import { shape } from "./shape.ts";
import type { Located } from "./types.ts";

export function expectations(raw: unknown[], at: Path, ctx: RefContext): Located<Expectation>[] {
  const out: Located<Expectation>[] = [];
  raw.forEach((item, k) => {
    const e = expectation(item, [...at, k], ctx);
    if (e) out.push(e);
  });
  return out;
}

/** One item of an expectation list: a map with exactly one kind. Problems are reported; undefined when its shape is wrong. */
function expectation(item: unknown, eat: Path, ctx: RefContext): Located<Expectation> | undefined {
  const kinds = Object.keys(ExpectationKinds);
  const keys = item && typeof item === "object" && !Array.isArray(item) ? Object.keys(item) : [];
  const kind = keys[0];
  if (keys.length !== 1 || kind === undefined || !(kind in ExpectationKinds)) {
    ctx.problems.add(
      eat,
      keys.length === 1 ? `unknown expectation "${kind}"` : "an expectation is a map with exactly one kind",
      `use one of: ${kinds.join(", ")}`,
    );
    return undefined;
  }
  const schema = ExpectationKinds[kind as keyof typeof ExpectationKinds];
  const body = shape(schema, (item as Record<string, unknown>)[kind], [...eat, kind], ctx.problems);
  if (!body) return undefined;
  const e = { kind, ...body, origin: { path: pathString(eat), line: ctx.problems.source.line(eat) } } as Located<Expectation>;
  references(e, [...eat, kind], ctx);
  return e;
}

/** The nodes, interfaces, addresses and names an expectation refers to (`bat`: the path of its body). */
function references(e: Located<Expectation>, bat: Path, ctx: RefContext): void {
  if ("from" in e) nodeRef(e.from, [...bat, "from"], ctx);
  if ("to" in e) targetRef(e.to, [...bat, "to"], ctx);
  if (e.kind === "link") {
    nodeRef(e.node, [...bat, "node"], ctx);
    if (e.dev.length > 15) ctx.problems.add([...bat, "dev"], `interface name "${e.dev}" is over 15 characters`, "Linux allows at most 15");
    const m = e.address ? /^([\d.]+)\/(\d{1,2})$/.exec(e.address) : null;
    if (e.address && (!m || !isIPv4(m[1]!) || Number(m[2]) > 32)) {
      ctx.problems.add([...bat, "address"], `"${e.address}" is not an address with prefix`, "write it like 10.10.35.1/24");
    }
  }
  if ("on" in e) nodeRef(e.on, [...bat, "on"], ctx);
  if (e.kind === "resolve" && !HOSTNAME.test(e.name))
    ctx.problems.add([...bat, "name"], `"${e.name}" is not a DNS name`, "write a host name like google.com");
  if (e.kind === "link" && e.dev.length <= 15 && !IFNAME.test(e.dev))
    ctx.problems.add([...bat, "dev"], `"${e.dev}" is not an interface name`, IFNAME_HINT);
  if ((e.kind === "reach" || e.kind === "no_reach") && e.dev !== undefined) {
    const n = ctx.nodes.get(e.from);
    if (n && !n.interfaces.some((i) => i.name === e.dev))
      ctx.problems.add(
        [...bat, "dev"],
        `${e.from} has no interface "${e.dev}"`,
        `use one of: ${n.interfaces.map((i) => i.name).join(", ")}`,
      );
  }
  if (e.kind === "reach" && e.source !== undefined && !isIPv4(e.source) && !NETWORK_REF.test(e.source))
    ctx.problems.add(
      [...bat, "source"],
      `"${e.source}" is not an IPv4 address or a reference (<server>:floating)`,
      "write the source address the destination should see",
    );
  if (e.kind === "trace") {
    e.hops.forEach((h, i) => {
      if (h !== "*" && !isIPv4(h) && !NETWORK_REF.test(h))
        ctx.problems.add(
          [...bat, "hops", i],
          `"${h}" is not an IPv4 address, a reference (<network>:gateway, <server>:floating) or "*"`,
          "list hop addresses, or * for a silent hop",
        );
    });
  }
}
