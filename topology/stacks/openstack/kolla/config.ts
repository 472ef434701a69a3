import { cpus } from "node:os";
import { join } from "node:path";
import { type Ini, mergeIni, renderIni } from "../../../model/commands/ini.ts";
import {
  type KollaOverride,
  NEUTRON_SERVICES,
  OVN_NEUTRON_SERVICES,
  type NeutronService,
  overridesFor,
} from "../../../model/commands/kolla-overrides.ts";
import type { KollaGlobals } from "../../../model/commands/kolla-globals.ts";
import { bridgeMappings } from "./plays.ts";

/**
 * neutron's configuration files as kolla-ansible 2023.1 renders them for an all-in-one node with
 * ML2/OVS (roles/neutron/templates/*.j2 with kolla's defaults and the lab's globals.yml), the lab's
 * /etc/kolla/config/ overrides merged in kolla's order (model/commands/kolla-overrides.ts: each
 * service gets its own neutron.conf when a neutron/<service>.conf names it). What labwright changes is marked in
 * the files themselves with `labwright:` and listed in docs/lab-files.md:
 * - no keystone and no nova run here: `auth_strategy = noauth`, nova notifications off;
 * - the agents run as root in the node's enclave, so their root helper is `env` (kolla's
 *   `sudo neutron-rootwrap` only filters what root may run);
 * - OVS runs the userspace datapath (this kernel has no openvswitch module): `datapath_type = netdev`;
 * - paths are the node's directory, not kolla's container volumes.
 */

/** Where the node's OpenStack files live (in the node's directory, on this machine). */
export interface OpenstackPaths {
  /** neutron's configuration files and the client's clouds.yaml. */
  etc: string;
  /** Every daemon's log. */
  log: string;
  /** neutron's state_path (DHCP and metadata files, locks). */
  state: string;
  /** MariaDB's data directory and configuration. */
  mysql: string;
  /** RabbitMQ's mnesia, configuration and Erlang cookie. */
  rabbitmq: string;
}

export function openstackPaths(stateDir: string): OpenstackPaths {
  const base = join(stateDir, "openstack");
  return {
    etc: join(base, "etc"),
    log: join(base, "log"),
    state: join(base, "state"),
    mysql: join(base, "mysql"),
    rabbitmq: join(base, "rabbitmq"),
  };
}

/** Secrets of the lab's cloud (kolla generates them into passwords.yml; the lab's never leave it). */
export const PASSWORDS = { database: "neutron-lab-db", rabbitmq: "openstack-lab-mq", metadata: "openstack-lab-metadata" } as const;

export interface NodeFacts {
  /** api_interface (network_interface) address: services bind here. */
  apiAddress: string;
  /** kolla_internal_vip_address (else the API address): what clients and services connect to. */
  vip: string;
  /** The node's hostname: agents register under it. */
  hostname: string;
}

const ini = (sections: Record<string, Record<string, string | number | boolean>>): Ini =>
  new Map(Object.entries(sections).map(([s, kv]) => [s, new Map(Object.entries(kv).map(([k, v]) => [k, String(v)]))]));

/** kolla's `openstack_service_workers` / `openstack_service_rpc_workers`: min(vCPUs, 5) and min(vCPUs, 3). */
function workers(): { api: number; rpc: number } {
  const n = Math.max(1, cpus().length);
  return { api: Math.min(n, 5), rpc: Math.min(n, 3) };
}

export interface RenderedConfig {
  /** File name (in `paths.etc`) → contents. */
  files: Record<string, string>;
  /** The files each daemon's command reads (`--config-file`, in order), and dnsmasq.conf for the DHCP agent's dnsmasq. */
  daemons: Partial<Record<NeutronDaemon, string[]>>;
  /** ML2/OVN: neutron-server's file logs its OVN DB sync at DEBUG, and a (re)start awaits the sync's end. */
  ovnSyncLogged: boolean;
}

