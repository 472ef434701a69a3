/**
 * What a kolla `config:` override may set in a neutron file. kolla merges the override over the file
 * it renders and the daemon reads the result, so every option is judged before anything runs:
 * - it must be an option the installed neutron reads from that file and section (neutron's own
 *   list: neutron-options.data.ts, from its oslo-config-generator) — else it is a typo, named with
 *   the nearest option;
 * - its value must be what the option's type takes (booleans, integers within neutron's bounds,
 *   ports, addresses, one of its choices);
 * - free text reaches only options that are names, ranges and mappings (listed below): nothing that
 *   is a path, a command, a root helper, a URL, a credential, a log destination or a Python import
 *   path. Driver and plugin options take neutron's aliases only (`openvswitch`, `router`), which it
 *   resolves through its own entry points, never a dotted class path;
 * - a few options labwright itself relies on (where the API listens, what the agents register as,
 *   where the files live) stay as kolla renders them.
 */
import { isIP } from "node:net";
import { didYouMean } from "../shape.ts";
import { NEUTRON_FILES, NEUTRON_NAMESPACES } from "./neutron-options.data.ts";

/** One option as neutron's oslo-config-generator describes it (neutron-options.data.ts). */
export interface NeutronOption {
  type: "string" | "integer" | "boolean" | "list" | "float" | "port" | "host" | "ip" | "dict" | "multi" | "uri";
  choices?: string[];
  min?: number;
  max?: number;
  /** A password or key (oslo's secret=True). */
  secret?: true;
  /** One of oslo.log's options (logging: files, syslog, formats). */
  log?: true;
}

/** Sections of a file an override may not touch, and why. */
const CLOSED_SECTIONS: Record<string, string> = {
  database: "labwright's MariaDB is the node's own: its connection is kolla's",
  nova: "no nova runs in labwright's cloud (its notifications are off)",
  placement: "no placement service runs in labwright's cloud",
  ironic: "no ironic runs in labwright's cloud",
  oslo_messaging_amqp: "the lab's bus is RabbitMQ (oslo_messaging_rabbit)",
  oslo_messaging_kafka: "the lab's bus is RabbitMQ (oslo_messaging_rabbit)",
  oslo_messaging_notifications: "nothing in labwright's cloud consumes notifications",
  keystone_authtoken: "no keystone runs here: neutron answers without authentication (noauth)",
  privsep: "the privsep helper's command line stays as kolla renders it (it runs as root)",
};

/** Options that stay as kolla renders them, and why (labwright reaches neutron through them). */
const KEPT: Record<string, string> = {
  bind_host: "labwright's client reaches neutron-server on the API address kolla binds",
  bind_port: "labwright's client reaches neutron-server on kolla's port 9696",
  host: "labwright knows the agents by the node's hostname",
  state_path: "neutron's files live in the node's run directory",
  auth_strategy: "no keystone runs here: neutron answers without authentication (noauth)",
  core_plugin: "labwright runs ML2",
  transport_url: "the lab's RabbitMQ is the node's own",
  ovsdb_connection: "the agents reach the node's own ovsdb-server on kolla's listener",
  root_helper: "the agents run as root in the node (kolla: sudo neutron-rootwrap)",
  root_helper_daemon: "the agents run as root in the node (kolla: sudo neutron-rootwrap-daemon)",
};

/** String-valued options that are names, addresses, ranges or mappings: free text (of plain characters) is fine. */
const FREE_TEXT = new Set([
  "availability_zone",
  "base_mac",
  "bridge_mappings",
  "default_availability_zones",
  "dnsmasq_dns_servers",
  "dns_domain",
  "dvr_base_mac",
  "external_network_type",
  "flat_networks",
  "int_peer_patch_port",
  "integration_bridge",
  "ipv6_gateway",
  "l3_ha_net_cidr",
  "l3_ha_network_physical_name",
  "l3_ha_network_type",
  "network_vlan_ranges",
  "ovs_integration_bridge",
  "permitted_ethertypes",
  "physical_network_mtus",
  "tenant_network_types",
  "tun_peer_patch_port",
  "tunnel_bridge",
  "tunnel_id_ranges",
  "tunnel_types",
  "vni_ranges",
  "vnic_type_prohibit_list",
  "vxlan_group",
]);

/** Options whose values neutron resolves as aliases of its own entry points (a dotted path would import a class). */
const ALIASES = new Set([
  "type_drivers",
  "mechanism_drivers",
  "extension_drivers",
  "service_plugins",
  "extensions",
  "firewall_driver",
  "interface_driver",
]);

/** One neutron process per worker, about 100 MB each: an override may ask for up to this many. */
export const MAX_WORKERS = 8;

const TEXT = /^[A-Za-z0-9_.,:*/ -]{0,256}$/;
const ALIAS = /^[a-z][a-z0-9_]{0,63}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;
const BOOLEAN = new Set(["true", "false", "yes", "no", "on", "off", "1", "0"]);

