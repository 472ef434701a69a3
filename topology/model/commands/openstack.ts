import { OBJECT_NAME, OBJECT_NAME_HINT } from "../names.ts";
import { shellWords } from "./words.ts";

/**
 * An `openstack` command line from a lab file. labwright runs the real `openstack` client
 * (python-openstackclient) with these words as its arguments, no shell, against the node's real
 * neutron, which answers with its own text. Read here is only what labwright must know before the
 * step runs:
 * - `$(openstack ... -f value ...)` substitutions, which run first (bash's command substitution);
 * - the service: neutron's commands, and nova's and glance's (`service: "compute"`), which the real
 *   nova answers when the deploy ran it (kolla's `enable_nova_fake`); without it labwright stands in
 *   for `server create` and `server add floating ip` (stacks/openstack/standins/nova.ts) and refuses
 *   the rest at run time, saying why (`refusal`); other services are refused here;
 * - names labwright exposes like nodes: a server (its namespace) and a router (`qrouter-<name>`).
 */

export class OpenstackArgsError extends Error {}

/** The command groups of python-openstackclient's network plugin (`openstack.network.v2` entry points) and `extension`. */
export const NETWORK_GROUPS = [
  "network",
  "subnet",
  "port",
  "router",
  "floating",
  "security",
  "address",
  "local",
  "ip",
  "extension",
] as const;

/** The command groups of nova and glance (python-openstackclient's compute and image plugins) that the real nova answers. */
export const NOVA_GROUPS = [
  "server",
  "flavor",
  "keypair",
  "image",
  "console",
  "hypervisor",
  "compute",
  "availability",
  "aggregate",
  "usage",
  "limits",
] as const;

/** nova's part: what labwright does in its place. */
export type NovaCommand =
  | {
      verb: "server create";
      name: string;
      /** `--network` (a name or ID, or a `$(...)` placeholder). */
      network?: string;
      /** `--port`: an existing port. */
      port?: string;
      /** `--security-group`, each a name or ID (none: neutron's default group). */
      securityGroups: string[];
    }
  | { verb: "server add floating ip"; server: string; address: string };

export interface OpenstackCommand {
  /** The words after `openstack`; `\u0000<k>` stands for the output of `substitutions[k]`, run first. */
  readonly argv: readonly string[];
  readonly substitutions: readonly OpenstackCommand[];
  /** Set when this is one of nova's commands labwright stands in for. */
  readonly nova?: NovaCommand;
  /** nova's or glance's command (NOVA_GROUPS). */
  readonly service?: "compute";
  /** Why it cannot run unless the real nova runs (kolla's enable_nova_fake). */
  readonly refusal?: string;
  /** `server create <name>`: the server's VM is usable by that name (when it is a usable name). */
  readonly server?: string;
  /** `router create <name>`: the router's namespace is usable as `qrouter-<name>`. */
  readonly router?: string;
}

/** `$(openstack ...)` in an argument: the inner command runs first and its output (trimmed) takes its place. */
const SUBST = /\$\((openstack [^()]*)\)/g;

export function parseOpenstack(line: string): OpenstackCommand {
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line)) throw new OpenstackArgsError("contains control characters");
  const substitutions: OpenstackCommand[] = [];
  const outer = line.replace(SUBST, (_, inner: string) => {
    const c = parseOpenstack(inner);
    if (!isValueFormat(c.argv))
      throw new OpenstackArgsError(`$(${inner}): use -f value (and -c <column>) so that the output is a bare value`);
    substitutions.push(
      c.service === "compute"
        ? {
            argv: c.argv,
            substitutions: c.substitutions,
            service: "compute",
            refusal: `$(${inner}): labwright's stand-in for nova is not used inside $(...) (the real nova runs with kolla's enable_nova_fake: "yes")`,
          }
        : c,
    );
    return `\u0000${substitutions.length - 1}`;
  });
  if (/\$\(/.test(outer)) throw new OpenstackArgsError("only $(openstack ...) command substitutions are run (no other shell)");
  const argv = shellWords(outer.trim(), OpenstackArgsError);
  if (argv[0] === "openstack") argv.shift();
  // No shell ever sees these words; shell syntax in one is a mistake (or an attack) worth saying.
  const shelly = argv.find((w) => /[;|&`$<>]/.test(w));
  if (shelly !== undefined)
    throw new OpenstackArgsError(
      `${JSON.stringify(shelly)}: a value is one word of the openstack command line, without shell syntax (; | & \` $ < >): labwright runs the client with these words as arguments, no shell`,
    );
  if (!argv.length) throw new OpenstackArgsError("no arguments (write what follows `openstack`, e.g. `network list`)");
  const placeholders = argv.join(" ").match(/\u0000\d+/g)?.length ?? 0;
  if (placeholders !== substitutions.length) throw new OpenstackArgsError("a $(openstack ...) substitution must be a word of its own");
  const head = argv[0]!;
  const words = argv
    .filter((w) => !w.startsWith("-"))
    .slice(0, 3)
    .join(" ");
  if (head === "server") {
    // labwright names a server's VM after it (real nova or stand-in): a name it cannot use is refused here.
    let server: { server?: string } = {};
    if (argv[1] === "create") {
      const name = positionals(argv.slice(2), SERVER_CREATE.bool).at(-1);
      if (name === undefined) throw new OpenstackArgsError("server create: give the server a name");
      named(name, "server create", "labwright names the server's VM after it");
      server = { server: name };
    }
    try {
      return { argv, substitutions, service: "compute", nova: novaCommand(argv), ...server };
    } catch (e) {
      if (!(e instanceof OpenstackArgsError)) throw e;
      return { argv, substitutions, service: "compute", refusal: e.message, ...server };
    }
  }
  if ((NOVA_GROUPS as readonly string[]).includes(head))
    return { argv, substitutions, service: "compute", refusal: `"${words}": ${NO_NOVA}` };
  if (!(NETWORK_GROUPS as readonly string[]).includes(head)) {
    throw new OpenstackArgsError(
      `"${words}": the lab's cloud runs neutron (network commands: ${NETWORK_GROUPS.join(", ")}), and nova and glance (${NOVA_GROUPS.join(", ")}) when kolla's enable_nova_fake is "yes"`,
    );
  }
  const router = head === "router" && argv[1] === "create" ? positionals(argv.slice(2), ROUTER_BOOL)[0] : undefined;
  if (head === "router" && argv[1] === "create") {
    if (router === undefined) throw new OpenstackArgsError("router create: give the router a name");
    named(router, "router create", "its namespace is usable as qrouter-<name>");
  }
  return { argv, substitutions, ...(router !== undefined ? { router } : {}) };
}

const NO_NOVA =
  "nova runs for real only when globals.yml has kolla's enable_nova_fake: \"yes\" (no hypervisor here: nova's fake driver); without it labwright stands in for `server create` and `server add floating ip` only";

/** Why a command cannot run without the real nova (undefined: it can, by neutron or the stand-in). */
export function novaRefusal(c: OpenstackCommand): string | undefined {
  return c.service === "compute" && c.nova === undefined ? (c.refusal ?? NO_NOVA) : undefined;
}

function isValueFormat(argv: readonly string[]): boolean {
  return argv.some((w, k) => ((w === "-f" || w === "--format") && argv[k + 1] === "value") || w === "-fvalue" || w === "--format=value");
}

/** Flags of `router create` that take no value (every other flag takes one). */
const ROUTER_BOOL = new Set([
  "--enable",
  "--disable",
  "--distributed",
  "--centralized",
  "--ha",
  "--no-ha",
  "--no-tag",
  "--enable-ndp-proxy",
  "--disable-ndp-proxy",
  "--enable-snat",
  "--disable-snat",
  "--enable-default-route-bfd",
  "--disable-default-route-bfd",
  "--enable-default-route-ecmp",
  "--disable-default-route-ecmp",
]);

/** Positional words, skipping flags and their values (`--flag value`, `--flag=value`, `-f value`). */
function positionals(words: readonly string[], bool: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      out.push(...words.slice(i + 1));
      break;
    }
    if (w.startsWith("-") && w !== "-") {
      if (!w.includes("=") && !bool.has(w)) i++;
      continue;
    }
    out.push(w);
  }
  return out;
}

