import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadLab } from "../../topology/model/load.ts";
import { findingLine } from "../../topology/logs/scan.ts";
import { runScenario } from "../../topology/scenario.ts";
import { BACKEND, useLab } from "../support/fixture.ts";
import { applySteps, scenario } from "../support/steps.ts";

/**
 * Incus's "How to set up OVN with Incus" (cluster section) typed as printed: /etc/default/ovn-central
 * for three members (raft NB and SB), `ovs-vsctl` and `incus network create` with continuation
 * lines, the uplink's parent an unmanaged Linux bridge br0 that holds the member's only NIC and its
 * address — so the Geneve endpoint is on br0 — and `images:ubuntu/22.04`.
 */
const LAB = fileURLToPath(new URL("../../topology/labs/incus-ovn-howto.yaml", import.meta.url));
const lab = loadLab(LAB);
const SERVERS = ["server1", "server2", "server3"] as const;
const NB = "tcp:192.168.35.1:6641,tcp:192.168.35.2:6641,tcp:192.168.35.3:6641";

describe("/etc/default/ovn-central as the how-to prints it", () => {
  it("is read with ovn-ctl's defaults: server1 creates each raft cluster, server2 and server3 join it; ovn-northd gets the three-member lists", () => {
    const byName = Object.fromEntries(lab.nodes.map((n) => [n.name, n.ovnCentral]));
    expect(byName.server1!.nb).toMatchObject({
      addr: "192.168.35.1",
      port: 6641,
      insecureRemote: true,
      clusterLocal: { addr: "192.168.35.1", port: 6643 },
    });
    expect(byName.server1!.nb.clusterRemote).toBeUndefined();
    expect(byName.server2!.sb).toMatchObject({
      port: 6642,
      clusterLocal: { addr: "192.168.35.2", port: 6644 },
      clusterRemote: { addr: "192.168.35.1", port: 6644 },
    });
    expect(byName.server3!.northdNb).toBe(NB);
  });
});

