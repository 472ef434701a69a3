import { OBJECT_NAME, OBJECT_NAME_HINT, TOKEN } from "../names.ts";
import { shellWords } from "./words.ts";

/**
 * The `openstack` command lines labwright understands (python-openstackclient syntax), parsed when
 * the lab file is loaded. A command or flag that is not listed here is refused, naming it.
 */

export class OpenstackArgsError extends Error {}

type FlagKind = "value" | "multi" | "bool";

interface CommandSpec {
  usage: string;
  /** Positional arguments: exact count. */
  args: number;
  flags: Record<string, FlagKind>;
  /** Accepted for compatibility and ignored, with the reason (shown in the docs). */
  ignored?: Record<string, FlagKind>;
  /** list/show: output formatting flags. */
  output?: boolean;
}

const COMMANDS = {
  "network create": {
    usage: "network create <name> [--external|--internal] [--share] [--provider-network-type flat|vlan|vxlan] [--provider-physical-network <physnet>] [--provider-segment <id>]",
    args: 1,
    flags: { external: "bool", internal: "bool", share: "bool", "provider-network-type": "value", "provider-physical-network": "value", "provider-segment": "value", mtu: "value" },
    output: true,
  },
  "network list": { usage: "network list [--external]", args: 0, flags: { external: "bool" }, output: true },
  "network show": { usage: "network show <network>", args: 1, flags: {}, output: true },
  "subnet create": {
    usage: "subnet create <name> --network <network> --subnet-range <cidr> [--gateway <ip>|none] [--allocation-pool start=<ip>,end=<ip>]... [--no-dhcp] [--dns-nameserver <ip>]...",
    args: 1,
    flags: { network: "value", "subnet-range": "value", gateway: "value", "allocation-pool": "multi", dhcp: "bool", "no-dhcp": "bool", "dns-nameserver": "multi" },
    output: true,
  },
  "subnet list": { usage: "subnet list [--network <network>]", args: 0, flags: { network: "value" }, output: true },
  "subnet show": { usage: "subnet show <subnet>", args: 1, flags: {}, output: true },
  "router create": { usage: "router create <name>", args: 1, flags: {}, output: true },
  "router set": { usage: "router set <router> --external-gateway <network>", args: 1, flags: { "external-gateway": "value" } },
  "router add subnet": { usage: "router add subnet <router> <subnet>", args: 2, flags: {} },
  "router list": { usage: "router list", args: 0, flags: {}, output: true },
  "router show": { usage: "router show <router>", args: 1, flags: {}, output: true },
  "server create": {
    usage: "server create <name> --network <network> [--image <image>] [--flavor <flavor>] [--wait]",
    args: 1,
    flags: { network: "value" },
    ignored: { image: "value", flavor: "value", wait: "bool", "key-name": "value" },
    output: true,
  },
  "server list": { usage: "server list", args: 0, flags: {}, output: true },
  "server show": { usage: "server show <server>", args: 1, flags: {}, output: true },
  "server add floating ip": { usage: "server add floating ip <server> <ip-address>", args: 2, flags: {} },
  "floating ip create": { usage: "floating ip create <network> [--floating-ip-address <ip>]", args: 1, flags: { "floating-ip-address": "value" }, output: true },
  "floating ip list": { usage: "floating ip list", args: 0, flags: {}, output: true },
  "floating ip show": { usage: "floating ip show <ip-address>", args: 1, flags: {}, output: true },
  "port list": { usage: "port list [--network <network>] [--router <router>] [--server <server>]", args: 0, flags: { network: "value", router: "value", server: "value" }, output: true },
} satisfies Record<string, CommandSpec>;

export type OpenstackVerb = keyof typeof COMMANDS;

export interface OpenstackCommand {
  verb: OpenstackVerb;
  /** Arguments; `\u0000<k>` stands for the output of `substitutions[k]`, run first (bash's `$(openstack ...)`). */
  args: string[];
  substitutions: OpenstackCommand[];
  flags: Record<string, string[] | true>;
  format: "table" | "value" | "json";
  columns: string[];
}