/** The module of neutron-server's start-up OVN DB sync (neutron 21: ovn_db_sync.py). */
export const OVN_DB_SYNC_LOGGER = "neutron.plugins.ml2.drivers.ovn.mech_driver.ovsdb.ovn_db_sync";
/** The L3 agent's module, whose full sync with neutron-server logs its end at DEBUG only (neutron 21: l3/agent.py). */
export const L3_AGENT_LOGGER = "neutron.agent.l3.agent";

/**
 * neutron's default log levels as its daemons set them: oslo.log 5.0.1's DEFAULT_LOG_LEVELS, then
 * neutron 21's EXTRA_LOG_LEVEL_DEFAULTS (neutron/common/config.py). labwright's neutron.conf gives
 * this list with one module more at DEBUG, whose DEBUG line labwright waits for
 * (neutron/services.ts):
 * - ML2/OVN: neutron-server's start-up OVN DB sync. It compares its database with OVN's northbound
 *   database 10 s after its maintenance worker starts (ovn_db_sync.py: `spawn_after_local(10,
 *   do_sync)`) and logs its start and end at DEBUG only. An `openstack` command during the sync
 *   makes it warn of what that command was creating ("Network found in OVN but not in Neutron",
 *   "Missing metadata port found in Neutron for network …": the clean-clone run of 2026-12-06 and a
 *   run of floating-ips-ovn the same day, its first `network create` 9.6 s after the worker started).
 *   An operator's first command comes long after it: a deploy, and a restart, end when it has ended.
 * - ML2/OVS: the L3 agent's full sync (its `sync_routers` call, at its start): before neutron-server
 *   stops, the agents' first sync is awaited, and the L3 agent's ends at DEBUG only. Measured
 *   (agents-restart, 2026-12-06 14:39): the redeploy's SIGTERM reached neutron-server 0.33 s after
 *   the restarted L3 agent started, while an RPC worker served its sync; that worker took 8.9 s to
 *   exit (the server's stop 10.6 s in all), and an answer lost there costs the agent its
 *   rpc_response_timeout (60 s) and an error. An operator's redeploy comes minutes later.
 * The list replaces neutron's default whole (oslo.config has no append; overrides may not set it:
 * model/commands/ini.ts): keep it the pinned toolchain's, as suites/kolla-openstack checks.
 */
export const NEUTRON_DEFAULT_LOG_LEVELS: readonly string[] = [
  // oslo.log 5.0.1
  "amqp=WARN",
  "amqplib=WARN",
  "boto=WARN",
  "qpid=WARN",
  "sqlalchemy=WARN",
  "suds=INFO",
  "oslo.messaging=INFO",
  "oslo_messaging=INFO",
  "iso8601=WARN",
  "requests.packages.urllib3.connectionpool=WARN",
  "urllib3.connectionpool=WARN",
  "websocket=WARN",
  "requests.packages.urllib3.util.retry=WARN",
  "urllib3.util.retry=WARN",
  "keystonemiddleware=WARN",
  "routes.middleware=WARN",
  "stevedore=WARN",
  "taskflow=WARN",
  "keystoneauth=WARN",
  "oslo.cache=INFO",
  "oslo_policy=INFO",
  "dogpile.core.dogpile=INFO",
  // neutron 21
  "OFPHandler=INFO",
  "OfctlService=INFO",
  "os_ken.base.app_manager=INFO",
  "os_ken.controller.controller=INFO",
];

/** labwright's `default_log_levels` for neutron (above): ML2/OVN's sync or ML2/OVS's L3 agent at DEBUG. */
export function neutronLogLevels(ovn: boolean): string[] {
  return [...NEUTRON_DEFAULT_LOG_LEVELS, `${ovn ? OVN_DB_SYNC_LOGGER : L3_AGENT_LOGGER}=DEBUG`];
}

