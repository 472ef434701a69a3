/**
 * kolla-ansible's deploy as far as this machine can run it. What cannot run here is kolla itself
 * (ansible, docker, image layers): labwright follows the release's site.yml play by play, and for
 * each task that starts a container from an image not yet on the node it pulls that image's
 * manifest from the registry over the node's own routes, as docker would (a pull that cannot reach
 * the registry fails that task, and the deploy stops there). What the plays configure is real: the
 * openvswitch play's bridges and ports (real OVS), and MariaDB, RabbitMQ and neutron (real daemons,
 * stacks/openstack.ts), configured as kolla renders their files (kolla-config.ts).
 * See docs/lab-files.md (kolla steps) and ../shared/notes/emulation-fidelity.md §2.
 */

import { script } from "../../../run/tokens.ts";

export { KollaConfigError, readGlobals, type KollaGlobals } from "../../../model/commands/kolla-globals.ts";
import type { KollaGlobals } from "../../../model/commands/kolla-globals.ts";

/**
 * kolla's zip of bridges and interfaces, each bridge with its physnet (`physnet<N>` for the N-th, or
 * from 2024.2 the N-th of `neutron_physical_networks`). Extra items on either side are dropped, as zip does.
 */
export function bridgeMappings(g: KollaGlobals): { physnet: string; bridge: string; nic: string }[] {
  const n = Math.min(g.neutron_bridge_names.length, g.neutron_external_interfaces.length);
  return Array.from({ length: n }, (_, k) => ({
    physnet: g.physnets[k]!,
    bridge: g.neutron_bridge_names[k]!,
    nic: g.neutron_external_interfaces[k]!,
  }));
}

// ---------------------------------------------------------------- plays

/** A task that needs an image on the node: a role's bootstrap container, or a handler (re)starting a service's container. */
export interface Pull {
  task: string;
  handler: boolean;
  image: string;
}

/** What a play does for real on this machine, besides its pulls. */
export type RealPart = "mariadb" | "rabbitmq" | "openvswitch" | "ovn-controller" | "ovn-db" | "neutron";

export interface Play {
  /** The play's name as site.yml (or nova.yml) gives it. */
  name: string;
  role: string;
  /** In the order kolla runs them: bootstrap tasks, then handlers in the order of the role's handlers/main.yml. */
  pulls: Pull[];
  real?: RealPart;
  /** With `enable_nova_fake`: the part of nova, placement or glance this play starts for real (nova/). */
  nova?: NovaPart;
}

/** The plays that start nova, placement and glance when they run for real (kolla's `enable_nova_fake`). */
export type NovaPart = "glance" | "placement" | "nova-bootstrap" | "nova" | "nova-cell";

const task = (t: string, image: string): Pull => ({ task: t, handler: false, image });
const handler = (t: string, image: string): Pull => ({ task: t, handler: true, image });

