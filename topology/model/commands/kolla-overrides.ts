/**
 * kolla's service config overrides for neutron: the files under /etc/kolla/config/ its neutron role
 * merges over what it renders (ansible/roles/neutron/tasks/config.yml, `merge_configs` sources, the
 * same lists in kolla-ansible 16.0.0 to 20.0.0), in kolla's order — later files win:
 * - neutron.conf, per service: global.conf, neutron.conf, neutron/<service>.conf,
 *   neutron/<host>/neutron.conf;
 * - ml2_conf.ini, openvswitch_agent.ini, l3_agent.ini, dhcp_agent.ini: neutron/<file>, then
 *   neutron/<host>/<file>;
 * - metadata_agent.ini: neutron/metadata_agent.ini (no per-host file).
 * `<host>` is the node's inventory name (the lab's node name). dnsmasq.conf is not merged (kolla
 * takes the first one found, whole): a lab cannot replace it.
 */
import type { Ini } from "./ini.ts";

/** The neutron services kolla deploys for ML2/OVS (its `neutron_services` enabled here), each with the files its command reads. */
export const NEUTRON_SERVICES = {
  "neutron-server": ["neutron.conf", "ml2_conf.ini"],
  "neutron-openvswitch-agent": ["neutron.conf", "openvswitch_agent.ini"],
  "neutron-l3-agent": ["neutron.conf", "l3_agent.ini"],
  "neutron-dhcp-agent": ["neutron.conf", "dhcp_agent.ini"],
  "neutron-metadata-agent": ["neutron.conf", "metadata_agent.ini"],
} as const;

export type NeutronService = keyof typeof NEUTRON_SERVICES;

/**
 * The neutron services kolla deploys for ML2/OVN: neutron-server and the OVN metadata agent (the
 * OVS, L3, DHCP and metadata agents are disabled: OVN's own flows switch, route, NAT and answer
 * DHCP). Overrides reach their neutron.conf and ml2_conf.ini as for ML2/OVS.
 */
export const OVN_NEUTRON_SERVICES = {
  "neutron-server": ["neutron.conf", "ml2_conf.ini"],
  "neutron-ovn-metadata-agent": ["neutron.conf", "neutron_ovn_metadata_agent.ini"],
} as const;

/** One override file of a kolla step. */
export interface KollaOverride {
  /** Its path under /etc/kolla/config/, as the lab names it. */
  readonly path: string;
  /** The neutron file it is merged into. */
  readonly file: string;
  /** For neutron/<service>.conf: the one service whose neutron.conf it is merged into. */
  readonly service?: NeutronService;
  readonly ini: Ini;
}

/** Every override path kolla merges for neutron on `host`, in kolla's order, with the file each is merged into. */
export function overridePaths(host: string): { path: string; file: string; service?: NeutronService }[] {
  const services = Object.keys(NEUTRON_SERVICES) as NeutronService[];
  return [
    { path: "global.conf", file: "neutron.conf" },
    { path: "neutron.conf", file: "neutron.conf" },
    ...services.map((service) => ({ path: `neutron/${service}.conf`, file: "neutron.conf", service })),
    { path: `neutron/${host}/neutron.conf`, file: "neutron.conf" },
    ...["ml2_conf.ini", "openvswitch_agent.ini", "l3_agent.ini", "dhcp_agent.ini"].flatMap((file) => [
      { path: `neutron/${file}`, file },
      { path: `neutron/${host}/${file}`, file },
    ]),
    { path: "neutron/metadata_agent.ini", file: "metadata_agent.ini" },
  ];
}

/** The overrides that reach `service`'s copy of `file`, in kolla's merge order. */
export function overridesFor(overrides: readonly KollaOverride[], file: string, service?: NeutronService): Ini[] {
  return overrides.filter((o) => o.file === file && (o.service === undefined || o.service === service)).map((o) => o.ini);
}
