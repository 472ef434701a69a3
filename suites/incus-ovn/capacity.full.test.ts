import { describe, expect, it } from "vitest";
import { loadLab } from "../../topology/model/load.ts";
import { INCUS_LAB } from "../support/cli.ts";
import { BACKEND, useLab } from "../support/fixture.ts";
import { applySteps, scenario, stepsBefore } from "../support/steps.ts";
import { createOvnNetworks, incus } from "../support/incus.ts";

/**
 * The --full tier (`scripts/test --full`; not in the default test command): the seed's own
 * 200-address range filled by 200 OVN networks with the real Incus, OVN and OVS. Ten minutes or
 * more on 2 cores (northd, three ovn-controllers and three ovs-vswitchd recompute after each
 * network); the default suites check the same allocator on a 3-address range (ovn.test.ts), and
 * `scripts/bench --capacity` times this run.
 */
const lab = loadLab(INCUS_LAB);

describe(`[${BACKEND}] capacity: one uplink address per OVN network`, () => {
  // Found by this suite: 200 external switches share one physical network, so one broadcast ARP (a
  // router's gratuitous ARP) fans out to all of them and exceeds OVS's limit of 4096 resubmits per
  // packet. OVS logs and drops that packet; the networks still work (asserted below).
  const s = useLab(lab, {
    logAllow: [
      {
        match: /ofproto_dpif_xlate\|WARN\|(over 4096 resubmit actions on bridge br-int while processing arp|Dropped \d+ log messages)/,
        why: "200 localnet switches on one physical network",
      },
      // Seen once on a loaded 2-core machine during the same ARP fan-out: two upcalls of one flow
      // raced, the second found the first's datapath flow key already installed (ofproto-dpif-upcall.c);
      // its packet is still handled, only not cached.
      {
        match: /ofproto_dpif_upcall\|WARN\|upcall_cb failure: ukey installation fails/,
        why: "two upcalls of the same flow raced under the ARP fan-out",
      },
      // With the real Incus (6.0.4), 200 networks keep northd, three ovn-controllers and three
      // ovs-vswitchd recomputing on 2 cores for ten minutes: ovs-vswitchd sometimes does not answer
      // ovn-controller's OpenFlow probe within 5 s, and ovn-controller reconnects.
      {
        match:
          /rconn\|ERR\|unix:\S+\/br-int\.mgmt: no response to inactivity probe after \d+ seconds, disconnecting|rconn\|WARN\|br-int<->unix#\d+: connection dropped \(Connection reset by peer\)/,
        why: "ovs-vswitchd busy for over 5 s under the 200-network load",
      },
      // The other side of the same load: OVN central's database server (pamonha1) probes its clients
      // every 5 s, and a client on another member (an ovn-controller recomputing 200 networks) sometimes
      // does not answer in time; the server drops the connection and the client reconnects.
      {
        match: /reconnect\|ERR\|tcp:192\.168\.35\.\d+:\d+: no response to inactivity probe after \d+(\.\d+)? seconds, disconnecting/,
        why: "an OVN central client on another member busy for over 5 s under the 200-network load",
      },
      // Two chassis learned the uplink gateway's MAC for the same router port at once; the second
      // insert is refused by the index and ovn-controller goes on with the existing row.
      {
        match:
          /ovsdb_idl\|WARN\|transaction error: .*Transaction causes multiple rows in \\?"MAC_Binding\\?" table to have identical values/,
        why: "two chassis raced to record the same MAC binding",
      },
      // Rate-limit summaries of if_status warnings (the gateway port moving between chassis).
      { match: /if_status\|WARN\|Dropped \d+ log messages in last \d+ seconds/, why: "rate-limited if_status warnings" },
    ],
  });

  // Harness time, not a bound on speed: on this 2-core machine the 200 networks took 624 s to over
  // 900 s from one day to the next (northd, three ovn-controllers and three ovs-vswitchd recompute
  // after each network); the figure is printed below and measured by scripts/bench.
  it(
    "with the seed's 200-address range, 200 networks get 10.10.35.1..200 and the 201st fails with `No free IPs available`",
    { timeout: 1_800_000 },
    async () => {
      await applySteps(s(), stepsBefore(scenario(lab, "ovn-fix"), "network create test-ovn"));
      const t0 = performance.now();
      const uplinkOf = await createOvnNetworks(s(), 200);
      for (let k = 1; k <= 200; k++) expect(uplinkOf.get(`n${k}`), `n${k}`).toBe(`10.10.35.${k}`);
      const r = await incus(s(), "pamonha1", "network create n201 --type=ovn network=UPLINK");
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^Error: .*Failed to allocate uplink IPv4 address: No free IPs available\n$/);
      console.log(`capacity: 200 OVN networks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      // The 200th network works end to end: curau reaches its router's uplink address.
      await expect
        .poll(async () => (await s().ping("curau", "10.10.35.200", { count: 1 })).received, { timeout: 60_000, interval: 500 })
        .toBe(1);
    },
  );
});
