/**
 * kolla-ansible as far as the network goes: what `globals.yml` says, a precheck kolla itself does
 * not have, and `kolla-ansible deploy` as the ordered network effects of its plays. See
 * docs/lab-files.md (kolla steps) and ../shared/notes/emulation-fidelity.md §2.
 */

import { IFNAME } from "../../model/names.ts";
import { script } from "../../run/tokens.ts";

export class KollaConfigError extends Error {}

/** What each value that reaches a command or a config may look like (docker's own reference grammar). */
const GRAMMAR: Record<string, { re: RegExp; what: string }> = {
  network_interface: { re: IFNAME, what: "an interface name" },
  neutron_external_interface: { re: IFNAME, what: "a comma-separated list of interface names" },
  neutron_bridge_name: { re: IFNAME, what: "a comma-separated list of bridge names" },
  docker_registry: { re: /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?$/, what: "a registry host[:port] such as quay.io" },
  docker_namespace: { re: /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, what: "a repository namespace such as openstack.kolla" },
  openstack_tag: { re: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, what: "an image tag" },
  openstack_release: { re: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, what: "a release name such as 2023.1" },
  kolla_base_distro: { re: /^[a-z][a-z0-9-]{0,31}$/, what: "a distribution name such as ubuntu" },
  kolla_internal_vip_address: { re: /^\d{1,3}(\.\d{1,3}){3}$/, what: "an IPv4 address" },
  neutron_plugin_agent: { re: /^[a-z]+$/, what: "a plugin agent name" },
};

/** The globals.yml keys labwright acts on; every other key is accepted and listed as not emulated. */
export interface KollaGlobals {
  network_interface: string;
  neutron_external_interfaces: string[];
  neutron_bridge_names: string[];
  enable_neutron_provider_networks: boolean;
  kolla_internal_vip_address?: string;
  docker_registry: string;
  docker_namespace: string;
  /** The image tag: `openstack_tag`, else `<openstack_release>-<kolla_base_distro>-<codename>`. */
  tag: string;
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
]);

const CODENAME: Record<string, string> = { ubuntu: "jammy", debian: "bookworm", rocky: "9", centos: "9" };

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
    if (typeof v !== "string" && typeof v !== "number") throw new KollaConfigError(`${where}: ${k} must be a string, not ${Array.isArray(v) ? "a list" : typeof v === "object" ? "a map" : `a ${typeof v}`}`);
    const rule = GRAMMAR[k];
    const text = String(v);
    const items = k === "neutron_external_interface" || k === "neutron_bridge_name" ? text.split(",").map((x) => x.trim()).filter(Boolean) : [text];
    if (rule && items.some((x) => !rule.re.test(x))) throw new KollaConfigError(`${where}: ${k} is not ${rule.what}`);
    return text;
  };
  const agent = str("neutron_plugin_agent", "openvswitch");
  if (agent !== "openvswitch") throw new KollaConfigError(`${where}: neutron_plugin_agent "${agent}" is not emulated (labwright emulates ML2/OVS, kolla's default: remove the key or set it to openvswitch)`);
  const list = (k: string, d: string) => str(k, d)!.split(",").map((s) => s.trim()).filter(Boolean);
  const release = str("openstack_release", "2023.1")!;
  const distro = str("kolla_base_distro", "ubuntu")!;
  return {
    network_interface: str("network_interface", "eth0")!,
    neutron_external_interfaces: list("neutron_external_interface", "eth1"),
    neutron_bridge_names: list("neutron_bridge_name", "br-ex"),
    enable_neutron_provider_networks: truthy(g.enable_neutron_provider_networks ?? "no"),
    kolla_internal_vip_address: str("kolla_internal_vip_address"),
    docker_registry: str("docker_registry", "quay.io")!,
    docker_namespace: str("docker_namespace", "openstack.kolla")!,
    tag: str("openstack_tag") ?? `${release}-${distro}-${CODENAME[distro] ?? distro}`,
    // Only key names that look like ansible variables are listed; anything else is just counted.
    ignored: ignoredKeys(g),
  };
}

function ignoredKeys(g: Record<string, unknown>): string[] {
  const keys = Object.keys(g).filter((k) => !EFFECTIVE.has(k));
  const named = keys.filter((k) => /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k));
  return named.length === keys.length ? named : [...named, `(${keys.length - named.length} other keys)`];
}

/** kolla's zip of bridges and interfaces: `physnet<N>` is the N-th pair. Extra items on either side are dropped, as zip does. */
export function bridgeMappings(g: KollaGlobals): { physnet: string; bridge: string; nic: string }[] {
  const n = Math.min(g.neutron_bridge_names.length, g.neutron_external_interfaces.length);
  return Array.from({ length: n }, (_, k) => ({ physnet: `physnet${k + 1}`, bridge: g.neutron_bridge_names[k]!, nic: g.neutron_external_interfaces[k]! }));
}

/** `[section] key = value` of an ini file (kolla's /etc/kolla/config overrides). */
export function iniValue(text: string, section: string, key: string): string | undefined {
  let cur = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const s = /^\[(.+)\]$/.exec(line);
    if (s) cur = s[1]!.trim();
    else if (cur === section) {
      const m = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
      if (m && m[1] === key) return m[2]!;
    }
  }
  return undefined;
}