const VERBS = Object.keys(COMMANDS).sort((a, b) => b.split(" ").length - a.split(" ").length);

export const SUPPORTED_COMMANDS = Object.keys(COMMANDS);

export function usageOf(verb: OpenstackVerb): string {
  return COMMANDS[verb].usage;
}

/** Flags each command accepts and ignores, for the docs. */
export function ignoredFlags(verb: OpenstackVerb): string[] {
  return Object.keys((COMMANDS[verb] as CommandSpec).ignored ?? {});
}

/** `$(openstack ...)` in an argument: the inner command runs first and its output (trimmed) takes its place. */
const SUBST = /\$\((openstack [^()]*)\)/g;

export function parseOpenstack(line: string): OpenstackCommand {
  const substitutions: OpenstackCommand[] = [];
  const outer = line.replace(SUBST, (_, inner: string) => {
    const c = parseOpenstack(inner);
    if (c.format !== "value") throw new OpenstackArgsError(`$(${inner}): use -f value (and -c <column>) so that the output is a bare value`);
    substitutions.push(c);
    return `\u0000${substitutions.length - 1}`;
  });
  if (/\$\(/.test(outer)) throw new OpenstackArgsError("only $(openstack ...) command substitutions are emulated");
  return { ...parseWords(outer), substitutions };
}

function parseWords(line: string): Omit<OpenstackCommand, "substitutions"> {
  const words = shellWords(line.trim(), OpenstackArgsError);
  if (words[0] === "openstack") words.shift();
  const verb = VERBS.find((v) => v.split(" ").every((w, k) => words[k] === w)) as OpenstackVerb | undefined;
  if (!verb) {
    throw new OpenstackArgsError(`unsupported command "${words.filter((w) => !w.startsWith("-")).slice(0, 3).join(" ")}" (labwright emulates: ${SUPPORTED_COMMANDS.join(", ")})`);
  }
  const spec: CommandSpec = COMMANDS[verb];
  const rest = words.slice(verb.split(" ").length);
  const all: Record<string, FlagKind> = { ...spec.flags, ...(spec.ignored ?? {}), ...(spec.output ? { format: "value", column: "multi" } : {}) };
  const short: Record<string, string> = spec.output ? { f: "format", c: "column" } : {};
  const args: string[] = [];
  const flags: Record<string, string[] | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (!w.startsWith("-") || w === "-") {
      args.push(w);
      continue;
    }
    const long = w.startsWith("--");
    const name = long ? w.slice(2).split("=")[0]! : (short[w.slice(1)] ?? w);
    let value: string | undefined = long && w.includes("=") ? w.slice(w.indexOf("=") + 1) : undefined;
    const kind = all[name];
    if (!kind) {
      const known = Object.keys(all).map((f) => "--" + f);
      throw new OpenstackArgsError(`openstack ${verb}: unsupported argument "${w}" (labwright supports: ${known.join(", ") || "no flags"})`);
    }
    if (kind === "bool") {
      if (value !== undefined) throw new OpenstackArgsError(`openstack ${verb}: ${w} takes no value`);
      flags[name] = true;
      continue;
    }
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined) throw new OpenstackArgsError(`openstack ${verb}: --${name} needs a value`);
    }
    const prev = flags[name];
    if (kind === "value" && Array.isArray(prev)) throw new OpenstackArgsError(`openstack ${verb}: --${name} given twice`);
    flags[name] = [...(Array.isArray(prev) ? prev : []), value];
  }
  if (args.length !== spec.args) {
    throw new OpenstackArgsError(`openstack ${verb}: ${args.length < spec.args ? "missing" : "unexpected"} arguments${args.length > spec.args ? ` (${args.slice(spec.args).join(" ")})` : ""}; usage: openstack ${spec.usage}`);
  }
  for (const k of Object.keys(spec.ignored ?? {})) delete flags[k];
  const fmt = (flags.format as string[] | undefined)?.[0] ?? "table";
  if (fmt !== "table" && fmt !== "value" && fmt !== "json") throw new OpenstackArgsError(`openstack ${verb}: -f ${fmt} is not supported (use table, value or json)`);
  const columns = (flags.column as string[] | undefined) ?? [];
  delete flags.format;
  delete flags.column;
  checkValues(verb, args, flags);
  return { verb, args, flags, format: fmt, columns };
}