export interface OptionVerdict {
  error: string;
  hint: string;
}

/**
 * The sections and options a daemon may read from `file`. oslo.config reads every option a daemon
 * registers from each of its --config-file files, so an agent's file also takes neutron.conf's
 * options, and neutron.conf (every daemon reads it) takes every daemon's.
 */
function known(file: string): Record<string, Record<string, NeutronOption>> | undefined {
  if (!NEUTRON_FILES[file]) return undefined;
  const files = file === "neutron.conf" ? Object.keys(NEUTRON_FILES) : [file, "neutron.conf"];
  const out: Record<string, Record<string, NeutronOption>> = {};
  for (const ns of new Set(files.flatMap((f) => NEUTRON_FILES[f]!)))
    for (const [s, opts] of Object.entries(NEUTRON_NAMESPACES[ns] ?? {})) out[s] = { ...opts, ...out[s] };
  return out;
}

/** null when `[section] key = value` may be merged into neutron's `file`; else what is wrong and what to do. */
export function judgeOption(file: string, section: string, key: string, value: string): OptionVerdict | null {
  const sections = known(file);
  if (!sections) return { error: `${file} is not a file neutron reads`, hint: "" };
  if (CLOSED_SECTIONS[section]) return { error: `section [${section}] stays as kolla renders it: ${CLOSED_SECTIONS[section]}`, hint: "" };
  const opts = sections[section];
  if (!opts)
    return {
      error: `neutron reads no section [${section}] from ${file}`,
      hint: `${didYouMean(section, Object.keys(sections))}its sections: ${Object.keys(sections)
        .filter((s) => !CLOSED_SECTIONS[s])
        .join(", ")}`,
    };
  const opt = opts[key];
  if (!opt)
    return {
      error: `neutron has no option ${key} in [${section}] of ${file}`,
      hint: `${didYouMean(key, Object.keys(opts))}see neutron's ${file} reference`,
    };
  if (KEPT[key]) return { error: `${key} stays as kolla renders it: ${KEPT[key]}`, hint: "" };
  if (opt.secret) return { error: `${key} is a secret: the lab's credentials are kolla's`, hint: "" };
  if (opt.log && key !== "debug")
    return {
      error: `${key} is one of oslo.log's options: where and how neutron logs stays as kolla renders it (labwright reads the logs)`,
      hint: "debug = true is accepted",
    };
  return judgeValue(key, opt, value);
}

function judgeValue(key: string, opt: NeutronOption, value: string): OptionVerdict | null {
  const bad = (what: string): OptionVerdict => ({ error: `${key} takes ${what}`, hint: "" });
  if (opt.choices) return opt.choices.includes(value) ? null : bad(`one of ${opt.choices.join(", ")}`);
  switch (opt.type) {
    case "boolean":
      return BOOLEAN.has(value.toLowerCase()) ? null : bad("true or false");
    case "integer": {
      if (!/^-?\d{1,12}$/.test(value)) return bad("an integer");
      const n = Number(value);
      const max = key.endsWith("workers") ? Math.min(opt.max ?? MAX_WORKERS, MAX_WORKERS) : opt.max;
      if (opt.min !== undefined && n < opt.min) return bad(`an integer of at least ${opt.min}`);
      if (max !== undefined && n > max)
        return bad(`an integer of at most ${max}${key.endsWith("workers") ? " (labwright's limit: each worker is a process)" : ""}`);
      return null;
    }
    case "float":
      return /^-?\d{1,12}(\.\d{1,12})?$/.test(value) ? null : bad("a number");
    case "port":
      return /^\d{1,5}$/.test(value) && Number(value) <= 65535 ? null : bad("a port number (0-65535)");
    case "ip":
      return isIP(value) ? null : bad("an IP address");
    case "host":
      return isIP(value) || HOSTNAME.test(value) ? null : bad("an IP address or a host name");
    default:
      break;
  }
  // Text: names, ranges and mappings only.
  const items = value
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (ALIASES.has(key))
    return items.every((x) => ALIAS.test(x))
      ? null
      : {
          error: `${key} takes neutron's aliases (e.g. openvswitch, router), not class paths`,
          hint: "a dotted path would have neutron import any class: name the driver or plugin by its alias",
        };
  if (!FREE_TEXT.has(key))
    return {
      error: `${key} is a path, a command, an address to reach or a class: it stays as kolla renders it`,
      hint: "labwright lets an override set behaviour (numbers, booleans, choices), names, ranges and mappings",
    };
  if (!TEXT.test(value) || items.some((x) => x.startsWith("-")))
    return { error: `the value of ${key} may hold letters, digits and _ . , : * / - and spaces only, no item starting with -`, hint: "" };
  return null;
}
