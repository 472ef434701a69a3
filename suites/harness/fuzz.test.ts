import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { natRuleset } from "../../topology/fabric/nat.ts";
import { fabricBatch, nodeBatch, vethBatch } from "../../topology/fabric/wiring.ts";
import { parseLab } from "../../topology/model/load.ts";
import { HOSTNAME, IFNAME, isNetnsSysctl, NAME, OBJECT_NAME, TOKEN } from "../../topology/model/names.ts";
import { LabFileError } from "../../topology/model/problems.ts";
import type { Lab } from "../../topology/model/types.ts";
import { namespaceName } from "../../topology/run/state.ts";

/**
 * Property: any lab file is either refused with a LabFileError (never another exception), or every
 * name in it is a token of its grammar and the lab builds only clean `ip -batch` / nft text. The
 * strings mix good names with the hostile shapes that broke earlier versions.
 */
const hostile = fc.constantFrom(
  "a\nb",
  "x;y",
  "$(id)",
  "`id`",
  "-rf",
  "--load",
  "a b",
  "../x",
  "\u001b[2J",
  "'q'",
  '"d"',
  "#c",
  "a\u0000b",
  "é",
  "x".repeat(40),
  "",
);
/** A field: usually its good value, sometimes a hostile shape or an arbitrary string. */
const field = (ok: string) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.constant(ok) },
    { weight: 1, arbitrary: hostile },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );

const labDoc = fc.record({
  name: field("lab"),
  lan: field("mgmt"),
  node: field("a"),
  ifname: field("eth0"),
  sysctl: field("net.ipv4.ip_forward"),
  sysval: field("1"),
  dnsName: field("google.com"),
  bridge: field("br0"),
  instance: field("c1"),
  router: field("r1"),
  resolveName: field("google.com"),
  target: field("10.9.0.1"),
  routeDev: field("eth9"),
});

type Doc = typeof labDoc extends fc.Arbitrary<infer T> ? T : never;

function toYaml(d: Doc): string {
  return stringify({
    name: d.name,
    lans: { [d.lan]: { cidr: "10.9.0.0/24" }, up: { cidr: "10.10.0.0/24" } },
    nodes: {
      [d.node]: {
        interfaces: { [d.ifname]: { lan: d.lan, address: "10.9.0.1" }, eth9: { lan: "up", address: "10.10.0.1" } },
        sysctls: { [d.sysctl]: d.sysval },
        routes: [{ to: "10.20.0.0/24", via: "10.9.0.2", dev: d.routeDev }],
        nat: [{ type: "masquerade", out: d.ifname }],
        dns: { records: { [d.dnsName]: "10.9.0.1" } },
      },
      sw: {
        software: ["openvswitch"],
        interfaces: { eth0: { lan: d.lan, address: "10.9.0.2" } },
        bridges: { [d.bridge]: { ports: { eth0: {} } } },
      },
      m: { software: ["ovn-host", "incus"], interfaces: { eth0: { lan: "up", address: "10.10.0.2" } } },
      k: { software: ["kolla"], interfaces: { eth0: { lan: "up", address: "10.10.0.3" } } },
    },
    steps: [
      { on: "m", incus: `launch images:debian/12 '${d.instance}' --network n1` },
      { on: "k", openstack: `router create '${d.router}'` },
    ],
    expect: [{ resolve: { on: d.node, name: d.resolveName } }, { reach: { from: d.node, to: d.target } }],
  });
}

function checkAccepted(lab: Lab): void {
  expect(lab.name).toMatch(NAME);
  for (const l of lab.lans) expect(l.name).toMatch(NAME);
  for (const n of lab.nodes) {
    expect(n.name).toMatch(NAME);
    expect(namespaceName("abcdef", n.name)).toMatch(/^lw-abcdef-[a-z0-9-]+$/);
    for (const i of n.interfaces) expect(i.name).toMatch(IFNAME);
    for (const k of Object.keys(n.sysctls)) expect(isNetnsSysctl(k)).toBe(true);
    for (const b of Object.keys(n.bridges)) expect(b).toMatch(IFNAME);
    for (const name of Object.keys(n.dns?.records ?? {})) expect(name).toMatch(HOSTNAME);
    for (const line of nodeBatch(n).trimEnd().split("\n")) for (const w of line.split(" ")) expect(w).toMatch(TOKEN);
    natRuleset(n.nat); // throws on a non-token
  }
  for (const text of [vethBatch(lab, (n) => namespaceName("abcdef", n), "lw-abcdef"), fabricBatch(lab)]) {
    for (const line of text.trimEnd().split("\n")) for (const w of line.split(" ")) expect(w).toMatch(TOKEN);
  }
  for (const sc of lab.scenarios) {
    for (const st of sc.steps) {
      if (st.kind === "incus" && st.command.creates !== undefined) expect(st.command.creates).toMatch(OBJECT_NAME);
      if (st.kind === "openstack" && st.command.router !== undefined) expect(st.command.router).toMatch(OBJECT_NAME);
    }
    for (const e of sc.expect) if (e.kind === "resolve") expect(e.name).toMatch(HOSTNAME);
  }
}

describe("fuzzing lab files", () => {
  it("every lab file is refused cleanly or yields only valid names and clean batch text", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(labDoc, (d) => {
        let lab: Lab;
        try {
          lab = parseLab(toYaml(d), "fuzz.yaml");
        } catch (e) {
          if (!(e instanceof LabFileError)) throw e;
          expect(e.message).toContain("nothing was created");
          refused++;
          return;
        }
        accepted++;
        checkAccepted(lab);
      }),
      { numRuns: 400, interruptAfterTimeLimit: 30_000, seed: Number(process.env.LABWRIGHT_FUZZ_SEED ?? 20261121) },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