export function renderNeutronConfig(
  g: KollaGlobals,
  facts: NodeFacts,
  paths: OpenstackPaths,
  overrides: readonly KollaOverride[] = [],
): RenderedConfig {
  const w = workers();
  const maps = bridgeMappings(g);
  const ovn = g.plugin === "ovn";
  /** The lab's release is this one or later (kolla's release names sort as numbers). */
  const since = (release: string) => Number(g.release) >= Number(release);
  const header = (file: string) => `# ${file} as kolla-ansible ${g.release} renders it for this node (labwright: changes marked)`;
  const neutron = ini({
    DEFAULT: {
      debug: "False",
      log_dir: paths.log,
      use_stderr: "False",
      bind_host: facts.apiAddress,
      bind_port: 9696,
      api_paste_config: "/etc/neutron/api-paste.ini",
      api_workers: w.api,
      rpc_workers: w.rpc,
      rpc_state_report_workers: w.rpc,
      // 2024.1 on: state_path /var/lib/neutron/kolla (the metadata socket's volume), the socket beneath it;
      // before: neutron's default state_path, the socket named (labwright: both in the node's directory).
      ...(since("2024.1")
        ? { "# labwright: kolla's /var/lib/neutron/kolla, in the node's directory": "", state_path: join(paths.state, "kolla") }
        : { state_path: paths.state, metadata_proxy_socket: join(paths.state, "kolla", "metadata_proxy") }),
      // ML2/OVN: no interface_driver (no DHCP or L3 agent), and OVN's own L3 plugin.
      ...(ovn ? {} : { interface_driver: "openvswitch" }),
      core_plugin: "ml2",
      service_plugins: ovn ? "ovn-router" : "router",
      transport_url: `rabbit://openstack:${PASSWORDS.rabbitmq}@${facts.vip}:5672//`,
      ipam_driver: "internal",
      "# labwright: no keystone here": "",
      auth_strategy: "noauth",
      "# labwright: no nova here": "",
      notify_nova_on_port_status_changes: "False",
      notify_nova_on_port_data_changes: "False",
      ...(since("2024.1") ? { dns_domain: "openstacklocal" } : {}),
      [`# labwright: neutron's own default log levels, with ${ovn ? "its OVN DB sync" : "the L3 agent"} at DEBUG (labwright waits for ${ovn ? "the sync's" : "its full sync's"} end)`]:
        "",
      default_log_levels: neutronLogLevels(ovn).join(","),
    },
    oslo_middleware: { enable_proxy_headers_parsing: "True" },
    oslo_concurrency: { lock_path: join(paths.state, "tmp") },
    agent: { "# labwright: the agents run as root (kolla: sudo neutron-rootwrap /etc/neutron/rootwrap.conf)": "", root_helper: "env" },
    database: {
      connection: `mysql+pymysql://neutron:${PASSWORDS.database}@${facts.vip}/neutron`,
      connection_recycle_time: 10,
      max_pool_size: 1,
      max_retries: -1,
    },
    oslo_messaging_notifications: { transport_url: `rabbit://openstack:${PASSWORDS.rabbitmq}@${facts.vip}:5672//`, driver: "noop" },
    // 2023.2 on: quorum queues (om_enable_rabbitmq_quorum_queues); 2025.1: the queue manager, stream
    // fanout and transient quorum queues too (neutron 21's oslo.messaging 14.0.3 knows only
    // rabbit_quorum_queue and rabbit_qos_prefetch_count of these, and ignores the rest, as oslo.config does).
    oslo_messaging_rabbit: since("2025.1")
      ? {
          use_queue_manager: "true",
          heartbeat_in_pthread: "false",
          rabbit_quorum_queue: "true",
          rabbit_stream_fanout: "true",
          rabbit_qos_prefetch_count: 1,
          rabbit_transient_quorum_queue: "true",
        }
      : { heartbeat_in_pthread: "false", ...(since("2023.2") ? { rabbit_quorum_queue: "true" } : {}) },
  });
  const flatNetworks = (g.rel.physicalNetworksVar ? g.physnets : g.neutron_external_interfaces.map((_, k) => `physnet${k + 1}`)).join(",");
  const ml2 = ini({
    ml2: ovn
      ? {
          type_drivers: "flat,vlan,vxlan,geneve",
          tenant_network_types: "geneve",
          mechanism_drivers: "ovn",
          extension_drivers: "port_security",
        }
      : {
          type_drivers: "flat,vlan,vxlan",
          tenant_network_types: "vxlan",
          mechanism_drivers: "openvswitch,l2population",
          extension_drivers: "port_security",
        },
    ml2_type_vlan: { network_vlan_ranges: "" },
    // 2023.1-2024.1 count the interfaces here (and the bridges in bridge_mappings); 2024.2 on, neutron_physical_networks.
    ml2_type_flat: { flat_networks: flatNetworks },
    ml2_type_vxlan: { vni_ranges: "1:1000" },
    ...(ovn
      ? {
          ml2_type_geneve: { vni_ranges: "1001:2000", max_header_size: 38 },
          ovn: {
            ovn_nb_connection: ovnConnections(g, facts).nb,
            // 2025.1: neutron-server talks to the southbound database itself, not to the relay.
            ovn_sb_connection: ovnConnections(g, facts).sbDirect,
            ovn_metadata_enabled: since("2025.1") ? "true" : "True",
            enable_distributed_floating_ip: since("2025.1") ? "false" : "False",
            ...(since("2023.2") ? { ovn_emit_need_to_frag: since("2025.1") ? "true" : "True" } : {}),
          },
        }
      : {}),
  });
  const ovs = { ovsdb_connection: "tcp:127.0.0.1:6640", ovsdb_timeout: 10 };
  const agent = ini({
    agent: { tunnel_types: "vxlan", l2_population: "true", arp_responder: "true" },
    securitygroup: { firewall_driver: "neutron.agent.linux.iptables_firewall.OVSHybridIptablesFirewallDriver" },
    ovs: {
      bridge_mappings: maps.map((m) => `${m.physnet}:${m.bridge}`).join(","),
      "# labwright: the userspace datapath (kolla: system, the kernel module this machine lacks)": "",
      datapath_type: "netdev",
      ...ovs,
      local_ip: facts.apiAddress,
    },
  });
  const l3 = ini({ DEFAULT: { agent_mode: "legacy" }, agent: {}, ovs });
  const dhcp = ini({
    DEFAULT: {
      dnsmasq_config_file: join(paths.etc, "dnsmasq.conf"),
      enable_isolated_metadata: "true",
      force_metadata: "true",
      dnsmasq_dns_servers: "1.1.1.1,8.8.8.8,8.8.4.4",
    },
    ovs,
  });
  const metadata = ini({
    DEFAULT: {
      auth_ca_cert: "",
      nova_metadata_host: facts.vip,
      nova_metadata_port: 8775,
      metadata_proxy_shared_secret: PASSWORDS.metadata,
      nova_metadata_protocol: "http",
      metadata_workers: w.api,
    },
  });
  const ovnMetadata = ini({
    DEFAULT: {
      auth_ca_cert: "",
      nova_metadata_protocol: "http",
      metadata_proxy_socket: join(paths.state, "kolla", "metadata_proxy"),
      nova_metadata_host: facts.vip,
      nova_metadata_port: 8775,
      metadata_proxy_shared_secret: PASSWORDS.metadata,
      log_file: "neutron-ovn-metadata-agent.log",
      log_dir: paths.log,
      metadata_workers: 2,
    },
    ovs,
    ovn: { ovn_nb_connection: ovnConnections(g, facts).nb, ovn_sb_connection: ovnConnections(g, facts).sb, ovn_metadata_enabled: "true" },
  });
  const rendered: Record<string, Ini> = ovn
    ? { "ml2_conf.ini": ml2, "neutron_ovn_metadata_agent.ini": ovnMetadata }
    : {
        "ml2_conf.ini": ml2,
        "openvswitch_agent.ini": agent,
        "l3_agent.ini": l3,
        "dhcp_agent.ini": dhcp,
        "metadata_agent.ini": metadata,
      };
  const merged = (file: string, base: Ini, service?: NeutronService) =>
    overridesFor(overrides, file, service).reduce((acc, o) => mergeIni(acc, o), base);
  const files: Record<string, string> = ovn
    ? {}
    : {
        // labwright: dnsmasq keeps root, since the node's files live in labwright's root-only run directory (kolla's are world-readable)
        "dnsmasq.conf": `log-async\nlog-facility=${join(paths.log, "dnsmasq.log")}\n# labwright: keep root (the node's files are in a root-only directory)\nuser=root\n`,
      };
  const note = (file: string) =>
    overrides.some((o) => o.file === file) ? "\n# with the lab's /etc/kolla/config/ overrides merged in" : "";
  for (const [file, base] of Object.entries(rendered)) files[file] = render(merged(file, base), header(file) + note(file));
  const daemons: Partial<Record<NeutronDaemon, string[]>> = {};
  const services: Partial<Record<NeutronDaemon, readonly string[]>> = ovn ? OVN_NEUTRON_SERVICES : NEUTRON_SERVICES;
  for (const [d, reads] of Object.entries(services) as [NeutronDaemon, readonly string[]][]) {
    // Each service's own neutron.conf where a neutron/<service>.conf names it (kolla renders one per container).
    const own = overrides.some((o) => o.service === d);
    const conf = own ? `${d}.neutron.conf` : "neutron.conf";
    files[conf] ??= render(
      merged("neutron.conf", neutron, own ? (d as NeutronService) : undefined),
      header("neutron.conf") + note("neutron.conf"),
    );
    daemons[d] = [...reads.map((f) => (f === "neutron.conf" ? conf : f)), ...(d === "neutron-dhcp-agent" ? ["dnsmasq.conf"] : [])];
  }
  // No override changes the log levels (model/commands/ini.ts refuses oslo.log's options).
  return { files, daemons, ovnSyncLogged: ovn };
}

