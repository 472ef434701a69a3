import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { execa } from "execa";
import { start } from "../../topology/lab.ts";
import { parseIni } from "../../topology/model/commands/ini.ts";
import type { KollaOverride, NeutronService } from "../../topology/model/commands/kolla-overrides.ts";
import { novaRefusal, parseOpenstack } from "../../topology/model/commands/openstack.ts";
import { bridgeMappings, PLAYS, playsFor, readGlobals } from "../../topology/stacks/openstack/kolla/plays.ts";
import {
  L3_AGENT_LOGGER,
  NEUTRON_DEFAULT_LOG_LEVELS,
  OVN_DB_SYNC_LOGGER,
  openstackPaths,
  renderNeutronConfig,
  unusedOverrides,
} from "../../topology/stacks/openstack/kolla/config.ts";
import { builtToolchain } from "../../topology/toolchain/build.ts";
import { DEFAULT_TOOLCHAIN, loadToolchain } from "../../topology/toolchain/definition.ts";
import type { KollaNode } from "../../topology/stacks/openstack/kolla/node.ts";
import type { StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import type { Step } from "../../topology/model/types.ts";
import { findingLine, judgeLogs, scanLogs } from "../../topology/logs/scan.ts";
import { KOLLA_RABBITMQ_ERL_ARGS, openstackLogSources } from "../../topology/stacks/openstack/neutron/services.ts";
import { NetnsHost } from "../../topology/backends/netns.ts";
import { KOLLA_LAB, ROOT } from "../support/cli.ts";
import { BACKEND, useLab } from "../support/fixture.ts";
import { runScenario } from "../../topology/scenario.ts";
import { judgeAndStop } from "../../topology/vitest.ts";
import type { LabResult, ScenarioResult } from "../../topology/results.ts";
import { hiddenLabwright } from "../support/hidden-host.ts";
import { applySteps, scenario, stepsBefore } from "../support/steps.ts";
import { scratchDir } from "../support/scratch.ts";

const lab = loadLab(KOLLA_LAB);

/** A scenario run's steps that did not go as expected and expectations that do not hold (each as JSON, 400 characters). */
const notAsExpected = (r: ScenarioResult) =>
  [...r.steps.filter((x) => !("ok" in x) || !x.ok), ...r.checks.filter((c) => !c.ok)].map((x) => JSON.stringify(x).slice(0, 400));

/** No daemon-log error, and no warning that no entry allows (what strict logs ask). */
function expectCleanLogs(r: ScenarioResult): void {
  expect(r.logs.errors.map(findingLine), "daemon-log errors").toEqual([]);
  expect(r.logs.warnings.map(findingLine), "daemon-log warnings no entry allows").toEqual([]);
}
const kollaStep = (sc: string, action: "deploy" | "precheck", k = 0) => {
  const s = scenario(lab, sc).steps.filter((x): x is Extract<Step, { kind: "kolla" }> => x.kind === "kolla" && x.action === action)[k];
  if (!s) throw new Error(`no kolla ${action} step in ${sc}`);
  return s;
};
/**
 * A scenario run as a user runs it (`labwright run --scenario NAME --strict-logs`), with this
 * machine's own copies of the lab software unreachable (support/hidden-host.ts: every copy of
 * neutron, nova, OVS, MariaDB, RabbitMQ, dnsmasq, haproxy... on this machine is hidden), so that its
 * verdict comes from the toolchain the report names. Returns the CLI's exit code and the scenario's
 * result from the run's JSON.
 */
async function hiddenRun(name: string): Promise<{ exitCode?: number; output: string; r: ScenarioResult }> {
  // Under results/ (as a user's run writes there): a failing run's forensics bundle lands beside
  // its JSON (results/hidden/forensics/), where CI keeps it.
  const dir = join(ROOT, "results", "hidden");
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  rmSync(json, { force: true }); // an earlier run's
  // A bound on a hung run, not a wait: the longest of these, install-guide-nova, took 91-96 s.
  const run = await hiddenLabwright(["run", KOLLA_LAB, "--backend", BACKEND, "--scenario", name, "--strict-logs", "--json", json], 400_000);
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.stdout, output).toMatch(new RegExp(`^toolchain debian-12 \\(lock ${loadToolchain("debian-12").hash}\\): `, "m"));
  const result = JSON.parse(readFileSync(json, "utf8")) as LabResult;
  expect(result.toolchain?.hash).toBe(loadToolchain("debian-12").hash);
  expect(result.scenarios.map((x) => x.name)).toEqual([name]);
  return { exitCode: run.exitCode, output, r: result.scenarios[0]! };
}
const kolla = (s: StartedLab): KollaNode => s.kolla.get("openstack")!;
/** The real openstack client on the node (or the stand-in for nova's two commands), as typed. */
const os = async (s: StartedLab, line: string) => kolla(s).openstack(parseOpenstack(line));
// Tests that deploy (35-40 s) and then run a scenario's steps take 30-100 s on 2 cores: they get
// 300 s of harness time (a limit, not a speed assertion: scripts/bench measures).
const SEED = {
  network_interface: "eth1",
  neutron_external_interface: "eth4,eth3",
  neutron_bridge_name: "br-ex,br-ex2",
  enable_haproxy: "no",
  kolla_base_distro: "ubuntu",
};