/** A name or ID that refers to an existing object, or a `$(...)` placeholder. */
const REFERENCE = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,62}|\u0000\d+)$/;

/**
 * Names become namespace and device names (qrouter-<name>, qdhcp-<name>, a server's namespace) and
 * values reach ip/iptables/dnsmasq: both are single tokens, checked here before anything runs.
 */
function checkNames(verb: OpenstackVerb, args: string[], flags: Record<string, string[] | true>): void {
  const creates = verb.endsWith(" create") && verb !== "floating ip create";
  args.forEach((a, k) => {
    if (creates && k === 0) {
      if (!OBJECT_NAME.test(a)) throw new OpenstackArgsError(`openstack ${verb}: the name ${JSON.stringify(a)} is not usable here (labwright names namespaces after it): ${OBJECT_NAME_HINT}`);
    } else if (!REFERENCE.test(a)) throw new OpenstackArgsError(`openstack ${verb}: ${JSON.stringify(a)} is not a name or ID: ${OBJECT_NAME_HINT}`);
  });
  for (const [k, v] of Object.entries(flags)) {
    if (v === true) continue;
    for (const x of v) if (!TOKEN.test(x) && !REFERENCE.test(x)) throw new OpenstackArgsError(`openstack ${verb}: --${k} ${JSON.stringify(x)}: a value is one word of letters, digits and _@%+=:,./- (not starting with '-')`);
  }
}

/** Values neutron would refuse before anything else happens. */
function checkValues(verb: OpenstackVerb, args: string[], flags: Record<string, string[] | true>): void {
  checkNames(verb, args, flags);
  const one = (k: string) => (flags[k] as string[] | undefined)?.[0];
  if (verb === "network create") {
    const t = one("provider-network-type");
    if (t !== undefined && !["flat", "vlan", "vxlan"].includes(t)) throw new OpenstackArgsError(`openstack network create: --provider-network-type ${t} is not emulated (use flat, vlan or vxlan)`);
    const seg = one("provider-segment");
    if (seg !== undefined && !/^\d+$/.test(seg)) throw new OpenstackArgsError(`openstack network create: --provider-segment must be a number, not "${seg}"`);
    if (flags.external && flags.internal) throw new OpenstackArgsError("openstack network create: argument --internal: not allowed with argument --external");
  }
  if (verb === "subnet create") {
    if (!one("network")) throw new OpenstackArgsError("openstack subnet create: the following arguments are required: --network");
    if (!one("subnet-range")) throw new OpenstackArgsError("openstack subnet create: --subnet-range is required (labwright does not emulate subnet pools)");
    for (const p of (flags["allocation-pool"] as string[] | undefined) ?? []) {
      if (!/^start=[\d.]+,end=[\d.]+$/.test(p)) throw new OpenstackArgsError(`openstack subnet create: --allocation-pool "${p}" must look like start=10.0.0.10,end=10.0.0.20`);
    }
    if (flags.dhcp && flags["no-dhcp"]) throw new OpenstackArgsError("openstack subnet create: argument --no-dhcp: not allowed with argument --dhcp");
  }
  if (verb === "router set" && !one("external-gateway")) throw new OpenstackArgsError("openstack router set: labwright emulates only --external-gateway <network>");
  if (verb === "server create" && !one("network")) throw new OpenstackArgsError("openstack server create: give --network <network> (labwright emulates one NIC per server)");
}
