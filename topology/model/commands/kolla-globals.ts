/**
 * kolla-ansible's globals.yml as labwright reads it: the keys with a network effect, kolla's
 * defaults, and the grammar of every value that reaches a command or a config.
 */
import { IFNAME } from "../names.ts";

export class KollaConfigError extends Error {}

/** What each value that reaches a command or a config may look like (docker's own reference grammar). */
const GRAMMAR: Record<string, { re: RegExp; what: string }> = {
  network_interface: { re: IFNAME, what: "an interface name" },
  neutron_external_interface: { re: IFNAME, what: "a comma-separated list of interface names" },
  neutron_bridge_name: { re: IFNAME, what: "a comma-separated list of bridge names" },
  neutron_physical_networks: { re: /^[A-Za-z0-9_.-]{1,64}$/, what: "a comma-separated list of physical network names" },
  enable_proxysql: { re: /^(yes|no|true|false|True|False|1|0|on|off)$/, what: "yes or no" },
  docker_registry: { re: /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?$/, what: "a registry host[:port] such as quay.io" },
  docker_namespace: {
    re: /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    what: "a repository namespace such as openstack.kolla",
  },
  openstack_tag: { re: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, what: "an image tag" },
  openstack_release: { re: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, what: "a release name such as 2023.1" },
  kolla_base_distro: { re: /^[a-z][a-z0-9-]{0,31}$/, what: "a distribution name such as ubuntu" },
  kolla_internal_vip_address: { re: /^\d{1,3}(\.\d{1,3}){3}$/, what: "an IPv4 address" },
  enable_haproxy: { re: /^(yes|no|true|false|True|False|1|0|on|off)$/, what: "yes or no" },
  neutron_plugin_agent: { re: /^[a-z]+$/, what: "a plugin agent name" },
  neutron_ovn_distributed_fip: { re: /^(yes|no|true|false|True|False|1|0|on|off)$/, what: "yes or no" },
  enable_nova_fake: { re: /^(yes|no|true|false|True|False|1|0|on|off)$/, what: "yes or no" },
};

/** The globals.yml keys labwright acts on; every other key is accepted and listed as not emulated. */
export interface KollaGlobals {
  network_interface: string;
  neutron_external_interfaces: string[];
  neutron_bridge_names: string[];
  /** The physnet of each bridge, in order: `physnet1`…`physnetN`, or (from 2024.2) `neutron_physical_networks`. */
  physnets: string[];
  enable_neutron_provider_networks: boolean;
  kolla_internal_vip_address?: string;
  docker_registry: string;
  docker_namespace: string;
  /** The image tag: `openstack_tag`, else `<openstack_release>-<kolla_base_distro>-<codename>`, as the release names it. */
  tag: string;
  /** The release whose site.yml the deploy follows. */
  release: string;
  /** `neutron_plugin_agent`: ML2/OVS (kolla's default) or ML2/OVN. */
  plugin: "openvswitch" | "ovn";
  /**
   * `enable_nova_fake`: kolla deploys nova-compute with nova's fake virt driver (no hypervisor). Then
   * nova, placement and glance run for real here; without it nova's compute would be libvirt/KVM,
   * which cannot run here, and labwright stands in for `server create` and `server add floating ip`.
   */
  novaFake: boolean;
  /** Its figures. */
  rel: KollaRelease;
  /** Keys of globals.yml that have no network effect labwright emulates. */
  ignored: string[];
}

const EFFECTIVE = new Set([
  "network_interface",
  "neutron_external_interface",
  "neutron_bridge_name",
  "enable_neutron_provider_networks",
  "kolla_internal_vip_address",
  "docker_registry",
  "docker_namespace",
  "openstack_release",
  "openstack_tag",
  "kolla_base_distro",
  "neutron_plugin_agent",
  "enable_haproxy",
  "enable_proxysql",
  "neutron_physical_networks",
  "neutron_ovn_distributed_fip",
  "enable_nova_fake",
]);

/** What labwright models of one kolla-ansible release (read from its sources at the tag named). */
export interface KollaRelease {
  /** The kolla-ansible version whose sources these figures come from (the series' first release). */
  kollaAnsible: string;
  /** The neutron its images carry (the release's neutron; labwright runs Debian 12's, see docs). */
  neutron: string;
  /** group_vars/all.yml: `kolla_base_distro`. */
  defaultDistro: string;
  /** group_vars/all.yml: `kolla_base_distro_version_default_map` (the tag's last part). */
  codenames: Record<string, string>;
  /** group_vars/all.yml has `neutron_physical_networks` (from 2024.2): physnet names are a list of their own. */
  physicalNetworksVar: boolean;
  /** group_vars/all.yml: `enable_proxysql` (its "yes" from 2024.2 runs the loadbalancer play even without haproxy). */
  proxysqlDefault: boolean;
}