// Each play as site.yml (or nova.yml, mariadb.yml, rabbitmq.yml) names it, with the tasks that first
// need an image: its roles' bootstrap tasks and handlers (handlers/main.yml order). An image already
// pulled by an earlier task is not listed again. Read from kolla-ansible's sources at 16.0.0, 17.0.0,
// 18.0.0, 19.0.0 and 20.0.0, for an all-in-one node with kolla's default services, enable_haproxy
// "no" and (from 2024.2, where it defaults to "yes") enable_proxysql "no".
const COMMON: Play = {
  name: "Apply role common",
  role: "common",
  pulls: [
    handler("Restart fluentd container", "fluentd"),
    handler("Restart kolla-toolbox container", "kolla-toolbox"),
    handler("Restart cron container", "cron"),
  ],
};
/** 2023.2 and 2024.1: roles/common/tasks/config.yml ensures the fluentd image before any handler (its label check). */
const COMMON_FLUENTD_LABELS: Play = {
  ...COMMON,
  pulls: [
    task("Ensure fluentd image is present for label check", "fluentd"),
    handler("Restart kolla-toolbox container", "kolla-toolbox"),
    handler("Restart cron container", "cron"),
  ],
};
const MARIADB: Play = {
  name: "Apply role mariadb",
  role: "mariadb",
  pulls: [task("Running MariaDB bootstrap container", "mariadb-server")],
  real: "mariadb",
};
/** 2024.2 on: with ProxySQL off, mariadb_loadbalancer is haproxy and enable_mariadb_clustercheck follows it. */
const MARIADB_CLUSTERCHECK: Play = {
  ...MARIADB,
  pulls: [...MARIADB.pulls, handler("Restart mariadb-clustercheck container", "mariadb-clustercheck")],
};
const MEMCACHED: Play = { name: "Apply role memcached", role: "memcached", pulls: [handler("Restart memcached container", "memcached")] };
const RABBITMQ: Play = {
  name: "Apply role rabbitmq",
  role: "rabbitmq",
  pulls: [task("Running RabbitMQ bootstrap container", "rabbitmq")],
  real: "rabbitmq",
};
const KEYSTONE: Play = {
  name: "Apply role keystone",
  role: "keystone",
  pulls: [
    task("Running Keystone bootstrap container", "keystone"),
    task("Running Keystone fernet bootstrap container", "keystone-fernet"),
    handler("Restart keystone-ssh container", "keystone-ssh"),
  ],
};
const GLANCE: Play = {
  name: "Apply role glance",
  role: "glance",
  pulls: [task("Running Glance bootstrap container", "glance-api")],
  nova: "glance",
};
const PLACEMENT: Play = {
  name: "Apply role placement",
  role: "placement",
  pulls: [task("Running placement bootstrap container", "placement-api")],
  nova: "placement",
};
const NOVA_API_DB: Play = {
  name: "Bootstrap nova API databases",
  role: "nova",
  pulls: [task("Running Nova API bootstrap container", "nova-api")],
  nova: "nova-bootstrap",
};
/** 2024.1 on: map_cell0.yml imports nova-cell's get_cell_settings.yml, whose "Get a list of existing cells" runs nova-conductor. */
const NOVA_API_DB_CELLS: Play = {
  ...NOVA_API_DB,
  pulls: [...NOVA_API_DB.pulls, task("Get a list of existing cells", "nova-conductor")],
};
const NOVA_CELL_DB: Play = {
  name: "Bootstrap nova cell databases",
  role: "nova-cell",
  pulls: [task("Running Nova cell bootstrap container", "nova-conductor")],
};
const NOVA: Play = {
  name: "Apply role nova",
  role: "nova",
  pulls: [handler("Restart nova-scheduler container", "nova-scheduler")],
  nova: "nova",
};
const NOVA_CELL: Play = {
  name: "Apply role nova-cell",
  role: "nova-cell",
  pulls: [
    handler("Restart nova-novncproxy container", "nova-novncproxy"),
    handler("Restart nova-ssh container", "nova-ssh"),
    handler("Restart nova-libvirt container", "nova-libvirt"),
    handler("Restart nova-compute container", "nova-compute"),
  ],
  nova: "nova-cell",
};
const OPENVSWITCH: Play = {
  name: "Apply role openvswitch",
  role: "openvswitch",
  pulls: [
    handler("Restart openvswitch-db-server container", "openvswitch-db-server"),
    handler("Restart openvswitch-vswitchd container", "openvswitch-vswitchd"),
  ],
  real: "openvswitch",
};
const NEUTRON: Play = {
  name: "Apply role neutron",
  role: "neutron",
  pulls: [
    task("Running Neutron bootstrap container", "neutron-server"),
    handler("Restart neutron-openvswitch-agent container", "neutron-openvswitch-agent"),
    handler("Restart neutron-dhcp-agent container", "neutron-dhcp-agent"),
    handler("Start stopped neutron-l3-agent container", "neutron-l3-agent"),
    handler("Restart neutron-metadata-agent container", "neutron-metadata-agent"),
  ],
  real: "neutron",
};
/**
 * ML2/OVN (`neutron_plugin_agent: "ovn"`): the openvswitch play still runs (enable_openvswitch is
 * true for anything but linuxbridge) and still makes the external interfaces ports of their
 * bridges; then ovn-controller (setup-ovs.yml writes the chassis' external_ids before its one
 * handler starts the container), then ovn-db (no bootstrap container: its handlers start the
 * databases, then northd; 2025.1 adds the southbound relay, on by default), then neutron with
 * neutron-server and the OVN metadata agent only (its image is neutron-metadata-agent).
 */