/** ML2 settings kolla renders (ml2_conf.ini.j2) with an override from /etc/kolla/config/neutron/ml2_conf.ini. */
export interface Ml2Config {
  flatNetworks: string[];
  /** physnet → allowed tenant range (admins may use any id on a listed physnet). */
  vlanRanges: Map<string, [number, number] | null>;
  bridgeMappings: Map<string, string>;
}

export function ml2Config(g: KollaGlobals, override?: string): Ml2Config {
  const maps = bridgeMappings(g);
  const vlanRanges = new Map<string, [number, number] | null>();
  const flatOverride = override ? iniValue(override, "ml2_type_flat", "flat_networks") : undefined;
  const vlan = override ? iniValue(override, "ml2_type_vlan", "network_vlan_ranges") : undefined;
  for (const item of (vlan ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [p, a, b] = item.split(":");
    vlanRanges.set(p!, a !== undefined && b !== undefined ? [Number(a), Number(b)] : null);
  }
  return {
    flatNetworks: flatOverride !== undefined ? flatOverride.split(",").map((s) => s.trim()).filter(Boolean) : maps.map((m) => m.physnet),
    vlanRanges,
    bridgeMappings: new Map(maps.map((m) => [m.physnet, m.bridge])),
  };
}

// ---------------------------------------------------------------- plays

export interface Play {
  role: string;
  images: string[];
}

/** site.yml's roles for an all-in-one node, in order, with the images each pulls (trimmed to the core services). */
export const PLAYS: Play[] = [
  { role: "common", images: ["fluentd", "kolla-toolbox", "cron"] },
  { role: "loadbalancer", images: ["haproxy", "keepalived"] },
  { role: "mariadb", images: ["mariadb-server"] },
  { role: "memcached", images: ["memcached"] },
  { role: "rabbitmq", images: ["rabbitmq"] },
  { role: "keystone", images: ["keystone", "keystone-ssh", "keystone-fernet"] },
  { role: "glance", images: ["glance-api"] },
  { role: "openvswitch", images: ["openvswitch-db-server", "openvswitch-vswitchd"] },
  { role: "placement", images: ["placement-api"] },
  { role: "nova", images: ["nova-api", "nova-scheduler", "nova-conductor", "nova-novncproxy"] },
  { role: "nova-cell", images: ["nova-libvirt", "nova-ssh", "nova-compute"] },
  { role: "neutron", images: ["neutron-server", "neutron-openvswitch-agent", "neutron-dhcp-agent", "neutron-l3-agent", "neutron-metadata-agent"] },
  { role: "horizon", images: ["horizon"] },
];

export const ALL_IMAGES = PLAYS.flatMap((p) => p.images);

/** The registry path of an image's manifest (Docker Registry HTTP API v2). */
export function manifestPath(namespace: string, image: string, tag: string): string {
  return `/v2/${namespace}/${image}/manifests/${tag}`;
}

/**
 * Shell script run in the node: pulls each image's manifest with curl over whatever route the node
 * has, printing `<image> <curl exit> <http code> <error>` per image and stopping at the first failure.
 */
export function pullScript(g: KollaGlobals, images: string[], connectTimeoutS: number): string {
  const lines = [script`for img in ${images}; do`];
  lines.push(
    script`  url="http://${g.docker_registry}/v2/${g.docker_namespace}/$img/manifests/${g.tag}"`,
    script`  out=$(curl -sS -o /dev/null -w '%{http_code}' --connect-timeout ${connectTimeoutS} --max-time ${connectTimeoutS * 2} "$url" 2>/tmp/.lw-pull-$$); rc=$?`,
    `  err=$(tr '\\n' ' ' </tmp/.lw-pull-$$); rm -f /tmp/.lw-pull-$$`,
    `  echo "$img $rc $out $err"`,
    `  [ "$rc" = 0 ] && [ "$out" = 200 ] || exit 1`,
    "done",
  );
  return lines.join("\n");
}

/** Docker's words for what curl saw (the raw curl message follows in parentheses). */
export function pullError(g: KollaGlobals, image: string, curlExit: number, http: string, err: string): string {
  const ref = `${g.docker_registry}/${g.docker_namespace}/${image}:${g.tag}`;
  const host = g.docker_registry.split(":")[0];
  const raw = err.trim() ? ` (curl: ${err.trim().replace(/^curl: /, "")})` : "";
  if (curlExit === 0) return `manifest for ${ref} not found: manifest unknown: HTTP ${http}`;
  if (curlExit === 6) return `Get "http://${g.docker_registry}/v2/": dial tcp: lookup ${host}: no such host${raw}`;
  if (curlExit === 28) return `Get "http://${g.docker_registry}/v2/": dial tcp: i/o timeout${raw}`;
  if (curlExit === 7) return `Get "http://${g.docker_registry}/v2/": dial tcp: connect: connection refused or network unreachable${raw}`;
  return `Get "http://${g.docker_registry}/v2/": curl exit ${curlExit}${raw}`;
}