/**
 * The kolla-ansible releases labwright models: the deploy follows that release's site.yml
 * (stacks/openstack/kolla/plays.ts) and names images as it does (group_vars/all.yml:
 * `openstack_tag: "{{ openstack_release }}-{{ kolla_base_distro }}-{{ kolla_base_distro_version }}"`).
 * Each release's figures are from kolla-ansible's sources at its first tag (16.0.0 … 20.0.0).
 */
export const RELEASES: Record<string, KollaRelease> = {
  "2023.1": {
    kollaAnsible: "16.0.0",
    neutron: "22 (2023.1 Antelope)",
    defaultDistro: "rocky",
    codenames: { centos: "stream9", debian: "bullseye", rocky: "9", ubuntu: "jammy" },
    physicalNetworksVar: false,
    proxysqlDefault: false,
  },
  "2023.2": {
    kollaAnsible: "17.0.0",
    neutron: "23 (2023.2 Bobcat)",
    defaultDistro: "rocky",
    codenames: { centos: "stream9", debian: "bookworm", rocky: "9", ubuntu: "jammy" },
    physicalNetworksVar: false,
    proxysqlDefault: false,
  },
  "2024.1": {
    kollaAnsible: "18.0.0",
    neutron: "24 (2024.1 Caracal)",
    defaultDistro: "rocky",
    codenames: { centos: "stream9", debian: "bookworm", rocky: "9", ubuntu: "jammy" },
    physicalNetworksVar: false,
    proxysqlDefault: false,
  },
  "2024.2": {
    kollaAnsible: "19.0.0",
    neutron: "25 (2024.2 Dalmatian)",
    defaultDistro: "rocky",
    codenames: { centos: "stream9", debian: "bookworm", rocky: "9", ubuntu: "noble" },
    physicalNetworksVar: true,
    proxysqlDefault: true,
  },
  "2025.1": {
    kollaAnsible: "20.0.0",
    neutron: "26 (2025.1 Epoxy)",
    defaultDistro: "rocky",
    codenames: { centos: "stream9", debian: "bookworm", rocky: "9", ubuntu: "noble" },
    physicalNetworksVar: true,
    proxysqlDefault: true,
  },
};

/** Every image tag the modelled releases name (a registry that holds kolla's images holds these). */
export const RELEASE_TAGS: readonly string[] = Object.entries(RELEASES).flatMap(([rel, r]) =>
  Object.entries(r.codenames).map(([distro, code]) => `${rel}-${distro}-${code}`),
);

/** Ansible's `| bool`. */
function truthy(v: unknown): boolean {
  return v === true || v === 1 || (typeof v === "string" && ["yes", "true", "1", "on"].includes(v.toLowerCase()));
}

/**
 * Reads globals.yml content (already YAML-parsed). `where` names the file or the step for messages.
 * Defaults are kolla's own (ansible/group_vars/all.yml).
 */