describe(`[${BACKEND}] Incus's OVN how-to, typed as printed: a 3-member OVN central and a bridge-held tunnel endpoint`, () => {
  const sc = scenario(lab, "howto");
  const s = useLab(lab, { logAllow: sc.logAllow });

  it("the three members form one raft cluster per database, and exactly one ovn-northd is active", async () => {
    for (const p of SERVERS) {
      for (const [ctl, db] of [
        ["ovnnb_db.ctl", "OVN_Northbound"],
        ["ovnsb_db.ctl", "OVN_Southbound"],
      ] as const) {
        const st = await s().sh(p, `ovn-appctl -t "$OVN_RUNDIR/${ctl}" cluster/status ${db}`);
        expect(st.stdout, `${p} ${db}`).toContain("Status: cluster member");
      }
    }
    const roles = await Promise.all(SERVERS.map(async (p) => (await s().sh(p, "ovn-appctl -t ovn-northd status")).stdout.trim()));
    expect(roles.filter((r) => r === "Status: active")).toHaveLength(1);
    expect(roles.filter((r) => r === "Status: standby")).toHaveLength(2);
  });

  it("the how-to's steps succeed as printed: ovs-vsctl and the uplink over continuation lines, the three-member northbound connection, my-ovn, images:ubuntu/22.04; while the tunnel endpoints move, every ARP answer for a member's address carries its NIC's MAC", async () => {
    expect(lab.nodes.find((n) => n.name === "server1")!.interfaces[0]).toMatchObject({
      name: "eno1",
      bridge: "br0",
      address: "192.168.35.1",
    });
    // The first three steps move each member's tunnel endpoint onto br-phy (the stand-in for kernel
    // OVS). All the while, the LAN's router asks for the three addresses as fast as arping runs: every
    // answer must come with the member's own MAC. The OVS end of br-phy's veth once answered too, with
    // its own MAC, for the ~0.1 s before its drop filter: a neighbour that took it lost the member for
    // 8 s (raft's "no response to inactivity probe" between two members, one run in 7 to 12).
    const moves = sc.steps.findIndex((x) => x.kind !== "check" && !("run" in x && x.run.includes("ovn-encap-ip")));
    expect(moves).toBe(3);
    const stop = `/tmp/labwright-arp-stop-${process.pid}-${Date.now()}`;
    const asking = s().sh(
      "gw",
      `while [ ! -e ${stop} ]; do for ip in 192.168.35.1 192.168.35.2 192.168.35.3; do arping -I eth1 -c 1 -w 1 "$ip"; done; done; rm -f ${stop}`,
    );
    await applySteps(s(), sc.steps.slice(0, moves));
    await s().sh("gw", `touch ${stop}`);
    const answers = [...(await asking).stdout.matchAll(/reply from (192\.168\.35\.\d) \[([0-9A-F:]+)\]/g)];
    for (const [k, p] of SERVERS.entries()) {
      const mac = (await s().sh(p, "cat /sys/class/net/eno1/address")).stdout.trim().toUpperCase();
      const macs = answers.filter((a) => a[1] === `192.168.35.${k + 1}`).map((a) => a[2]);
      expect(macs.length, p).toBeGreaterThan(20);
      expect(new Set(macs), p).toEqual(new Set([mac]));
      expect((await s().sh(p, "ip neigh show dev br-phy-ovs")).stdout.trim(), p).toBe("");
    }
    await applySteps(s(), sc.steps.slice(moves));
    const conn = await s().sh("server1", "incus config get network.ovn.northbound_connection");
    expect(conn.stdout.trim()).toBe(NB);
  });

  it("br0 keeps eno1 and the address; br-phy, joined to br0's host side by a veth and two nftables fwd hooks, carries the tunnel endpoint (the userspace datapath's stand-in for kernel OVS)", async () => {
    for (const [k, p] of SERVERS.entries()) {
      const ip = `192.168.35.${k + 1}`;
      expect((await s().sh(p, "ip -4 -o addr show dev br0")).stdout, p).toContain(`${ip}/24`);
      expect((await s().sh(p, "ip -o link show dev eno1")).stdout, p).toContain("master br0");
      expect((await s().sh(p, "ovs-vsctl list-ports br-phy")).stdout.split("\n"), p).toContain("br-phy-ovs");
      expect((await s().sh(p, "ip route show default")).stdout, p).toContain("dev br-phy");
      const fwd = (await s().sh(p, "nft list table netdev labwright_carrier")).stdout;
      expect(fwd, p).toMatch(/hook ingress device "br0"[^\n]*\n\s*fwd to "br-phy-host"/);
      expect(fwd, p).toMatch(/hook ingress device "br-phy-host"[^\n]*\n\s*fwd to "br0"/);
    }
    const tunnels = (await s().sh("server1", "ovs-vsctl --bare --columns=options find interface type=geneve")).stdout;
    expect(tunnels).toMatch(/remote_ip="?192\.168\.35\.2\b/);
  });

  it("c1 (server1) and c2 (server2) reach each other with TTL 64 over Geneve between the bridges' addresses; both reach the name server and google.com through two NATs", async () => {
    expect(await s().ping("c1", "c2", { count: 5 })).toReach({ ttl: 64, loss: 0 });
    expect(await s().ping("c2", "c1", { count: 3 })).toReach({ ttl: 64, loss: 0 });
    for (const c of ["c1", "c2"]) {
      expect(await s().ping(c, "192.168.35.254", { count: 2 })).toReach({ ttl: 63 });
      expect((await s().resolve(c, "google.com")).addresses).toEqual(["203.0.113.1"]);
      expect(await s().ping(c, "google.com", { count: 2 })).toReach({ ttl: 62 });
    }
  });

  it("Incus's network is in the clustered northbound database, read through any member", async () => {
    for (const p of SERVERS) {
      const ls = await s().sh(p, `ovn-nbctl --no-leader-only --db=unix:"$OVN_RUNDIR/ovnnb_db.sock" ls-list`);
      expect(ls.stdout, p).toContain("incus-net");
    }
  });

  it("no daemon-log warning or error outside the allowlists (strict)", async () => {
    const v = await s().logs(sc.logAllow, true);
    expect([...v.errors, ...v.warnings].map(findingLine)).toEqual([]);
  });
});

describe(`[${BACKEND}] the how-to's three central members: one stops, the cloud keeps working`, () => {
  it(
    "server1's central exits (as `systemctl stop ovn-central`); once the other two serve again, Incus launches c3 on the OVN network, which reaches the running instances and the internet",
    { timeout: 600_000 },
    async () => {
      const r = await runScenario(lab, scenario(lab, "one-central-stops"), { backend: BACKEND, strictLogs: true });
      const failed = [...r.steps.filter((x) => x.kind === "run" && !x.ok), ...r.checks.filter((c) => !c.ok)];
      expect(failed.map((x) => JSON.stringify(x).slice(0, 400))).toEqual([]);
      expect([...r.logs.errors, ...r.logs.warnings].map(findingLine)).toEqual([]);
      expect(r.ok).toBe(true);
    },
  );
});
