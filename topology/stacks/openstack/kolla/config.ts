import { cpus } from "node:os";
import { join } from "node:path";
import { type Ini, mergeIni, renderIni } from "../../../model/commands/ini.ts";
import type { KollaGlobals } from "../../../model/commands/kolla-globals.ts";
import { bridgeMappings } from "./plays.ts";

/**
 * neutron's configuration files as kolla-ansible 2023.1 renders them for an all-in-one node with
 * ML2/OVS (roles/neutron/templates/*.j2 with kolla's defaults and the lab's globals.yml), the
 * `/etc/kolla/config/neutron/ml2_conf.ini` override merged in. What labwright changes is marked in
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
export const PASSWORDS = { database: "neutron-lab-db", rabbitmq: "openstack-lab-mq" } as const;

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
}

export function renderNeutronConfig(g: KollaGlobals, facts: NodeFacts, paths: OpenstackPaths, ml2Override?: Ini): RenderedConfig {
  const w = workers();
  const maps = bridgeMappings(g);
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
      state_path: paths.state,
      metadata_proxy_socket: join(paths.state, "kolla", "metadata_proxy"),
      interface_driver: "openvswitch",
      core_plugin: "ml2",
      service_plugins: "router",
      transport_url: `rabbit://openstack:${PASSWORDS.rabbitmq}@${facts.vip}:5672//`,
      ipam_driver: "internal",
      "# labwright: no keystone here": "",
      auth_strategy: "noauth",
      "# labwright: no nova here": "",
      notify_nova_on_port_status_changes: "False",
      notify_nova_on_port_data_changes: "False",
    },
    oslo_middleware: { enable_proxy_headers_parsing: "True" },
    oslo_concurrency: { lock_path: join(paths.state, "tmp") },
    agent: { "# labwright: the agents run as root (kolla: sudo neutron-rootwrap /etc/neutron/rootwrap.conf)": "", root_helper: "env" },
    database: { connection: `mysql+pymysql://neutron:${PASSWORDS.database}@${facts.vip}/neutron`, max_retries: -1 },
    oslo_messaging_notifications: { transport_url: `rabbit://openstack:${PASSWORDS.rabbitmq}@${facts.vip}:5672//`, driver: "noop" },
    oslo_messaging_rabbit: { heartbeat_in_pthread: "false" },
  });
  const ml2 = mergeIni(
    ini({
      ml2: {
        type_drivers: "flat,vlan,vxlan",
        tenant_network_types: "vxlan",
        mechanism_drivers: "openvswitch,l2population",
        extension_drivers: "port_security",
      },
      ml2_type_vlan: { network_vlan_ranges: "" },
      ml2_type_flat: { flat_networks: g.neutron_external_interfaces.map((_, k) => `physnet${k + 1}`).join(",") },
      ml2_type_vxlan: { vni_ranges: "1:1000" },
    }),
    ml2Override,
  );
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
  const files: Record<string, string> = {
    "neutron.conf": render(neutron, header("neutron.conf")),
    "ml2_conf.ini": render(
      ml2,
      header("ml2_conf.ini") + (ml2Override?.size ? "\n# with /etc/kolla/config/neutron/ml2_conf.ini merged in" : ""),
    ),
    "openvswitch_agent.ini": render(agent, header("openvswitch_agent.ini")),
    "l3_agent.ini": render(l3, header("l3_agent.ini")),
    "dhcp_agent.ini": render(dhcp, header("dhcp_agent.ini")),
    // labwright: dnsmasq keeps root, since the node's files live in labwright's root-only run directory (kolla's are world-readable)
    "dnsmasq.conf": `log-async\nlog-facility=${join(paths.log, "dnsmasq.log")}\n# labwright: keep root (the node's files are in a root-only directory)\nuser=root\n`,
  };
  return { files };
}

/** Comments are carried as keys starting with '#' and an empty value: written as comment lines. */
function render(i: Ini, header: string): string {
  return renderIni(i, header).replace(/^(#[^\n]*) = $/gm, "$1");
}

/** The files each daemon reads (kolla's config.json `command` lines), so a change restarts only those that read it. */
export const DAEMON_FILES = {
  "neutron-server": ["neutron.conf", "ml2_conf.ini"],
  "neutron-openvswitch-agent": ["neutron.conf", "openvswitch_agent.ini"],
  "neutron-l3-agent": ["neutron.conf", "l3_agent.ini"],
  "neutron-dhcp-agent": ["neutron.conf", "dhcp_agent.ini", "dnsmasq.conf"],
} as const;

export type NeutronDaemon = keyof typeof DAEMON_FILES;

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