export function readGlobals(raw: unknown, where: string): KollaGlobals {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new KollaConfigError(`${where}: globals.yml must be a map of variables`);
  const g = raw as Record<string, unknown>;
  const str = (k: string, d?: string): string | undefined => {
    const v = g[k];
    if (v === undefined || v === null) return d;
    // Messages name the key and the kind of value, never the value: a globals file's contents stay out of reports.
    if (typeof v !== "string" && typeof v !== "number")
      throw new KollaConfigError(
        `${where}: ${k} must be a string, not ${Array.isArray(v) ? "a list" : typeof v === "object" ? "a map" : `a ${typeof v}`}`,
      );
    const rule = GRAMMAR[k];
    const text = String(v);
    const items =
      k === "neutron_external_interface" || k === "neutron_bridge_name" || k === "neutron_physical_networks"
        ? text
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
        : [text];
    if (rule && items.some((x) => !rule.re.test(x))) throw new KollaConfigError(`${where}: ${k} is not ${rule.what}`);
    return text;
  };
  // Every value's grammar first (what could reach a command or a file), then what labwright models.
  const list = (k: string, d: string) =>
    str(k, d)!
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const values = {
    network_interface: str("network_interface", "eth0")!,
    neutron_external_interfaces: list("neutron_external_interface", "eth1"),
    neutron_bridge_names: list("neutron_bridge_name", "br-ex"),
    enable_neutron_provider_networks: truthy(g.enable_neutron_provider_networks ?? "no"),
    kolla_internal_vip_address: str("kolla_internal_vip_address"),
    docker_registry: str("docker_registry", "quay.io")!,
    docker_namespace: str("docker_namespace", "openstack.kolla")!,
  };
  const agent = str("neutron_plugin_agent", "openvswitch");
  const release = str("openstack_release", "2023.1")!;
  const tag = str("openstack_tag");
  const haproxy = truthy(str("enable_haproxy", "yes"));
  const distroSet = str("kolla_base_distro");
  if (agent !== "openvswitch" && agent !== "ovn")
    throw new KollaConfigError(
      `${where}: neutron_plugin_agent "${agent}" is not modelled (labwright runs ML2/OVS, kolla's default, and ML2/OVN: set it to openvswitch or ovn)`,
    );
  if (truthy(str("neutron_ovn_distributed_fip", "no")))
    throw new KollaConfigError(
      `${where}: neutron_ovn_distributed_fip is "yes": labwright models kolla's default, floating IPs NATed on the gateway chassis (centralized). Remove the key or set it to "no"`,
    );
  const novaFake = truthy(str("enable_nova_fake", "no"));
  const r = RELEASES[release];
  if (!r)
    throw new KollaConfigError(
      `${where}: openstack_release ${release} is not modelled (labwright follows the site.yml of kolla-ansible ${Object.entries(RELEASES)
        .map(([k, v]) => `${k} (${v.kollaAnsible})`)
        .join(", ")})`,
    );
  const distro = distroSet ?? r.defaultDistro;
  const codename = r.codenames[distro];
  if (!codename && tag === undefined)
    throw new KollaConfigError(
      `${where}: kolla_base_distro ${distro} has no images in ${release} (kolla builds ${Object.keys(r.codenames).join(", ")})`,
    );
  const physSet = g.neutron_physical_networks !== undefined && r.physicalNetworksVar ? list("neutron_physical_networks", "") : undefined;
  if (physSet && physSet.length !== values.neutron_bridge_names.length)
    throw new KollaConfigError(
      `${where}: neutron_physical_networks names ${physSet.length} network(s) for ${values.neutron_bridge_names.length} bridge(s) in neutron_bridge_name: give one name per bridge`,
    );
  // kolla 2023.1-2024.1: physnet<N> for the N-th bridge; from 2024.2 the same unless neutron_physical_networks names them.
  const physnets = physSet ?? values.neutron_bridge_names.map((_, k) => `physnet${k + 1}`);
  if (truthy(str("enable_proxysql", r.proxysqlDefault ? "yes" : "no")))
    throw new KollaConfigError(
      `${where}: enable_proxysql is "yes"${r.proxysqlDefault ? ` (kolla-ansible ${r.kollaAnsible}'s default)` : ""}: its loadbalancer play runs haproxy and ProxySQL in front of MariaDB even with enable_haproxy "no", which labwright does not model. Set enable_proxysql: "no", as all-in-one deploys without haproxy do`,
    );
  if (haproxy) {
    throw new KollaConfigError(
      `${where}: enable_haproxy is "yes" (kolla's default): labwright models all-in-one deploys without the load balancer. Set enable_haproxy: "no" and kolla_internal_vip_address to network_interface's address, as seed 003 does`,
    );
  }
  return {
    ...values,
    physnets,
    tag: tag ?? `${release}-${distro}-${codename}`,
    release,
    plugin: agent as KollaGlobals["plugin"],
    novaFake,
    rel: r,
    // Only key names that look like ansible variables are listed; anything else is just counted.
    ignored: ignoredKeys(g, r),
  };
}

function ignoredKeys(g: Record<string, unknown>, r: KollaRelease): string[] {
  // neutron_physical_networks means nothing to a release before 2024.2 (its templates name physnet<N>).
  const keys = Object.keys(g).filter((k) => !EFFECTIVE.has(k) || (k === "neutron_physical_networks" && !r.physicalNetworksVar));
  const named = keys.filter((k) => /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k));
  return named.length === keys.length ? named : [...named, `(${keys.length - named.length} other keys)`];
}
