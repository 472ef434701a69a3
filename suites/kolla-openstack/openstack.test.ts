import { describe, expect, it } from "vitest";
import { parseOpenstack } from "../../topology/model/commands/openstack.ts";
import { bridgeMappings, ml2Config, readGlobals } from "../../topology/emulators/openstack/kolla.ts";
import type { KollaNode } from "../../topology/emulators/openstack/node.ts";
import type { StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import type { Step } from "../../topology/model/types.ts";
import { KOLLA_LAB } from "../support/cli.ts";
import { BACKEND, useLab } from "../support/fixture.ts";
import { applySteps, scenario, stepsBefore } from "../support/steps.ts";

const lab = loadLab(KOLLA_LAB);
const kollaStep = (sc: string, action: "deploy" | "precheck") => {
  const s = scenario(lab, sc).steps.find((x): x is Extract<Step, { kind: "kolla" }> => x.kind === "kolla" && x.action === action);
  if (!s) throw new Error(`no kolla ${action} step in ${sc}`);
  return s;
};
const kolla = (s: StartedLab): KollaNode => s.kolla.get("openstack")!;
const os = async (s: StartedLab, line: string) => kolla(s).openstack(parseOpenstack(line));

describe(`[${BACKEND}] kolla globals and openstack arguments`, () => {
  it("kolla zips bridges with interfaces into physnet1, physnet2, ...", () => {
    const g = readGlobals({ network_interface: "eth1", neutron_external_interface: "eth4,eth3", neutron_bridge_name: "br-ex,br-ex2" }, "test");
    expect(bridgeMappings(g)).toEqual([
      { physnet: "physnet1", bridge: "br-ex", nic: "eth4" },
      { physnet: "physnet2", bridge: "br-ex2", nic: "eth3" },
    ]);
    // kolla's ml2_conf.ini.j2: flat_networks lists every physnet, network_vlan_ranges is empty without Ironic.
    const ml2 = ml2Config(g);
    expect(ml2.flatNetworks).toEqual(["physnet1", "physnet2"]);
    expect(ml2.vlanRanges.size).toBe(0);
    expect([...ml2Config(g, "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet2:100:200\n").vlanRanges]).toEqual([["physnet2", [100, 200]]]);
  });

  it("unsupported arguments are refused, naming them", () => {
    expect(() => parseOpenstack("router set r1 --enable-snat")).toThrow(/unsupported argument "--enable-snat"/);
    expect(() => parseOpenstack("volume create v1")).toThrow(/unsupported command "volume create v1"/);
    expect(() => parseOpenstack("server add floating ip vm1 $(openstack floating ip create public)")).toThrow(/use -f value/);
  });
});

describe(`[${BACKEND}] the seed's failure: eth4 is a provider interface and carries the default route`, () => {
  const sc = scenario(lab, "deploy-loses-internet");
  const s = useLab(lab);

  it("before the deploy, the node pulls from the registry over eth4, and openstack commands have no keystone", async () => {
    expect((await s().http("openstack", "http://quay.io/v2/")).status).toBe(200);
    const r = await os(s(), "network list");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Failed to discover available identity versions");
  });

  it("the precheck flags both the default route and the address on eth4, and changes nothing", async () => {
    const r = await kolla(s()).precheck(kollaStep(sc.name, "precheck").globals);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/eth4 holds the default route \(default via 138\.4\.7\.129\)/);
    expect(r.stderr).toMatch(/eth4 holds 138\.4\.7\.200\/25/);
    expect((await s().sh("openstack", "ip route show default")).stdout).toContain("dev eth4");
  });

  it("the deploy breaks at the first image pull after the openvswitch play", async () => {
    const r = await kolla(s()).deploy(kollaStep(sc.name, "deploy").globals);
    expect(r.exitCode).not.toBe(0);
    const out = r.stdout;
    const at = (t: string) => out.indexOf(t);
    expect(at("changed: [openstack] => (item=quay.io/openstack.kolla/openvswitch-vswitchd:2023.1-ubuntu-jammy)")).toBeGreaterThan(0);
    expect(at("TASK [openvswitch : Ensuring OVS ports are properly setup]")).toBeGreaterThan(at("openvswitch-vswitchd:"));
    expect(at("TASK [placement : Pull images]")).toBeGreaterThan(at("Ensuring OVS ports are properly setup"));
    expect(out).toMatch(/fatal: \[openstack\]: FAILED! => .*quay\.io/);
    expect(out).toContain("failed=1");
    expect(out).not.toContain("PLAY [Apply role nova]");
  });

  it("eth4 is a port of br-ex: up, address kept, the address dead both ways and the internet gone", async () => {
    expect((await s().sh("openstack", "ovs-vsctl list-ports br-ex")).stdout.trim()).toBe("eth4");
    expect(await s().link("openstack", "eth4")).toHaveLinkState({ admin: "up", oper: "up" });
    expect((await s().link("openstack", "eth4")).addresses).toEqual(["138.4.7.200/25"]);
    expect((await s().ping("openstack", "inet", { count: 2 })).received).toBe(0);
    expect((await s().ping("client", "138.4.7.200", { count: 2 })).received).toBe(0);
    expect((await s().ping("openstack", "osm", { count: 2 })).received).toBe(2);
  });
});