const OVN_CONTROLLER: Play = {
  name: "Apply role ovn-controller",
  role: "ovn-controller",
  pulls: [handler("Restart ovn-controller container", "ovn-controller")],
  real: "ovn-controller",
};
const OVN_DB: Play = {
  name: "Apply role ovn-db",
  role: "ovn-db",
  pulls: [
    handler("Restart ovn-nb-db container", "ovn-nb-db-server"),
    handler("Restart ovn-sb-db container", "ovn-sb-db-server"),
    handler("Restart ovn-northd container", "ovn-northd"),
  ],
  real: "ovn-db",
};
/** 2025.1 (20.0.0): enable_ovn_sb_db_relay defaults to enable_ovn; its handler fires between the southbound database's and northd's. */
const OVN_DB_RELAY: Play = {
  ...OVN_DB,
  pulls: [
    handler("Restart ovn-nb-db container", "ovn-nb-db-server"),
    handler("Restart ovn-sb-db container", "ovn-sb-db-server"),
    handler("Restart ovn-sb-db-relay container", "ovn-sb-db-relay"),
    handler("Restart ovn-northd container", "ovn-northd"),
  ],
};
const NEUTRON_OVN: Play = {
  ...NEUTRON,
  pulls: [
    task("Running Neutron bootstrap container", "neutron-server"),
    handler("Restart neutron-ovn-metadata-agent container", "neutron-metadata-agent"),
  ],
};

const HEAT: Play = {
  name: "Apply role heat",
  role: "heat",
  pulls: [
    task("Running Heat bootstrap container", "heat-api"),
    handler("Restart heat-api-cfn container", "heat-api-cfn"),
    handler("Restart heat-engine container", "heat-engine"),
  ],
};
const HORIZON: Play = { name: "Apply role horizon", role: "horizon", pulls: [handler("Restart horizon container", "horizon")] };

/**
 * Each release's deploy, play by play:
 * - 2023.1 (16.0.0): common, mariadb, memcached, rabbitmq, keystone, glance, placement, nova.yml (the
 *   API and cell database bootstraps, then the nova and nova-cell roles), openvswitch, neutron,
 *   heat, horizon.
 * - 2023.2 (17.0.0): the same plays (mariadb and rabbitmq from their own playbooks now); common
 *   ensures the fluentd image first.
 * - 2024.1 (18.0.0): nova-conductor is first needed in the API database bootstrap (cell0's settings).
 * - 2024.2 (19.0.0) and 2025.1 (20.0.0): nova.yml runs after openvswitch, right before neutron
 *   ("Move Nova roles after OVS"); common pulls fluentd by its handler again; mariadb restarts its
 *   clustercheck (ProxySQL off).
 */
/** 2023.1 to 2024.1: nova.yml before openvswitch. */
const NOVA_FIRST = (common: Play, novaApiDb: Play): Play[] => [
  common,
  MARIADB,
  MEMCACHED,
  RABBITMQ,
  KEYSTONE,
  GLANCE,
  PLACEMENT,
  novaApiDb,
  NOVA_CELL_DB,
  NOVA,
  NOVA_CELL,
  OPENVSWITCH,
  NEUTRON,
  HEAT,
  HORIZON,
];
/** 2024.2 on: nova.yml between openvswitch and neutron. */
const OVS_FIRST: Play[] = [
  COMMON,
  MARIADB_CLUSTERCHECK,
  MEMCACHED,
  RABBITMQ,
  KEYSTONE,
  GLANCE,
  PLACEMENT,
  OPENVSWITCH,
  NOVA_API_DB_CELLS,
  NOVA_CELL_DB,
  NOVA,
  NOVA_CELL,
  NEUTRON,
  HEAT,
  HORIZON,
];
export const RELEASE_PLAYS: Record<string, Play[]> = {
  "2023.1": NOVA_FIRST(COMMON, NOVA_API_DB),
  "2023.2": NOVA_FIRST(COMMON_FLUENTD_LABELS, NOVA_API_DB),
  "2024.1": NOVA_FIRST(COMMON_FLUENTD_LABELS, NOVA_API_DB_CELLS),
  "2024.2": OVS_FIRST,
  // 20.0.0 adds a nova-metadata handler, whose image (nova-api) is already on the node.
  "2025.1": OVS_FIRST,
};

/**
 * A release's plays for a plugin agent, with the images each first pulls (an image pulled by an
 * earlier play is pulled once). With ovn, site.yml runs ovn-controller and ovn-db right after
 * openvswitch (and, 2024.2 on, nova.yml after them, before neutron), and the neutron play deploys
 * neutron-server and the OVN metadata agent.
 */
