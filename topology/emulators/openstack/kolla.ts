/**
 * kolla-ansible as far as the network goes: what `globals.yml` says, a precheck kolla itself does
 * not have, and `kolla-ansible deploy` as the ordered network effects of its plays. See
 * docs/lab-files.md (kolla steps) and ../shared/notes/emulation-fidelity.md §2.
 */

import { script } from "../../run/tokens.ts";

export { KollaConfigError, readGlobals, type KollaGlobals } from "../../model/commands/kolla-globals.ts";
import type { KollaGlobals } from "../../model/commands/kolla-globals.ts";

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