describe(`[${BACKEND}] kolla's configuration and plays, openstack command lines`, () => {
  it("kolla zips bridges with interfaces into physnet1, physnet2, ...; its ml2_conf.ini has every physnet flat and no VLAN range; overrides are merged in kolla's order, neutron.conf per service", () => {
    const g = readGlobals(SEED, "test");
    expect(bridgeMappings(g)).toEqual([
      { physnet: "physnet1", bridge: "br-ex", nic: "eth4" },
      { physnet: "physnet2", bridge: "br-ex2", nic: "eth3" },
    ]);
    const facts = { apiAddress: "10.10.10.11", vip: "10.10.10.11", hostname: "openstack" };
    const plain = renderNeutronConfig(g, facts, openstackPaths("/x")).files;
    expect(plain["ml2_conf.ini"]).toMatch(/\[ml2_type_flat\]\nflat_networks = physnet1,physnet2/);
    expect(plain["ml2_conf.ini"]).toMatch(/\[ml2_type_vlan\]\nnetwork_vlan_ranges = \n/);
    expect(plain["openvswitch_agent.ini"]).toContain("bridge_mappings = physnet1:br-ex,physnet2:br-ex2");
    expect(plain["openvswitch_agent.ini"]).toContain(
      "firewall_driver = neutron.agent.linux.iptables_firewall.OVSHybridIptablesFirewallDriver",
    );
    expect(plain["neutron.conf"]).toContain("bind_host = 10.10.10.11");
    const over = (path: string, file: string, text: string, service?: NeutronService): KollaOverride => ({
      path,
      file,
      ...(service ? { service } : {}),
      ini: parseIni(text, path, file),
    });
    const merged = renderNeutronConfig(g, facts, openstackPaths("/x"), [
      over("neutron/ml2_conf.ini", "ml2_conf.ini", "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet2\n"),
      over("neutron.conf", "neutron.conf", "[DEFAULT]\nglobal_physnet_mtu = 1450\n"),
      over("neutron/neutron-l3-agent.conf", "neutron.conf", "[DEFAULT]\nglobal_physnet_mtu = 1400\n", "neutron-l3-agent"),
      over("neutron/openvswitch_agent.ini", "openvswitch_agent.ini", "[securitygroup]\nfirewall_driver = openvswitch\n"),
    ]);
    expect(merged.files["ml2_conf.ini"]).toMatch(/\[ml2_type_vlan\]\nnetwork_vlan_ranges = physnet2\n/);
    expect(merged.files["openvswitch_agent.ini"]).toMatch(/\[securitygroup\]\nfirewall_driver = openvswitch\n/);
    // neutron.conf: one for every service, the L3 agent's own with its neutron/<service>.conf merged last.
    expect(merged.files["neutron.conf"]).toContain("global_physnet_mtu = 1450");
    expect(merged.files["neutron-l3-agent.neutron.conf"]).toContain("global_physnet_mtu = 1400");
    expect(merged.daemons["neutron-l3-agent"]).toEqual(["neutron-l3-agent.neutron.conf", "l3_agent.ini"]);
    expect(merged.daemons["neutron-server"]).toEqual(["neutron.conf", "ml2_conf.ini"]);
    expect(merged.daemons["neutron-metadata-agent"]).toEqual(["neutron.conf", "metadata_agent.ini"]);
  });

  it("a config override is judged option by option against neutron 21's own list: typos, paths, helpers, class paths and secrets are refused with the reason", () => {
    const judge = (text: string, path = "neutron/openvswitch_agent.ini", file = "openvswitch_agent.ini") => {
      try {
        parseIni(text, path, file);
        return "ok";
      } catch (e) {
        return (e as Error).message;
      }
    };
    // What kolla users set: accepted.
    expect(judge("[securitygroup]\nfirewall_driver = openvswitch\n[agent]\nl2_population = False\n[ovs]\nof_inactivity_probe = 30\n")).toBe(
      "ok",
    );
    expect(
      judge("[DEFAULT]\ndebug = True\nglobal_physnet_mtu = 9000\nservice_plugins = router,qos\n", "neutron.conf", "neutron.conf"),
    ).toBe("ok");
    expect(judge("[DEFAULT]\nagent_mode = dvr_snat\n", "neutron/l3_agent.ini", "l3_agent.ini")).toBe("ok");
    expect(
      judge(
        "[DEFAULT]\ndnsmasq_dns_servers = 203.0.113.10\nenable_isolated_metadata = false\n",
        "neutron/dhcp_agent.ini",
        "dhcp_agent.ini",
      ),
    ).toBe("ok");
    // A typo: named, with the nearest option.
    expect(judge("[ovs]\nbrige_mappings = physnet1:br-ex\n")).toBe(
      "neutron/openvswitch_agent.ini line 2: neutron has no option brige_mappings in [ovs] of openvswitch_agent.ini",
    );
    expect(judge("[securitygrup]\nenable_ipset = false\n")).toMatch(/neutron reads no section \[securitygrup\] from openvswitch_agent.ini/);
    // What reaches a command, a path or a root helper, or imports a class: refused.
    expect(judge("[agent]\nroot_helper = sh -c reboot\n", "neutron.conf", "neutron.conf")).toMatch(/root_helper stays as kolla renders it/);
    expect(judge("[DEFAULT]\ndnsmasq_config_file = /etc/shadow\n", "neutron/dhcp_agent.ini", "dhcp_agent.ini")).toMatch(
      /dnsmasq_config_file is a path, a command/,
    );
    expect(judge("[agent]\nkill_scripts_path = /tmp/x\n", "neutron/l3_agent.ini", "l3_agent.ini")).toMatch(/kill_scripts_path is a path/);
    expect(judge("[securitygroup]\nfirewall_driver = os.system\n")).toMatch(/takes neutron's aliases .*not class paths/);
    expect(judge("[DEFAULT]\ntransport_url = rabbit://x@198.51.100.1//\n", "neutron.conf", "neutron.conf")).toMatch(/transport_url stays/);
    expect(judge("[DEFAULT]\nuse_syslog = true\n", "neutron.conf", "neutron.conf")).toMatch(/one of oslo.log's options/);
    expect(judge("[database]\nmax_retries = 3\n", "neutron.conf", "neutron.conf")).toMatch(
      /section \[database\] stays as kolla renders it/,
    );
    // Values are what the option's type takes.
    expect(judge("[agent]\nl2_population = maybe\n")).toMatch(/l2_population takes true or false/);
    expect(judge("[DEFAULT]\napi_workers = 64\n", "neutron.conf", "neutron.conf")).toMatch(/at most 8 \(labwright's limit/);
    expect(judge("[DEFAULT]\nagent_mode = turbo\n", "neutron/l3_agent.ini", "l3_agent.ini")).toMatch(
      /agent_mode takes one of dvr, dvr_snat, legacy, dvr_no_external/,
    );
    expect(judge("[ml2]\nmechanism_drivers = a;b\n", "neutron/ml2_conf.ini", "ml2_conf.ini")).toMatch(/aliases/);
    expect(judge("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet2:100:200\n", "neutron/ml2_conf.ini", "ml2_conf.ini")).toBe("ok");
  });

  it("the committed neutron option list is what the toolchain's neutron's oslo-config-generator says", async () => {
    const r = await execa("node", [join(dirname(KOLLA_LAB), "../../scripts/neutron-options.mjs"), "--check"], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it("a kolla step accepts the override files kolla's neutron role merges, in kolla's order, and names the others", () => {
    const dir = scratchDir("lw-kolla-overrides-");
    // The lab's globals files beside it, as in topology/labs/.
    for (const f of readdirSync(dirname(KOLLA_LAB)).filter((x) => /^kolla-globals.*\.yml$/.test(x)))
      writeFileSync(join(dir, f), readFileSync(join(dirname(KOLLA_LAB), f)));
    const text = readFileSync(KOLLA_LAB, "utf8").replace(
      "          neutron/openvswitch_agent.ini: |",
      [
        "          neutron/openstack/openvswitch_agent.ini: |",
        "            [agent]",
        "            arp_responder = false",
        "          global.conf: |",
        "            [DEFAULT]",
        "            debug = true",
        "          neutron/openvswitch_agent.ini: |",
      ].join("\n"),
    );
    const file = join(dir, "lab.yaml");
    writeFileSync(file, text);
    const step = loadLab(file)
      .scenarios.find((x) => x.name === "openvswitch-firewall")!
      .steps.find((x): x is Extract<Step, { kind: "kolla" }> => x.kind === "kolla")!;
    // kolla's order: global.conf first, the per-host file after the role-wide one.
    expect(step.overrides.map((o) => o.path)).toEqual([
      "global.conf",
      "neutron/openvswitch_agent.ini",
      "neutron/openstack/openvswitch_agent.ini",
    ]);
    writeFileSync(
      file,
      text.replace("neutron/openstack/openvswitch_agent.ini", "neutron/dnsmasq.conf").replace("global.conf", "neutron/sriov_agent.ini"),
    );
    expect(() => loadLab(file)).toThrow(
      /neutron\/dnsmasq.conf: kolla does not merge dnsmasq.conf[\s\S]*neutron\/sriov_agent.ini is not a file kolla's neutron role merges/,
    );
  });

  it("2023.1's site.yml: nova's plays run before openvswitch, then neutron; images are tagged <release>-<distro>-<codename>", () => {
    const order = PLAYS.map((p) => p.name);
    expect(order.indexOf("Apply role placement")).toBeLessThan(order.indexOf("Bootstrap nova API databases"));
    expect(order.indexOf("Apply role nova-cell")).toBeLessThan(order.indexOf("Apply role openvswitch"));
    expect(order.indexOf("Apply role openvswitch")).toBe(order.indexOf("Apply role neutron") - 1);
    expect(PLAYS.find((p) => p.role === "neutron")!.pulls[0]).toEqual({
      task: "Running Neutron bootstrap container",
      handler: false,
      image: "neutron-server",
    });
    expect(readGlobals(SEED, "t").tag).toBe("2023.1-ubuntu-jammy");
    expect(readGlobals({ ...SEED, kolla_base_distro: undefined }, "t").tag).toBe("2023.1-rocky-9"); // kolla's default distro in 2023.1
    expect(() => readGlobals({ ...SEED, openstack_release: "zed" }, "t")).toThrow(/openstack_release zed is not modelled/);
    expect(() => readGlobals({ ...SEED, enable_haproxy: undefined }, "t")).toThrow(/enable_haproxy is "yes" \(kolla's default\)/);
  });

  it("2023.2 to 2025.1 as their sources have them: the first pull after openvswitch, image tags, ProxySQL's default, physnet names, what neutron.conf renders", () => {
    const g = (release: string, extra: Record<string, unknown> = {}) =>
      readGlobals({ ...SEED, openstack_release: release, ...(Number(release) >= 2024.2 ? { enable_proxysql: "no" } : {}), ...extra }, "t");
    const afterOvs = (release: string) => {
      const plays = playsFor(release);
      const k = plays.findIndex((p) => p.role === "openvswitch");
      return `${plays[k + 1]!.name}: ${plays[k + 1]!.pulls[0]!.task}`;
    };
    expect(afterOvs("2023.1")).toBe("Apply role neutron: Running Neutron bootstrap container");
    expect(afterOvs("2023.2")).toBe("Apply role neutron: Running Neutron bootstrap container");
    expect(afterOvs("2024.1")).toBe("Apply role neutron: Running Neutron bootstrap container");
    // 19.0.0 "Move Nova roles after OVS": nova.yml now runs between openvswitch and neutron.
    expect(afterOvs("2024.2")).toBe("Bootstrap nova API databases: Running Nova API bootstrap container");
    expect(afterOvs("2025.1")).toBe("Bootstrap nova API databases: Running Nova API bootstrap container");
    expect(playsFor("2023.2")[0]!.pulls[0]!.task).toBe("Ensure fluentd image is present for label check");
    expect(
      playsFor("2024.1")
        .find((p) => p.name === "Bootstrap nova API databases")!
        .pulls.map((p) => p.image),
    ).toEqual(["nova-api", "nova-conductor"]);
    expect(g("2023.2").tag).toBe("2023.2-ubuntu-jammy");
    expect(g("2024.2").tag).toBe("2024.2-ubuntu-noble");
    expect(g("2025.1", { kolla_base_distro: "debian" }).tag).toBe("2025.1-debian-bookworm");
    expect(() => readGlobals({ ...SEED, openstack_release: "2024.2" }, "t")).toThrow(
      /enable_proxysql is "yes" \(kolla-ansible 19.0.0's default\)/,
    );
    // Physnets: named by neutron_physical_networks from 2024.2; before, the key means nothing to kolla.
    const named = g("2024.2", { neutron_physical_networks: "public,vlans" });
    expect(bridgeMappings(named).map((m) => `${m.physnet}:${m.bridge}`)).toEqual(["public:br-ex", "vlans:br-ex2"]);
    const facts = { apiAddress: "10.10.10.11", vip: "10.10.10.11", hostname: "openstack" };
    const files = (gl: ReturnType<typeof g>) => renderNeutronConfig(gl, facts, openstackPaths("/x")).files;
    expect(files(named)["ml2_conf.ini"]).toContain("flat_networks = public,vlans");
    expect(files(named)["openvswitch_agent.ini"]).toContain("bridge_mappings = public:br-ex,vlans:br-ex2");
    const old = g("2024.1", { neutron_physical_networks: "public,vlans" });
    expect(old.ignored).toContain("neutron_physical_networks");
    expect(files(old)["openvswitch_agent.ini"]).toContain("bridge_mappings = physnet1:br-ex,physnet2:br-ex2");
    expect(() => g("2025.1", { neutron_physical_networks: "public" })).toThrow(/names 1 network\(s\) for 2 bridge\(s\)/);
    // neutron.conf: quorum queues from 2023.2, state_path from 2024.1, the queue manager's options in 2025.1.
    expect(files(g("2023.1"))["neutron.conf"]).not.toContain("rabbit_quorum_queue");
    expect(files(g("2023.2"))["neutron.conf"]).toMatch(
      /\[oslo_messaging_rabbit\]\nheartbeat_in_pthread = false\nrabbit_quorum_queue = true\n/,
    );
    expect(files(g("2024.1"))["neutron.conf"]).toContain("state_path = /x/openstack/state/kolla");
    expect(files(g("2024.1"))["neutron.conf"]).not.toContain("metadata_proxy_socket");
    expect(files(g("2025.1"))["neutron.conf"]).toContain("use_queue_manager = true");
    expect(files(g("2025.1"))["neutron.conf"]).toContain("rabbit_transient_quorum_queue = true");
  });

  it("ML2/OVN (neutron_plugin_agent ovn): site.yml's ovn-controller and ovn-db plays after openvswitch, the 2025.1 relay, neutron-server and the OVN metadata agent only, and the OVN files each release renders", () => {
    const g = (release: string, extra: Record<string, unknown> = {}) =>
      readGlobals(
        {
          ...SEED,
          neutron_plugin_agent: "ovn",
          openstack_release: release,
          ...(Number(release) >= 2024.2 ? { enable_proxysql: "no" } : {}),
          ...extra,
        },
        "t",
      );
    expect(g("2023.1").plugin).toBe("ovn");
    expect(readGlobals(SEED, "t").plugin).toBe("openvswitch");
    expect(() => readGlobals({ ...SEED, neutron_plugin_agent: "linuxbridge" }, "t")).toThrow(
      /neutron_plugin_agent "linuxbridge" is not modelled/,
    );
    expect(() => g("2023.1", { neutron_ovn_distributed_fip: "yes" })).toThrow(/neutron_ovn_distributed_fip is "yes"/);
    // kolla's enable_nova_fake (the real nova here) goes with either mechanism driver.
    expect([g("2025.1", { enable_nova_fake: "yes" }).novaFake, g("2025.1").novaFake, readGlobals(SEED, "t").novaFake]).toEqual([
      true,
      false,
      false,
    ]);
    const names = (release: string) => playsFor(release, "ovn").map((p) => p.name);
    // 16.0.0-18.0.0: nova.yml, openvswitch, ovn-controller, ovn-db, neutron; 19.0.0 on: nova.yml after ovn-db.
    const ovs = names("2023.1").indexOf("Apply role openvswitch");
    expect(names("2023.1").slice(ovs, ovs + 4)).toEqual([
      "Apply role openvswitch",
      "Apply role ovn-controller",
      "Apply role ovn-db",
      "Apply role neutron",
    ]);
    const ovs25 = names("2025.1").indexOf("Apply role openvswitch");
    expect(names("2025.1").slice(ovs25, ovs25 + 4)).toEqual([
      "Apply role openvswitch",
      "Apply role ovn-controller",
      "Apply role ovn-db",
      "Bootstrap nova API databases",
    ]);
    const pulls = (release: string, role: string) =>
      playsFor(release, "ovn")
        .find((p) => p.role === role)!
        .pulls.map((p) => `${p.task} (${p.image})`);
    expect(pulls("2023.1", "ovn-controller")).toEqual(["Restart ovn-controller container (ovn-controller)"]);
    expect(pulls("2024.2", "ovn-db")).toEqual([
      "Restart ovn-nb-db container (ovn-nb-db-server)",
      "Restart ovn-sb-db container (ovn-sb-db-server)",
      "Restart ovn-northd container (ovn-northd)",
    ]);
    expect(pulls("2025.1", "ovn-db")).toContain("Restart ovn-sb-db-relay container (ovn-sb-db-relay)");
    expect(pulls("2023.1", "neutron")).toEqual([
      "Running Neutron bootstrap container (neutron-server)",
      "Restart neutron-ovn-metadata-agent container (neutron-metadata-agent)",
    ]);
    const facts = { apiAddress: "10.10.10.11", vip: "10.10.10.11", hostname: "openstack" };
    const render = (gl: ReturnType<typeof g>) => renderNeutronConfig(gl, facts, openstackPaths("/x"));
    const r23 = render(g("2023.1"));
    expect(Object.keys(r23.daemons).sort()).toEqual(["neutron-ovn-metadata-agent", "neutron-server"]);
    expect(Object.keys(r23.files).sort()).toEqual(["ml2_conf.ini", "neutron.conf", "neutron_ovn_metadata_agent.ini"]);
    expect(r23.files["neutron.conf"]).toContain("service_plugins = ovn-router");
    expect(r23.files["neutron.conf"]).not.toContain("interface_driver");
    expect(r23.files["ml2_conf.ini"]).toMatch(/mechanism_drivers = ovn\n/);
    expect(r23.files["ml2_conf.ini"]).toMatch(/tenant_network_types = geneve\n/);
    expect(r23.files["ml2_conf.ini"]).toMatch(/\[ml2_type_geneve\]\nvni_ranges = 1001:2000\nmax_header_size = 38\n/);
    expect(r23.files["ml2_conf.ini"]).toContain("ovn_nb_connection = tcp:10.10.10.11:6641");
    expect(r23.files["ml2_conf.ini"]).toContain("ovn_sb_connection = tcp:10.10.10.11:6642");
    expect(r23.files["ml2_conf.ini"]).toContain("enable_distributed_floating_ip = False");
    expect(r23.files["ml2_conf.ini"]).not.toContain("ovn_emit_need_to_frag"); // added in 17.0.0
    expect(render(g("2023.2")).files["ml2_conf.ini"]).toContain("ovn_emit_need_to_frag = True");
    // 2025.1: neutron-server talks to the southbound database, the metadata agent to the relay.
    const r25 = render(g("2025.1"));
    expect(r25.files["ml2_conf.ini"]).toContain("ovn_sb_connection = tcp:10.10.10.11:6642");
    expect(r25.files["neutron_ovn_metadata_agent.ini"]).toContain("ovn_sb_connection = tcp:10.10.10.11:16641");
    expect(r25.daemons["neutron-ovn-metadata-agent"]).toEqual(["neutron.conf", "neutron_ovn_metadata_agent.ini"]);
    // An ML2/OVS agent's file (or a service's own neutron.conf) on an ML2/OVN deploy reaches no container: the deploy says so.
    const over = (path: string, file: string, text: string, service?: NeutronService): KollaOverride => ({
      path,
      file,
      ...(service ? { service } : {}),
      ini: parseIni(text, path, file),
    });
    const ovsAgent = over("neutron/openvswitch_agent.ini", "openvswitch_agent.ini", "[securitygroup]\nfirewall_driver = openvswitch\n");
    const l3conf = over("neutron/neutron-l3-agent.conf", "neutron.conf", "[DEFAULT]\ndebug = true\n", "neutron-l3-agent");
    const ml2 = over("neutron/ml2_conf.ini", "ml2_conf.ini", "[ml2_type_vlan]\nnetwork_vlan_ranges = physnet2:100:200\n");
    expect(unusedOverrides(g("2025.1"), [ovsAgent, l3conf, ml2]).map((o) => o.path)).toEqual([
      "neutron/openvswitch_agent.ini",
      "neutron/neutron-l3-agent.conf",
    ]);
    expect(unusedOverrides(readGlobals(SEED, "t"), [ovsAgent, l3conf, ml2])).toEqual([]);
  });

  it("neutron.conf keeps neutron's own default log levels (read from the pinned toolchain's oslo.log and neutron) and adds one module at DEBUG whose end labwright awaits: ML2/OVN's OVN DB sync, ML2/OVS's L3 agent; no override may change the list", () => {
    const facts = { apiAddress: "10.10.10.11", vip: "10.10.10.11", hostname: "openstack" };
    const g = (release: string) =>
      readGlobals(
        {
          ...SEED,
          neutron_plugin_agent: "ovn",
          openstack_release: release,
          ...(Number(release) >= 2024.2 ? { enable_proxysql: "no" } : {}),
        },
        "t",
      );
    const ovn = renderNeutronConfig(g("2025.1"), facts, openstackPaths("/x"));
    expect(ovn.ovnSyncLogged).toBe(true);
    expect(ovn.files["neutron.conf"]).toContain(
      `default_log_levels = ${[...NEUTRON_DEFAULT_LOG_LEVELS, `${OVN_DB_SYNC_LOGGER}=DEBUG`].join(",")}\n`,
    );
    const ovs = renderNeutronConfig(readGlobals(SEED, "t"), facts, openstackPaths("/x"));
    expect(ovs.ovnSyncLogged).toBe(false);
    expect(ovs.files["neutron.conf"]).toContain(
      `default_log_levels = ${[...NEUTRON_DEFAULT_LOG_LEVELS, `${L3_AGENT_LOGGER}=DEBUG`].join(",")}\n`,
    );
    expect(ovs.daemons["neutron-l3-agent"]).toEqual(["neutron.conf", "l3_agent.ini"]);
    expect(() => parseIni("[DEFAULT]\ndefault_log_levels = amqp=WARN\n", "neutron/neutron-server.conf", "neutron.conf")).toThrow(
      /default_log_levels is one of oslo.log's options/,
    );
    // The list is neutron's own default (oslo.log's DEFAULT_LOG_LEVELS, then neutron's EXTRA_LOG_LEVEL_DEFAULTS), as the toolchain has them.
    const built = builtToolchain(loadToolchain(DEFAULT_TOOLCHAIN));
    if (!built) throw new Error("the default toolchain is not built (scripts/test builds it first)");
    const py = join(built.root, "usr/lib/python3/dist-packages");
    const list = (file: string, name: string) => {
      const text = readFileSync(join(py, file), "utf8");
      const body = new RegExp(`^${name} = \\[([^\\]]*)\\]`, "m").exec(text)?.[1];
      if (body === undefined) throw new Error(`${name} not found in ${file}`);
      return [...body.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    };
    const defaults = [
      ...list("oslo_log/_options.py", "DEFAULT_LOG_LEVELS"),
      ...list("neutron/common/config.py", "EXTRA_LOG_LEVEL_DEFAULTS"),
    ];
    expect(defaults.length).toBeGreaterThan(20);
    expect(NEUTRON_DEFAULT_LOG_LEVELS).toEqual(defaults);
  });

  it("openstack lines go to the real client as words; other services are refused; nova's and glance's go to the real nova, else the stand-in takes its two commands and the rest is refused saying why", () => {
    expect(parseOpenstack("security group rule create --protocol icmp default").argv).toEqual([
      "security",
      "group",
      "rule",
      "create",
      "--protocol",
      "icmp",
      "default",
    ]);
    expect(() => parseOpenstack("volume create v1")).toThrow(
      /the lab's cloud runs neutron .* and nova and glance .* when kolla's enable_nova_fake is "yes"/,
    );
    // nova's and glance's commands parse; without the real nova they are refused at run time, with the reason.
    for (const line of ["server list", "flavor create --id 0 --vcpus 1 --ram 64 --disk 1 m1.nano", "image list", "console url show vm1"]) {
      const c = parseOpenstack(line);
      expect(c.service, line).toBe("compute");
      expect(novaRefusal(c), line).toMatch(/nova runs for real only when globals\.yml has kolla's enable_nova_fake: "yes"/);
    }
    const nic = parseOpenstack("server create --flavor m1.nano --image cirros --nic net-id=n1 --key-name mykey selfservice-instance");
    expect(nic.server).toBe("selfservice-instance");
    expect(novaRefusal(nic)).toMatch(/--nic is not taken by labwright's stand-in for nova/);
    expect(novaRefusal(parseOpenstack("server create vm1 --network n --config-drive true"))).toMatch(
      /--config-drive is not taken by labwright's stand-in for nova/,
    );
    const standIn = parseOpenstack("server create vm1 --network n --image cirros --security-group web");
    expect(standIn.nova).toEqual({ verb: "server create", name: "vm1", network: "n", securityGroups: ["web"] });
    expect(novaRefusal(standIn)).toBeUndefined();
    // Inside $(...) only the real nova answers.
    const inner = parseOpenstack("server add floating ip vm1 $(openstack server show vm1 -f value -c id)").substitutions[0]!;
    expect(novaRefusal(inner)).toMatch(/stand-in for nova is not used inside/);
    expect(novaRefusal(parseOpenstack("network list"))).toBeUndefined();
    expect(() => parseOpenstack("server add floating ip vm1 $(openstack floating ip create public)")).toThrow(/use -f value/);
    expect(() => parseOpenstack("network create 'a;b'")).toThrow(/without shell syntax/);
    expect(parseOpenstack("router create --ha r1").router).toBe("r1");
  });

  it("neutron's log scan: a traceback is one record, judged by its first line; neutron 21's harmless MappingNotFound is allowed, anything else is reported", async () => {
    const dir = scratchDir("lw-neutron-log-");
    const head = "2026-11-30 22:23:35.602 142 ERROR neutron_lib.callbacks.manager [None req-1 - fake_project_id - - - -]";
    writeFileSync(
      join(dir, "neutron-openvswitch-agent.log"),
      [
        "2026-11-30 22:23:35.500 142 INFO neutron.agent [-] fine",
        `${head} Error during notification for neutron.plugins.ml2.drivers.openvswitch.agent.ovs_neutron_agent.CacheBackedPluginApi._legacy_notifier-218767 Network, after_update: neutron.plugins.ml2.drivers.openvswitch.agent.vlanmanager.MappingNotFound: Mapping VLAN for network da9cd267 with segmentation id <all> not found.`,
        `${head} Traceback (most recent call last):`,
        `${head}   File "x.py", line 1, in y`,
        "2026-11-30 22:23:36.000 142 ERROR neutron.agent.l3.agent [-] Failed reporting state!: boom",
        "2026-11-30 22:23:36.000 142 ERROR neutron.agent.l3.agent Traceback (most recent call last):",
        "",
      ].join("\n"),
    );
    const host = new NetnsHost("openstack", "unused", dir);
    const v = judgeLogs(await scanLogs(await openstackLogSources(host, dir)), [], false);
    expect(v.errors.map(findingLine)).toEqual([
      "openstack neutron-openvswitch-agent: 2026-11-30 22:23:36.000 142 ERROR neutron.agent.l3.agent [-] Failed reporting state!: boom (+1 lines of its traceback)",
    ]);
    expect(v.allowed).toBe(1);
  });
});

describe(`[${BACKEND}] the seed's failure: eth4 is a provider interface and carries the default route`, () => {
  const sc = scenario(lab, "deploy-loses-internet");
  const s = useLab(lab);

  it("before the deploy, the node pulls from the registry over eth4, and the real client has no cloud to talk to", async () => {
    expect((await s().http("openstack", "http://quay.io/v2/")).status).toBe(200);
    const r = await os(s(), "network list");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Cloud kolla-admin was not found.");
  });

  it("the precheck flags both the default route and the address on eth4, and changes nothing", async () => {
    const r = await kolla(s()).precheck(kollaStep(sc.name, "precheck").globals);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/eth4 holds the default route \(default via 138\.4\.7\.129\)/);
    expect(r.stderr).toMatch(/eth4 holds 138\.4\.7\.200\/25/);
    expect((await s().sh("openstack", "ip route show default")).stdout).toContain("dev eth4");
  });

  it("the deploy follows 2023.1's site.yml: nova's plays pull, openvswitch makes eth4 a port of br-ex, and neutron's bootstrap container is the first pull that fails", async () => {
    const r = await kolla(s()).deploy(kollaStep(sc.name, "deploy").globals);
    expect(r.exitCode).not.toBe(0);
    const out = r.stdout;
    const at = (t: string) => out.indexOf(t);
    expect(at("RUNNING HANDLER [nova-cell : Restart nova-compute container]")).toBeGreaterThan(0);
    expect(at("TASK [openvswitch : Ensuring OVS bridge is properly setup]")).toBeGreaterThan(at("nova-compute container"));
    expect(at("changed: [openstack] => (item=['br-ex', 'eth4'])")).toBeGreaterThan(at("Ensuring OVS bridge"));
    expect(at("TASK [neutron : Running Neutron bootstrap container]")).toBeGreaterThan(at("item=['br-ex', 'eth4']"));
    expect(out).toMatch(
      /fatal: \[openstack\]: FAILED! => .*500 Server Error for http\+docker:\/\/localhost\/v1\.41\/images\/create\?tag=2023\.1-ubuntu-jammy&fromImage=quay\.io%2Fopenstack\.kolla%2Fneutron-server/,
    );
    expect(out).toContain("failed=1");
    expect(out).not.toContain("PLAY [Apply role heat]");
  });

  it("neutron never started: the client still has no cloud, and nothing listens on neutron's port", async () => {
    expect((await os(s(), "network list")).stderr).toContain("Cloud kolla-admin was not found.");
    expect((await s().sh("openstack", "ss -Htln sport = :9696")).stdout.trim()).toBe("");
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

describe(`[${BACKEND}] the seed's failure in each kolla release: eth4 in the provider list breaks the deploy at that release's first pull after the openvswitch play`, () => {
  const seedGlobals = parseYaml(readFileSync(join(dirname(KOLLA_LAB), "kolla-globals.yml"), "utf8")) as Record<string, unknown>;
  /** The seed's globals.yml with `extra`; from 2024.2 ProxySQL off, as without haproxy. */
  const seedFor = (release: string, extra: Record<string, unknown> = {}) =>
    readGlobals(
      { ...seedGlobals, openstack_release: release, ...(Number(release) >= 2024.2 ? { enable_proxysql: "no" } : {}), ...extra },
      "kolla-globals.yml",
    );
  /** A failed deploy's lines, its `fatal:` line and the task it belongs to. */
  const failure = (stdout: string) => {
    const lines = stdout.split("\n");
    const fatal = lines.findIndex((l) => l.startsWith("fatal: [openstack]"));
    const task = lines.slice(0, fatal).findLast((l) => l.startsWith("TASK [") || l.startsWith("RUNNING HANDLER ["));
    return { lines, fatal, task };
  };
  for (const [release, expected] of [
    ["2023.2", "TASK [neutron : Running Neutron bootstrap container]"],
    ["2024.1", "TASK [neutron : Running Neutron bootstrap container]"],
    ["2024.2", "TASK [nova : Running Nova API bootstrap container]"],
    ["2025.1", "TASK [nova : Running Nova API bootstrap container]"],
  ] as const) {
    it(`${release}: pulls over eth4 until openvswitch makes it a port of br-ex, then fails at ${expected}`, async () => {
      const g = seedFor(release);
      await using started = await start(lab, { backend: BACKEND });
      const r = await kolla(started).deploy(g);
      expect(r.exitCode, r.stdout).toBe(2);
      const { lines, fatal, task } = failure(r.stdout);
      expect(task).toContain(expected);
      // The openvswitch play ran (every pull before it went through eth4), and nothing after the failed task did.
      expect(lines.indexOf(lines.find((l) => l.startsWith("PLAY [Apply role openvswitch]"))!)).toBeGreaterThan(0);
      expect(lines.indexOf(lines.find((l) => l.startsWith("PLAY [Apply role openvswitch]"))!)).toBeLessThan(fatal);
      expect(lines[fatal]).toContain(`tag=${g.tag}&fromImage=`);
      expect(g.tag).toBe(`${release}-ubuntu-${g.rel.codenames.ubuntu}`);
      expect(r.stdout).toContain(`[labwright] kolla-ansible ${release} (${g.rel.kollaAnsible})`);
      expect((await started.sh("openstack", "ovs-vsctl list-ports br-ex")).stdout.trim()).toBe("eth4");
      expect((await started.ping("openstack", "inet", { count: 2 })).received).toBe(0);
    });
  }

  for (const release of ["2023.1", "2025.1"] as const) {
    it(`${release} with ML2/OVN: ovn-controller's setup-ovs runs, then its handler's pull is the first that fails`, async () => {
      const g = seedFor(release, { neutron_plugin_agent: "ovn" });
      await using started = await start(lab, { backend: BACKEND });
      const r = await kolla(started).deploy(g);
      expect(r.exitCode, r.stdout).toBe(2);
      const { lines, fatal, task } = failure(r.stdout);
      expect(task).toContain("RUNNING HANDLER [ovn-controller : Restart ovn-controller container]");
      expect(lines[fatal]).toContain("fromImage=quay.io%2Fopenstack.kolla%2Fovn-controller");
      // setup-ovs.yml ran before the pull: br-int and the chassis' settings are in the switch database.
      expect((await started.sh("openstack", "ovs-vsctl get open_vswitch . external_ids:ovn-cms-options")).stdout.trim()).toBe(
        "enable-chassis-as-gw",
      );
      expect((await started.sh("openstack", "ovs-vsctl list-ports br-ex")).stdout.trim()).toBe("eth4");
      expect((await started.ping("openstack", "inet", { count: 2 })).received).toBe(0);
    });
  }

  it(
    "2024.2 with the seed's workaround: the deploy completes on 2024.2's plays, neutron's four agents report, and its RPC queues are RabbitMQ quorum queues (kolla's om_enable_rabbitmq_quorum_queues); no daemon logs an error the allowlists do not allow",
    { timeout: 300_000 },
    async () => {
      const g = seedFor("2024.2");
      await using started = await start(lab, { backend: BACKEND });
      await applySteps(started, stepsBefore(scenario(lab, "management-route-workaround"), "kolla-ansible deploy"));
      const r = await kolla(started).deploy(g);
      expect(r.exitCode, r.stdout).toBe(0);
      expect(r.stdout).toContain("RUNNING HANDLER [mariadb : Restart mariadb-clustercheck container]");
      expect(r.stdout.indexOf("PLAY [Apply role openvswitch]")).toBeLessThan(r.stdout.indexOf("PLAY [Bootstrap nova API databases]"));
      const agents = await os(started, "network agent list -f value -c Binary -c Alive");
      expect(agents.stdout.split("\n").filter(Boolean).sort()).toEqual([
        "True neutron-dhcp-agent",
        "True neutron-l3-agent",
        "True neutron-metadata-agent",
        "True neutron-openvswitch-agent",
      ]);
      const queues = await kolla(started).queues();
      // neutron's topic queues (durable) are quorum queues; its fanout and reply queues stay classic (oslo.messaging 14.0.3).
      expect(queues.find((q) => q.name === "q-plugin")?.type).toBe("quorum");
      expect(queues.find((q) => q.name === "q-reports-plugin")?.type).toBe("quorum");
      // Its daemons' logs are judged as every deployed cloud's are (a RabbitMQ crash here would fail it).
      const { verdict, bundle } = await judgeAndStop(started, { logAllow: scenario(lab, "management-route-workaround").logAllow });
      expect(verdict.ok, `${verdict.errors.map(findingLine).join("\n")}\n${bundle ?? ""}`).toBe(true);
    },
  );
});

// The workaround's cloud, then the floating IPs on it: one lab, one deploy (about 23 s of each
// deploy here). The floating IPs' steps after their deploy run where the workaround left the node:
// deployed with the seed's route, then eth4 flushed (the floating-ips scenario flushes it first: the
// same node state once deployed). Its daemon logs are judged once, at the end, with agents-restart's
// entries (the last test runs that scenario's restarts; before them no run logged what they allow).
describe(`[${BACKEND}] the seed's workaround, then floating IPs on the same cloud`, () => {
  const s = useLab(lab, { logAllow: scenario(lab, "agents-restart").logAllow });

  describe("the seed's workaround: default route via eth1 to osm, then the real neutron", () => {
    const sc = scenario(lab, "management-route-workaround");

    it(
      "with the route moved, the same deploy completes and starts neutron; the node's traffic leaves through osm (TTL 62)",
      { timeout: 600_000 },
      async () => {
        await applySteps(s(), stepsBefore(sc, "kolla-ansible deploy"));
        const r = await kolla(s()).deploy(kollaStep(sc.name, "deploy").globals);
        expect(r.exitCode, r.stdout).toBe(0);
        expect(r.stdout).toContain("RUNNING HANDLER [neutron : Restart neutron-server container]");
        expect(r.stdout).toContain("PLAY [Apply role horizon]");
        expect(r.stdout).toContain("failed=0");
        const p = await s().ping("openstack", "inet", { count: 3 });
        expect(p.replies.map((x) => x.ttl)).toEqual([62, 62, 62]);
      },
    );

    it("the real client lists neutron's four agents, alive, registered under the node's name", async () => {
      const r = await os(s(), "network agent list -f json -c Binary -c Host -c Alive");
      expect(r.exitCode, r.stderr).toBe(0);
      const agents = (JSON.parse(r.stdout) as { Binary: string; Host: string; Alive: boolean }[])
        .map((a) => `${a.Binary} ${a.Host} ${a.Alive}`)
        .sort();
      expect(agents).toEqual([
        "neutron-dhcp-agent openstack true",
        "neutron-l3-agent openstack true",
        "neutron-metadata-agent openstack true",
        "neutron-openvswitch-agent openstack true",
      ]);
    });

    it("the client imported once prints what the plain `openstack` prints: same exit code, standard output and error", async () => {
      // The steps' client (stacks/openstack/client/) against /usr/bin/openstack run in the same node.
      // (Not `--help`: the plain client's own help lists the auth options in another order each run,
      // Python's per-process hash seed ordering a set.)
      const lines = [
        "network agent list -f value -c Binary -c Host -c Alive --sort-column Binary",
        "network list -f json",
        "network show no-such-network",
        "router list",
        "network frobnicate",
        "--version",
        "extension list -f value -c Alias --network",
      ];
      const node = s().host("openstack");
      const view = node.machineView?.() ?? node; // where the steps' client runs (this machine's tools, the node's network and environment)
      // The plain client's runs side by side (each is 1.6-2.5 s of Python start-up; none changes the cloud).
      const plain = await Promise.all(lines.map((line) => view.exec(["openstack", ...line.split(" ")], { timeoutS: 120 })));
      for (const [k, line] of lines.entries()) {
        const fast = await kolla(s()).client(line.split(" "));
        expect([fast.exitCode, fast.stdout, fast.stderr], line).toEqual([plain[k]!.exitCode, plain[k]!.stdout, plain[k]!.stderr]);
      }
    });

    it("the OVS agent set up its bridges: br-int and br-tun, each physical bridge patched to br-int, in secure mode, on kolla's ovsdb listener", async () => {
      const br = (await s().sh("openstack", "ovs-vsctl list-br")).stdout.trim().split("\n");
      expect(br.sort()).toEqual(["br-ex", "br-ex2", "br-int", "br-tun"]);
      expect((await s().sh("openstack", "ovs-vsctl list-ports br-int")).stdout).toMatch(/int-br-ex\n.*int-br-ex2/s);
      expect((await s().sh("openstack", "ovs-vsctl get bridge br-ex fail_mode")).stdout.trim()).toBe("secure");
      expect((await s().sh("openstack", "ovs-vsctl get-manager")).stdout.trim()).toBe("ptcp:6640:127.0.0.1");
    });

    it("RabbitMQ's Erlang VM runs with kolla's arguments: two schedulers, none busy-waiting for work", async () => {
      const beam = (await s().sh("openstack", "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done | grep '^[^ ]*beam'"))
        .stdout;
      // erl passes each `+X` emulator flag on to beam as `-X`.
      expect(beam).toContain(KOLLA_RABBITMQ_ERL_ARGS.replace(/\+/g, "-"));
      const ctl = await kolla(s()).rabbitmqctl(["eval", "erlang:system_info(schedulers_online)."]);
      expect(ctl.stdout.trim(), ctl.stderr).toBe("2");
    });

    it("the address left on eth4 makes the department LAN a black hole until it is flushed", async () => {
      expect((await s().ping("openstack", "138.4.7.202", { count: 2 })).received).toBe(0);
      await s().sh("openstack", "ip addr flush dev eth4");
      const p = await s().ping("openstack", "138.4.7.202", { count: 2 });
      expect(p.replies.map((x) => x.ttl)).toEqual([63, 63]);
      expect((await kolla(s()).precheck(kollaStep(sc.name, "precheck", 1).globals)).exitCode).toBe(0);
    });
  });

  describe("floating IPs and neutron's security groups: pool 138.4.7.216-218, a router and a self-service network", () => {
    const sc = scenario(lab, "floating-ips");
    const POOL = ["138.4.7.216", "138.4.7.217", "138.4.7.218"];

    it(
      "the router's gateway and two floating IPs take the three addresses; a third floating IP fails with neutron's own message",
      { timeout: 600_000 },
      async () => {
        // floating-ips' steps after its deploy (the workaround's tests above ran the ones before it).
        const before = stepsBefore(sc, "server add floating ip");
        await applySteps(s(), before.slice(before.indexOf(kollaStep(sc.name, "deploy")) + 1));
        const gw = s().addressOf("client", "router1:gateway");
        const f1 = (await os(s(), "floating ip create public -f value -c floating_ip_address")).stdout.trim();
        const f2 = (await os(s(), "floating ip create public -f value -c floating_ip_address")).stdout.trim();
        expect([gw, f1, f2].sort()).toEqual(POOL);
        const r = await os(s(), "floating ip create public");
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(/ConflictException: 409, No more IP addresses available on network [0-9a-f-]{36}\./);
        expect((await os(s(), `server add floating ip vm1 ${f1}`)).exitCode).toBe(0);
        for (const v of s().neutron) await v.settle(null);
        expect(s().addressOf("client", "vm1:floating")).toBe(f1);
      },
    );

    it("neutron's default security group drops what comes in: no ping, no SSH to the instance, while the router's gateway answers", async () => {
      expect((await s().ping("client", "vm1:floating", { count: 3 })).received).toBe(0);
      expect((await s().tcp("client", "vm1:floating", 22)).open).toBe(false);
      expect((await s().ping("client", "router1:gateway", { count: 2 })).replies.map((x) => x.ttl)).toEqual([64, 64]);
    });

    it("allowing ICMP and TCP 22 in the default group opens both; the client reaches the instance with TTL 63", async () => {
      for (const line of [
        "security group rule create --protocol icmp default",
        "security group rule create --protocol tcp --dst-port 22 default",
      ]) {
        const step = sc.steps.find((x) => x.kind === "openstack" && x.line === line)!;
        expect((await s().runStep(step as Exclude<Step, { kind: "check" }>)).asExpected).toBe(true);
      }
      const p = await s().ping("client", "vm1:floating", { count: 3 });
      expect(p.replies.map((x) => x.ttl)).toEqual([63, 63, 63]);
      expect((await s().tcp("client", "vm1:floating", 22)).open).toBe(true);
    });

    it("the hybrid firewall is real: the instance's qvo/qvb/qbr and iptables chains on the node, the rules in them", async () => {
      const links = (await s().sh("openstack", "ip -o link show | awk -F': ' '{print $2}'")).stdout;
      expect(links).toMatch(/^qbr[0-9a-f-]{11}/m);
      expect(links).toMatch(/^qvo[0-9a-f-]{11}@qvb/m);
      const rules = (await s().sh("openstack", "iptables -S")).stdout;
      expect(rules).toMatch(/-A neutron-openvswi-i[0-9a-f-]{10} -p icmp -j RETURN/);
      expect(rules).toMatch(/-A neutron-openvswi-i[0-9a-f-]{10} -p tcp -m tcp --dport 22 -j RETURN/);
    });

    it("the router is the L3 agent's qrouter namespace with qg-/qr- ports and neutron's NAT rules", async () => {
      const links = (await s().sh("qrouter-router1", "ip -o link show | awk -F': ' '{print $2}'")).stdout;
      expect(links).toMatch(/^qg-[0-9a-f-]{11}/m);
      expect(links).toMatch(/^qr-[0-9a-f-]{11}/m);
      const fip = s().addressOf("client", "vm1:floating");
      const fixed = s().addressOf("client", "vm1");
      const nat = (await s().sh("qrouter-router1", "iptables -t nat -S")).stdout;
      expect(nat).toContain(`-A neutron-l3-agent-PREROUTING -d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      expect(nat).toContain(`-A neutron-l3-agent-float-snat -s ${fixed}/32 -j SNAT --to-source ${fip}`);
      expect((await s().sh("qrouter-router1", "ip -4 -o addr show")).stdout).toContain(`${fip}/32`);
    });

    it("the instance reaches the internet host through SNAT to its floating IP", async () => {
      const fip = s().addressOf("client", "vm1:floating");
      const cap = await s().capture("inet", "icmp and icmp[icmptype] == icmp-echo");
      const p = await s().ping("vm1", "inet", { count: 2 });
      expect(p.replies.map((x) => x.ttl)).toEqual([62, 62]);
      expect(new Set(await cap.stop())).toEqual(new Set([fip]));
      expect((await s().http("vm1", "http://quay.io/v2/")).status).toBe(200);
    });

    it("traceroute to the floating IP: the router's hop is the floating IP; the instance answers only once UDP to traceroute's ports is allowed", async () => {
      const fip = s().addressOf("client", "vm1:floating");
      expect((await s().trace("client", fip, 3)).hops.map((h) => h.address)).toEqual([fip, null, null]);
      const step = sc.steps.find((x) => x.kind === "openstack" && x.line.includes("--protocol udp"))!;
      expect((await s().runStep(step as Exclude<Step, { kind: "check" }>)).asExpected).toBe(true);
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

    it(
      "agents-restart: the OVS agent and the L3 agent restarted (SIGTERM, same command), then a redeploy that restarts neutron-server, while the client pings the floating IP every 20 ms: all report again; at most 5 probes lost, none outside the restarts, no gap over 500 ms",
      { timeout: 300_000 },
      async () => {
        // The scenario continues this one: its own steps are the ones after floating-ips' steps.
        const own = scenario(lab, "agents-restart").steps.slice(sc.steps.length);
        expect(own.map((x) => x.kind)).toEqual(["watch", "fault", "fault", "kolla", "run"]);
        const refused = await s().runStep({ ...(own[1] as Extract<Step, { kind: "fault" }>), target: "rabbitmq" });
        expect(refused.result.stderr).toContain(
          'labwright restarts neutron\'s daemons on openstack: neutron-server, neutron-openvswitch-agent, neutron-l3-agent, neutron-dhcp-agent (not "rabbitmq")',
        );
        const before = await os(s(), "network agent list -f value -c Binary -c Alive");
        for (const step of own as Exclude<Step, { kind: "check" }>[]) {
          const r = await s().runStep(step);
          expect(r.asExpected, `${step.on}$ ${r.reason}\n${r.result.stdout}${r.result.stderr}`).toBe(true);
          if (step.kind === "kolla") {
            expect(r.result.stdout).toContain("RUNNING HANDLER [neutron : Restart neutron-server container]");
            expect(r.result.stdout).not.toContain("RUNNING HANDLER [neutron : Restart neutron-openvswitch-agent container]");
          }
        }
        const w = await s().watch("fip");
        // Measured in five runs: nothing lost in four; 1 of 2453 (a 124 ms gap) in one, 6.4 s after the
        // L3 agent's restart began, while the restarted agent synced router1.
        expect(w!.lost).toBeLessThanOrEqual(5);
        expect(w).toHaveOutageBelow(500);
        for (const o of w!.outages) expect(o.duringStep).toMatch(/restart/);
        // Both agents are back, alive, under the same registration.
        expect((await os(s(), "network agent list -f value -c Binary -c Alive")).stdout).toBe(before.stdout);
        expect((await s().ping("client", "vm1:floating", { count: 3 })).replies.map((x) => x.ttl)).toEqual([63, 63, 63]);
      },
    );
  });
});

describe(`[${BACKEND}] the install guide's "Launch an instance" on the real nova (kolla's enable_nova_fake)`, () => {
  it(
    "run by the CLI with this machine's own copies of the lab software unreachable: nova's API, scheduler, conductor and fake compute, placement and glance deploy as the toolchain's real daemons, with its neutron 21; the guide's flavor, key pair, image and server (--nic net-id=) are theirs; the server's port is bound to the node and plugged as os-vif plugs it; its floating IP answers with TTL 63",
    { timeout: 600_000 },
    async () => {
      const sc = scenario(lab, "install-guide-nova");
      expect(kollaStep(sc.name, "deploy").globals.novaFake).toBe(true);
      const { exitCode, output: cli, r } = await hiddenRun(sc.name);
      expect(notAsExpected(r), cli).toEqual([]);
      const output = (line: RegExp) => {
        const x = r.steps.find((s) => s.kind === "run" && line.test(s.run));
        return x && "output" in x ? x.output : "";
      };
      expect(output(/^kolla-ansible deploy/)).toContain("neutron is the toolchain's 21.0.0");
      expect(output(/^kolla-ansible deploy/)).toMatch(
        /\[labwright\] enable_nova_fake: nova, placement and glance are the real daemons too: nova 26\.\d+\.\d+, placement 8\.\d+\.\d+, glance 25\.\d+\.\d+ \(Debian 12's\), nova-compute with the fake driver/,
      );
      // nova's and glance's own answers.
      expect(output(/^openstack image list/)).toMatch(/\| cirros +\| active +\|/);
      expect(output(/^openstack flavor list/)).toMatch(/\| 0 +\| m1\.nano +\| +64 \| +1 \|/);
      expect(output(/^openstack server create .*net-id=no-such-net/)).toContain("No Network found for no-such-net");
      const created = output(/^openstack server create .*selfservice-instance$/);
      const id = /\| id +\| ([0-9a-f-]{36}) +\|/.exec(created)?.[1];
      expect(id, created).toBeDefined();
      expect(created).toMatch(/\| user_id +\| admin +\|/);
      expect(output(/^openstack server list/)).toMatch(
        new RegExp(
          `\\| ${id} \\| selfservice-instance \\| ACTIVE +\\| selfservice=172\\.16\\.1\\.\\d+(, 138\\.4\\.7\\.21[6-8])? +\\| cirros +\\| m1\\.nano`,
        ),
      );
      expect(output(/^openstack console url show/)).toContain("http://10.10.10.11:6080/vnc_lite.html?path=");
      // The port nova bound, plugged as os-vif plugs a hybrid port: its qvo end carries nova's server ID.
      const ovs = r.checks.find((c) => c.description.startsWith("openstack$ ovs-vsctl --bare --columns=name,external_ids list interface"));
      expect(ovs?.measurement.kind === "command" ? ovs.measurement.output : "").toMatch(new RegExp(`qvo[0-9a-f-]{11}[^]*vm-uuid=${id}`));
      expectCleanLogs(r);
      expect(r.ok).toBe(true);
      expect(exitCode, cli).toBe(0);
    },
  );
});

describe(`[${BACKEND}] ML2/OVN (kolla-ansible 2025.1, neutron_plugin_agent ovn): the floating-IP scenario in OVN's logical router`, () => {
  it(
    "the deploy completes with OVN's databases, the southbound relay, northd and ovn-controller, neutron-server and the OVN metadata agent; the floating IP is a dnat_and_snat on the gateway chassis; TTLs as with the L3 agent but the router's own answer (254); ovn-controller, northd and neutron-server restarted under a 20 ms ping cost at most 5 probes and no gap over 500 ms",
    { timeout: 600_000 },
    async () => {
      const fip = scenario(lab, "floating-ips-ovn");
      const step = kollaStep(fip.name, "deploy");
      expect([step.globals.release, step.globals.plugin]).toEqual(["2025.1", "ovn"]);
      // One run for both scenarios: ovn-restarts continues floating-ips-ovn (its steps, then the
      // restarts); both scenarios' expectations are judged at its end, after the restarts.
      const restarts = scenario(lab, "ovn-restarts");
      expect(restarts.steps.slice(0, fip.steps.length)).toEqual(fip.steps);
      const sc = { ...restarts, expect: [...fip.expect, ...restarts.expect], logAllow: [...fip.logAllow, ...restarts.logAllow] };
      const r = await runScenario(lab, sc, { backend: BACKEND, strictLogs: true });
      expect(notAsExpected(r)).toEqual([]);
      const deploy = r.steps.find((x) => x.kind === "run" && x.run.startsWith("kolla-ansible deploy"));
      const out = deploy && "output" in deploy ? deploy.output : "";
      expect(out).toContain("[labwright] kolla-ansible 2025.1 (20.0.0)");
      // The expectations that tell ML2/OVN from ML2/OVS: OVN's NAT on the gateway chassis, ovn-controller through the relay.
      expect(r.checks.map((c) => c.description)).toEqual(
        expect.arrayContaining([
          'openstack$ ovn-nbctl --bare --columns=type,external_ip find NAT type=dnat_and_snat → exit 0, prints "dnat_and_snat"',
          'openstack$ ovn-nbctl --bare --columns=chassis_name find Gateway_Chassis → exit 0, prints "openstack"',
          'openstack$ ovs-vsctl get open_vswitch . external_ids:ovn-remote → exit 0, prints "tcp:10.10.10.11:16641"',
        ]),
      );
      // Every reply's TTL (the expectations ask for one value; this says none differed).
      const ttl = (d: string) => {
        const m = r.checks.find((c) => c.description.startsWith(d))?.measurement;
        return m?.kind === "ping" ? [...new Set(m.replies.map((x) => x.ttl))].join(",") : undefined;
      };
      expect(ttl("client → vm1:floating reachable")).toBe("63");
      expect(ttl("client → router1:gateway reachable")).toBe("254");
      expect(ttl("vm1 → inet reachable")).toBe("62");
      const restarted = r.steps.filter((x) => x.kind === "run" && /restart (ovn-controller|ovn-northd|neutron-server)/.test(x.run));
      expect(restarted.map((x) => ("output" in x ? x.output : "").split(":")[0])).toEqual([
        "ovn-controller on openstack",
        "ovn-northd on openstack",
        "neutron-server on openstack",
      ]);
      const w = r.watches?.find((x) => x.name === "fip");
      expect(w?.lost).toBeLessThanOrEqual(5);
      expectCleanLogs(r);
      expect(r.ok).toBe(true);
    },
  );
});

describe(`[${BACKEND}] kolla-ansible 2025.1 with an openvswitch_agent.ini override: neutron's native OVS firewall`, () => {
  it(
    "run by the CLI with this machine's own copies of the lab software unreachable: 2025.1's deploy completes; kolla merges firewall_driver = openvswitch into the OVS agent's file: ports are bound without the hybrid plug, security groups are conntrack flows on br-int, and the floating IP answers once ICMP is allowed",
    { timeout: 600_000 },
    async () => {
      const sc = scenario(lab, "openvswitch-firewall");
      const step = kollaStep(sc.name, "deploy");
      expect(step.overrides.map((o) => [o.path, o.file])).toEqual([["neutron/openvswitch_agent.ini", "openvswitch_agent.ini"]]);
      expect([step.globals.release, step.globals.tag]).toEqual(["2025.1", "2025.1-ubuntu-noble"]);
      const { exitCode, output: cli, r } = await hiddenRun(sc.name);
      expect(notAsExpected(r), cli).toEqual([]);
      // 2025.1's plays: nova's after openvswitch, and the deploy says which neutron really runs.
      const deploy = r.steps.find((x) => x.kind === "run" && x.run.startsWith("kolla-ansible deploy"));
      const out = deploy && "output" in deploy ? deploy.output : "";
      expect(out).toContain("[labwright] kolla-ansible 2025.1 (20.0.0)");
      expect(out).toMatch(/neutron is the toolchain's 21\.0\.0 \(Debian 12's\); 2025\.1's images carry neutron 26/);
      expect(out.indexOf("PLAY [Apply role openvswitch]")).toBeLessThan(out.indexOf("PLAY [Bootstrap nova API databases]"));
      // The expectations that tell the native firewall from the hybrid one, each measured.
      expect(r.checks.map((c) => c.description)).toEqual(
        expect.arrayContaining([
          'openstack$ ip -o link show type bridge → exit 0, output exactly ""',
          'openstack$ ovs-ofctl dump-flows br-int → exit 0, prints "ct(commit,zone=NXM_NX_REG6[0..15]"',
        ]),
      );
      expectCleanLogs(r);
      expect(r.ok).toBe(true);
      expect(exitCode, cli).toBe(0);
    },
  );
});

describe(`[${BACKEND}] VLAN provider network on eth3, segment 100`, () => {
  const sc = scenario(lab, "vlan-provider-network");
  const s = useLab(lab, { logAllow: sc.logAllow }); // the scenario's own: its redeploy restarts neutron-server

  it(
    "kolla's empty network_vlan_ranges makes neutron refuse physnet2; the override, deployed again, restarts neutron-server alone",
    { timeout: 600_000 },
    async () => {
      const again = kollaStep(sc.name, "deploy", 1);
      const k = sc.steps.indexOf(again);
      await applySteps(s(), sc.steps.slice(0, k));
      const r = await kolla(s()).deploy(again.globals, again.overrides);
      expect(r.exitCode, r.stdout).toBe(0);
      expect(r.stdout).toContain("RUNNING HANDLER [neutron : Restart neutron-server container]");
      expect(r.stdout).not.toContain("Restart neutron-openvswitch-agent container");
      expect(r.stdout).not.toContain("TASK [neutron : Running Neutron bootstrap container]"); // its image is on the node already
      await applySteps(s(), sc.steps.slice(k + 1));
      expect((await os(s(), "network show vlan100 -f value -c provider:segmentation_id")).stdout.trim()).toBe("100");
    },
  );

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
    const rows = fdb
      .split("\n")
      .filter((l) => l.includes(mac))
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(rows).toEqual(["100"]);
  });
});