export function playsFor(release: string, plugin: "openvswitch" | "ovn" = "openvswitch"): Play[] {
  const plays = RELEASE_PLAYS[release];
  if (!plays) throw new Error(`no plays for kolla release ${release}`);
  if (plugin === "openvswitch") return plays;
  const out: Play[] = [];
  for (const p of plays) {
    if (p.real === "neutron") out.push(NEUTRON_OVN);
    else out.push(p);
    if (p.role === "openvswitch") out.push(OVN_CONTROLLER, release === "2025.1" ? OVN_DB_RELAY : OVN_DB);
  }
  // 2024.2 on: nova.yml comes after ovn-db (it follows openvswitch's group of plays).
  return out;
}

/** The 2023.1 plays (seed 003's release). */
export const PLAYS: Play[] = RELEASE_PLAYS["2023.1"]!;

export const ALL_IMAGES = [
  ...new Set(
    [...Object.values(RELEASE_PLAYS), [OVN_CONTROLLER, OVN_DB_RELAY, NEUTRON_OVN]].flatMap((plays) =>
      plays.flatMap((p) => p.pulls.map((x) => x.image)),
    ),
  ),
];

/** The registry path of an image's manifest (Docker Registry HTTP API v2). */
export function manifestPath(namespace: string, image: string, tag: string): string {
  return `/v2/${namespace}/${image}/manifests/${tag}`;
}

/**
 * Shell script run in the node: fetches each image's manifest in turn with curl over whatever route
 * the node has, printing `<image> <curl exit> <http code> <error>` per image and stopping at the
 * first failure (as the deploy stops at the first failing task).
 */
export function pullScript(g: KollaGlobals, images: readonly string[], connectTimeoutS: number): string {
  return [
    script`for img in ${images}; do`,
    script`  url="http://${g.docker_registry}/v2/${g.docker_namespace}/$img/manifests/${g.tag}"`,
    script`  code=$(curl -sS -o /dev/null -w '%{http_code}' --connect-timeout ${connectTimeoutS} --max-time ${connectTimeoutS * 2} "$url" 2>/tmp/.lw-pull-$$); rc=$?`,
    `  err=$(tr '\\n' ' ' </tmp/.lw-pull-$$); rm -f /tmp/.lw-pull-$$`,
    `  echo "$img $rc $code $err"`,
    `  [ "$rc" = 0 ] && [ "$code" = 200 ] || exit 0`,
    "done",
  ].join("\n");
}

/**
 * What kolla's module reports when docker cannot pull: the Docker API's 500 for `images/create`
 * (docker-py raises APIError; kolla_docker fails with the traceback's last line). The curl message
 * that stands in for docker's own follows in parentheses.
 */
export function pullError(g: KollaGlobals, image: string, curlExit: number, http: string, err: string): string {
  const repo = `${g.docker_registry}/${g.docker_namespace}/${image}`;
  const host = g.docker_registry.split(":")[0];
  const raw = err.trim() ? ` (curl: ${err.trim().replace(/^curl: /, "")})` : "";
  const api = `docker.errors.APIError: 500 Server Error for http+docker://localhost/v1.41/images/create?tag=${g.tag}&fromImage=${encodeURIComponent(repo)}: Internal Server Error`;
  if (curlExit === 0)
    return `docker.errors.NotFound: 404 Client Error for http+docker://localhost/v1.41/images/create?tag=${g.tag}&fromImage=${encodeURIComponent(repo)}: Not Found ("manifest for ${repo}:${g.tag} not found: manifest unknown: HTTP ${http}")`;
  if (curlExit === 6) return `${api} ("Get \\"http://${g.docker_registry}/v2/\\": dial tcp: lookup ${host}: no such host")${raw}`;
  if (curlExit === 28) return `${api} ("Get \\"http://${g.docker_registry}/v2/\\": dial tcp: i/o timeout")${raw}`;
  if (curlExit === 7) return `${api} ("Get \\"http://${g.docker_registry}/v2/\\": dial tcp: connect: network is unreachable")${raw}`;
  return `${api} ("Get \\"http://${g.docker_registry}/v2/\\": curl exit ${curlExit}")${raw}`;
}