function named(name: string, verb: string, why: string): void {
  if (!OBJECT_NAME.test(name))
    throw new OpenstackArgsError(`${verb}: the name ${JSON.stringify(name)} is not usable here (${why}): ${OBJECT_NAME_HINT}`);
}

/** What labwright's stand-in for nova accepts: its flags, those it ignores (no image boots here), and nothing else. */
const SERVER_CREATE = {
  value: new Set(["--network", "--port", "--security-group"]),
  ignored: new Set(["--image", "--flavor", "--key-name", "--availability-zone"]),
  bool: new Set(["--wait", "--no-network", "--auto-network", "--use-config-drive", "--no-config-drive"]),
};

function novaCommand(argv: readonly string[]): NovaCommand {
  const verb = argv.slice(0, 4).join(" ");
  if (verb === "server add floating ip") {
    const rest = argv.slice(4);
    if (rest.length !== 2 || rest.some((w) => w.startsWith("-")))
      throw new OpenstackArgsError(
        "server add floating ip: usage: server add floating ip <server> <ip-address> (labwright's stand-in for nova)",
      );
    named(rest[0]!, "server add floating ip", "a server labwright started");
    return { verb: "server add floating ip", server: rest[0]!, address: rest[1]! };
  }
  if (argv[1] !== "create") {
    throw new OpenstackArgsError(`"${argv.slice(0, 3).join(" ")}": ${NO_NOVA}`);
  }
  const words = argv.slice(2);
  let name: string | undefined;
  const one: Record<string, string> = {};
  const securityGroups: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith("-")) {
      if (name !== undefined) throw new OpenstackArgsError(`server create: unexpected argument ${JSON.stringify(w)} (one server name)`);
      name = w;
      continue;
    }
    const eq = w.indexOf("=");
    const flag = eq > 0 ? w.slice(0, eq) : w;
    if (SERVER_CREATE.bool.has(flag)) continue;
    if (!SERVER_CREATE.value.has(flag) && !SERVER_CREATE.ignored.has(flag)) {
      throw new OpenstackArgsError(
        `server create: ${flag} is not taken by labwright's stand-in for nova (it takes --network or --port, --security-group, and ignores --image, --flavor, --key-name, --availability-zone, --wait)`,
      );
    }
    const value = eq > 0 ? w.slice(eq + 1) : words[++i];
    if (value === undefined) throw new OpenstackArgsError(`server create: ${flag} needs a value`);
    if (flag === "--security-group") securityGroups.push(value);
    else if (SERVER_CREATE.value.has(flag)) {
      if (one[flag] !== undefined) throw new OpenstackArgsError(`server create: ${flag} given twice (labwright's servers have one NIC)`);
      one[flag] = value;
    }
  }
  if (name === undefined) throw new OpenstackArgsError("server create: give the server a name");
  named(name, "server create", "labwright names the server's namespace after it");
  if ((one["--network"] === undefined) === (one["--port"] === undefined))
    throw new OpenstackArgsError("server create: give --network <network> or --port <port> (one NIC)");
  return {
    verb: "server create",
    name,
    ...(one["--network"] !== undefined ? { network: one["--network"] } : {}),
    ...(one["--port"] !== undefined ? { port: one["--port"] } : {}),
    securityGroups,
  };
}