describe(`[${BACKEND}] the seed's workaround: default route via eth1 to osm, which forwards and NATs`, () => {
  const sc = scenario(lab, "management-route-workaround");
  const s = useLab(lab);

  it("with the route moved, the same deploy completes; the node's traffic leaves through osm (TTL 62 to the internet)", async () => {
    await applySteps(s(), stepsBefore(sc, "kolla-ansible deploy"));
    const r = await kolla(s()).deploy(kollaStep(sc.name, "deploy").globals);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toContain("PLAY [Apply role neutron]");
    expect(r.stdout).toContain("failed=0");
    const p = await s().ping("openstack", "inet", { count: 3 });
    expect(p.received).toBe(3);
    expect(p.replies.every((x) => x.ttl === 62)).toBe(true);
  });

  it("the address left on eth4 makes the department LAN a black hole until it is flushed", async () => {
    expect((await s().ping("openstack", "138.4.7.202", { count: 2 })).received).toBe(0);
    await s().sh("openstack", "ip addr flush dev eth4");
    const p = await s().ping("openstack", "138.4.7.202", { count: 2 });
    expect(p.replies.map((x) => x.ttl)).toEqual([63, 63]);
    expect((await kolla(s()).precheck(kollaStep(sc.name, "precheck").globals)).exitCode).toBe(0);
  });

  it("the OVS agent's bridges: br-int, br-tun, and each physical bridge patched to br-int in secure mode", async () => {
    const br = (await s().sh("openstack", "ovs-vsctl list-br")).stdout.trim().split("\n");
    expect(br.sort()).toEqual(["br-ex", "br-ex2", "br-int", "br-tun"]);
    expect((await s().sh("openstack", "ovs-vsctl list-ports br-int")).stdout).toMatch(/int-br-ex\n.*int-br-ex2/s);
    expect((await s().sh("openstack", "ovs-ofctl --names dump-flows br-ex")).stdout).toMatch(/priority=2,in_port="?phy-br-ex"? actions=drop/);
  });
});