/**
 * The overrides no daemon of this deploy reads: kolla merges a file only into the containers that
 * read it, so an ML2/OVS agent's file on an ML2/OVN deploy (or a neutron/<service>.conf of a service
 * it does not run) has no effect. The deploy says so rather than accept it silently.
 */
export function unusedOverrides(g: Pick<KollaGlobals, "plugin">, overrides: readonly KollaOverride[]): KollaOverride[] {
  const services: Record<string, readonly string[]> = g.plugin === "ovn" ? OVN_NEUTRON_SERVICES : NEUTRON_SERVICES;
  const read = new Set(Object.values(services).flat());
  return overrides.filter((o) => !read.has(o.file) || (o.service !== undefined && !(o.service in services)));
}

/** Comments are carried as keys starting with '#' and an empty value: written as comment lines. */
function render(i: Ini, header: string): string {
  return renderIni(i, header).replace(/^(#[^\n]*) = $/gm, "$1");
}

/** The neutron daemons kolla runs, for ML2/OVS or ML2/OVN (model/commands/kolla-overrides.ts lists the files each reads). */
export type NeutronDaemon = NeutronService | keyof typeof OVN_NEUTRON_SERVICES;

/**
 * The OVN databases as kolla's globals make their connection strings: `ovn_nb_connection`
 * (tcp:<api address>:6641), `ovn_sb_connection` (6642; 2025.1, with the relay on by default, the
 * relay's tcp:<api address>:16641, which ovn-controller and the metadata agent use) and
 * `ovn_sb_connection_no_relay` (neutron-server and northd).
 */
export function ovnConnections(g: KollaGlobals, facts: Pick<NodeFacts, "apiAddress">): { nb: string; sb: string; sbDirect: string } {
  const sbDirect = `tcp:${facts.apiAddress}:6642`;
  return { nb: `tcp:${facts.apiAddress}:6641`, sb: g.release === "2025.1" ? `tcp:${facts.apiAddress}:16641` : sbDirect, sbDirect };
}

/** The client's configuration (kolla-ansible post-deploy writes /etc/kolla/clouds.yaml): no keystone, neutron's endpoint. */
export function cloudsYaml(vip: string): string {
  return [
    "# clouds.yaml of the lab's cloud (labwright: no keystone, so no auth; neutron is the only service)",
    "clouds:",
    "  kolla-admin:",
    "    auth_type: none",
    "    auth:",
    `      endpoint: http://${vip}:9696`,
    "",
  ].join("\n");
}
