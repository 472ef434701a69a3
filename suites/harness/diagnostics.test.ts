import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheck } from "../../topology/expect/check.ts";
import { start, type StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { writeLab } from "../support/labs.ts";

/** A router that was not told to forward: the classic "no reply" with no hint. */
const LAB = writeLab(
  "fwd.yaml",
  `name: fwd
lans: { l1: { cidr: 10.83.1.0/24 }, l2: { cidr: 10.83.2.0/24 } }
nodes:
  r: { interfaces: { eth0: { lan: l1, address: 10.83.1.1 }, eth1: { lan: l2, address: 10.83.2.1 } } }
  a: { interfaces: { eth0: { lan: l1, address: 10.83.1.2 } }, routes: [ { to: default, via: 10.83.1.1 } ] }
  b: { interfaces: { eth0: { lan: l2, address: 10.83.2.2 } }, routes: [ { to: default, via: 10.83.2.1 } ] }
`,
);

describe("[netns] diagnostics and names", () => {
  let s: StartedLab;
  beforeAll(async () => {
    s = await start(loadLab(LAB));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("an unreachable destination behind a router without ip_forward gets a note naming the router and the fix", async () => {
    const c = await runCheck(s, { kind: "reach", from: "a", to: "b", count: 2 });
    expect(c.ok).toBe(false);
    expect(c.notes.join("\n")).toContain(
      "r is the gateway a uses towards 10.83.2.2 (route default via 10.83.1.1), and it does not forward: net.ipv4.ip_forward is 0 there. Add `sysctls: { net.ipv4.ip_forward: 1 }` to r",
    );
    await s.sh("r", "sysctl -qw net.ipv4.ip_forward=1");
    const ok = await runCheck(s, { kind: "reach", from: "a", to: "b", count: 2 });
    expect(ok.ok).toBe(true);
    expect(ok.notes).toEqual([]);
  });

  it("a reach that must be seen from an address fails (it does not abort the scenario) when its name does not resolve, or resolves outside the lab", async () => {
    await s.sh("r", "sysctl -qw net.ipv4.ip_forward=1");
    const lost = await runCheck(s, { kind: "reach", from: "a", to: "nowhere.example", source: "10.83.1.2", count: 1 });
    expect(lost.ok).toBe(false);
    expect(lost.reasons).toEqual(["a could not resolve nowhere.example (name not found), so there is no node to see the source on"]);
    const a = s.host("a"); // the node's own hosts file (/etc/netns/<ns>/hosts), not this machine's
    await a.writeFile("/etc/hosts", `${(await a.readFile("/etc/hosts")) ?? ""}10.99.9.9 far.example\n`);
    const far = await runCheck(s, { kind: "reach", from: "a", to: "far.example", source: "10.83.1.2", count: 1 });
    expect(far.ok).toBe(false);
    expect(far.reasons).toEqual(["far.example resolves to 10.99.9.9, which no lab node holds: the source can only be seen on a lab node"]);
    const seen = await runCheck(s, { kind: "reach", from: "a", to: "b", source: "10.83.1.2", count: 1 });
    expect(seen.ok, seen.reasons.join()).toBe(true);
  });

  it("nodes resolve each other's names: each node's hosts file lists every node at the address it reaches it by", async () => {
    expect((await s.resolve("a", "r")).addresses).toEqual(["10.83.1.1"]);
    expect((await s.resolve("b", "r")).addresses).toEqual(["10.83.2.1"]);
    expect((await s.resolve("a", "b")).addresses).toEqual(["10.83.2.2"]);
    // As an operator types it: the name goes through the node's own resolver (glibc, /etc/hosts).
    expect((await s.sh("a", "ping -n -c 1 -W 1 b")).stdout).toContain("PING b (10.83.2.2)");
  });
});