describe(`[${BACKEND}] floating IPs: pool 138.4.7.216-218, a router and a self-service network`, () => {
  const sc = scenario(lab, "floating-ips");
  const s = useLab(lab);
  const POOL = ["138.4.7.216", "138.4.7.217", "138.4.7.218"];

  it("the router's gateway and two floating IPs take the three addresses; a third floating IP fails with neutron's message", async () => {
    await applySteps(s(), stepsBefore(sc, "server add floating ip"));
    const gw = s().addressOf("client", "router1:gateway");
    const f1 = (await os(s(), "floating ip create public -f value -c floating_ip_address")).stdout.trim();
    const f2 = (await os(s(), "floating ip create public -f value -c floating_ip_address")).stdout.trim();
    expect([gw, f1, f2].sort()).toEqual(POOL);
    const r = await os(s(), "floating ip create public");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^ConflictException: 409: .*\/v2\.0\/floatingips, No more IP addresses available on network [0-9a-f-]{36}\.$/m);
    expect((await os(s(), `server add floating ip vm1 ${f1}`)).exitCode).toBe(0);
    expect(s().addressOf("client", "vm1:floating")).toBe(f1);
  });

  it("the router is a qrouter namespace with qg-/qr- ports and neutron's NAT rules", async () => {
    const links = (await s().sh("qrouter-router1", "ip -o link show | awk -F': ' '{print $2}'")).stdout;
    expect(links).toMatch(/^qg-[0-9a-f-]{11}@/m);
    expect(links).toMatch(/^qr-[0-9a-f-]{11}@/m);
    const fip = s().addressOf("client", "vm1:floating");
    const fixed = s().addressOf("client", "vm1");
    const nat = (await s().sh("qrouter-router1", "iptables -t nat -S")).stdout;
    expect(nat).toContain(`-A neutron-l3-agent-PREROUTING -d ${fip}/32 -j DNAT --to-destination ${fixed}`);
    expect(nat).toContain(`-A neutron-l3-agent-float-snat -s ${fixed}/32 -j SNAT --to-source ${fip}`);
    expect((await s().sh("qrouter-router1", "ip -4 -o addr show")).stdout).toContain(`${fip}/32`);
  });

  it("the client reaches the instance by its floating IP with TTL 63; the router's gateway answers with TTL 64", async () => {
    const p = await s().ping("client", s().addressOf("client", "vm1:floating"), { count: 3 });
    expect(p.replies.map((x) => x.ttl)).toEqual([63, 63, 63]);
    const g = await s().ping("client", "router1:gateway", { count: 3 });
    expect(g.replies.map((x) => x.ttl)).toEqual([64, 64, 64]);
  });

  it("the instance reaches the internet host through SNAT to its floating IP", async () => {
    const fip = s().addressOf("client", "vm1:floating");
    const cap = await s().capture("inet", "icmp and icmp[icmptype] == icmp-echo");
    const p = await s().ping("vm1", "inet", { count: 2 });
    expect(p.replies.map((x) => x.ttl)).toEqual([62, 62]);
    expect(new Set(await cap.stop())).toEqual(new Set([fip]));
    expect((await s().http("vm1", "http://quay.io/v2/")).status).toBe(200);
  });

  it("traceroute to the floating IP shows the floating IP at the router's hop", async () => {
    const fip = s().addressOf("client", "vm1:floating");
    const t = await s().trace("client", fip);
    expect(t.reached).toBe(true);
    expect(t.hops.map((h) => h.address)).toEqual([fip, fip]);
  });

  it("latency, measured: client → floating IP and the node's hairpin through osm (TTL 62)", async () => {
    const fip = s().addressOf("client", "vm1:floating");
    const direct = await s().ping("client", fip, { count: 20, intervalS: 0.05 });
    const hairpin = await s().ping("openstack", fip, { count: 20, intervalS: 0.05 });
    expect(direct.received).toBe(20);
    expect(hairpin.received).toBe(20);
    expect(new Set(hairpin.replies.map((x) => x.ttl))).toEqual(new Set([62]));
    expect(direct.rtt?.p50).toBeGreaterThan(0);
    expect(hairpin.rtt?.p50).toBeGreaterThan(0);
  });
});

describe(`[${BACKEND}] VLAN provider network on eth3, segment 100`, () => {
  const sc = scenario(lab, "vlan-provider-network");
  const s = useLab(lab);

  it("kolla's empty network_vlan_ranges makes neutron refuse physnet2; the ml2_conf.ini override fixes it", async () => {
    await applySteps(s(), sc.steps);
    expect((await os(s(), "network show vlan100 -f value -c provider:segmentation_id")).stdout.trim()).toBe("100");
  });

  it("the instance and the client's VLAN 100 port reach each other directly, TTL 64", async () => {
    const a = await s().ping("client", "vm-vlan", { count: 3, source: "v100" });
    expect(a.replies.map((x) => x.ttl)).toEqual([64, 64, 64]);
    const b = await s().ping("vm-vlan", "10.100.0.50", { count: 3 });
    expect(b.replies.map((x) => x.ttl)).toEqual([64, 64, 64]);
  });

  it("the VLAN 200 port, in the same subnet, does not; the switch learned the instance in VLAN 100 only", async () => {
    expect((await s().ping("client", "vm-vlan", { count: 3, source: "v200" })).received).toBe(0);
    const mac = (await s().sh("vm-vlan", "cat /sys/class/net/eth0/address")).stdout.trim();
    const fdb = (await s().sh("pswitch", "ovs-appctl fdb/show sw0")).stdout;
    const rows = fdb.split("\n").filter((l) => l.includes(mac)).map((l) => l.trim().split(/\s+/)[1]);
    expect(rows).toEqual(["100"]);
  });
});
