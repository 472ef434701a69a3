import { NAME, OBJECT_NAME, OBJECT_NAME_HINT } from "../names.ts";
import { shellWords as words } from "./words.ts";

/**
 * The `incus` command lines labwright understands, parsed into typed commands. Anything else is
 * refused when the lab file is loaded, naming the part that is not supported: never ignored.
 */

export type IncusCommand =
  | { verb: "network-create"; name: string; type?: string; target?: string; config: Record<string, string> }
  | { verb: "network-delete"; name: string }
  | { verb: "network-list"; format: "table" | "json" | "csv" }
  | { verb: "network-show"; name: string }
  | { verb: "forward-create"; network: string; listen: string; config: Record<string, string> }
  | { verb: "forward-port-add"; network: string; listen: string; protocol: "tcp" | "udp"; listenPorts: string; target: string; targetPorts?: string }
  | { verb: "forward-list"; network: string }
  | { verb: "config-set"; key: string; value: string }
  | { verb: "launch"; image: string; name: string; network?: string; target?: string; vm: boolean }
  | { verb: "delete"; name: string; force: boolean }
  | { verb: "list"; format: "table" | "json" | "csv" };

export class IncusArgsError extends Error {}

const shellWords = (line: string) => words(line, IncusArgsError);

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Flags each command accepts: name → takes a value. Short forms map to long ones. */
function parseFlags(words: string[], allowed: Record<string, boolean>, short: Record<string, string> = {}): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith("-") || w === "-") {
      positional.push(w);
      continue;
    }
    let [name, value] = w.startsWith("--") ? [w.slice(2).split("=")[0]!, w.includes("=") ? w.slice(w.indexOf("=") + 1) : undefined] : [short[w.slice(1)] ?? w, undefined];
    if (!(name in allowed)) throw new IncusArgsError(`unsupported flag "${w}" (labwright supports: ${Object.keys(allowed).map((f) => "--" + f).join(", ") || "none"})`);
    if (allowed[name]) {
      if (value === undefined) {
        value = words[++i];
        if (value === undefined) throw new IncusArgsError(`flag --${name} needs a value`);
      }
      flags.set(name, value);
    } else {
      if (value !== undefined) throw new IncusArgsError(`flag --${name} takes no value`);
      flags.set(name, true);
    }
  }
  return { positional, flags };
}

function keyValues(words: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const k = w.indexOf("=");
    if (k <= 0) throw new IncusArgsError(`"${w}" is not a key=value pair (${what})`);
    out[w.slice(0, k)] = w.slice(k + 1);
  }
  return out;
}

function exactly(p: string[], n: number, usage: string): void {
  if (p.length < n) throw new IncusArgsError(`missing arguments: usage is \`incus ${usage}\``);
}

function format(f: string | true | undefined): "table" | "json" | "csv" {
  if (f === undefined) return "table";
  if (f === "table" || f === "json" || f === "csv") return f;
  throw new IncusArgsError(`unsupported --format "${String(f)}" (use table, json or csv)`);
}

const SUPPORTED = "network create|delete|list|show, network forward create|port add|list, config set, launch, delete, list";

/** Config values reach OVS/OVN databases and commands: one word, no quotes, braces or spaces. */
const CONFIG_VALUE = /^[A-Za-z0-9_.:,/@+=-]*$/;

/** Names become OVS/OVN object, namespace and interface names: checked before anything runs. */
function checkNames(c: IncusCommand): IncusCommand {
  const names: [string, string | undefined][] = [];
  if ("name" in c) names.push([c.verb === "launch" || c.verb === "delete" ? "instance name" : "network name", c.name]);
  if ("network" in c) names.push(["network name", c.network]);
  for (const [what, v] of names) if (v !== undefined && !OBJECT_NAME.test(v)) throw new IncusArgsError(`${what} ${JSON.stringify(v)} is not usable: ${OBJECT_NAME_HINT}`);
  if ((c.verb === "network-create" || c.verb === "launch") && c.target !== undefined && !NAME.test(c.target)) throw new IncusArgsError(`--target ${JSON.stringify(c.target)} is not a member name`);
  const values = "config" in c ? Object.entries(c.config) : c.verb === "config-set" ? [[c.key, c.value] as [string, string]] : [];
  for (const [k, v] of values) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(k)) throw new IncusArgsError(`configuration key ${JSON.stringify(k)} is not a key (letters, digits, '.', '_', '-')`);
    if (!CONFIG_VALUE.test(v)) throw new IncusArgsError(`${k}=${JSON.stringify(v)}: a value is one word of letters, digits and _.:,/@+=-`);
  }
  for (const v of c.verb === "forward-create" || c.verb === "forward-port-add" ? [c.listen, ...(c.verb === "forward-port-add" ? [c.target, c.listenPorts, c.targetPorts ?? ""] : [])] : []) {
    if (!CONFIG_VALUE.test(v)) throw new IncusArgsError(`${JSON.stringify(v)} is not an address or port list`);
  }
  return c;
}

export function parseIncus(line: string): IncusCommand {
  return checkNames(parseIncusWords(line));
}

function parseIncusWords(line: string): IncusCommand {
  const words = shellWords(line.trim());
  if (words[0] === "incus") words.shift();
  const [a, b, ...rest] = words;
  if (a === "network" && b === "forward") {
    const [c, ...more] = rest;
    if (c === "create") {
      const p = parseFlags(more, {});
      exactly(p.positional, 2, "network forward create <network> <listen address> [key=value...]");
      return { verb: "forward-create", network: p.positional[0]!, listen: p.positional[1]!, config: keyValues(p.positional.slice(2), "forward configuration") };
    }
    if (c === "port" && more[0] === "add") {
      const p = parseFlags(more.slice(1), {});
      exactly(p.positional, 5, "network forward port add <network> <listen address> <protocol> <listen ports> <target address> [<target ports>]");
      const [network, listen, protocol, listenPorts, target, targetPorts, ...extra] = p.positional as [string, string, string, string, string, string?, ...string[]];
      if (extra.length) throw new IncusArgsError(`unexpected arguments: ${extra.join(" ")}`);
      if (protocol !== "tcp" && protocol !== "udp") throw new IncusArgsError(`protocol must be tcp or udp, not "${protocol}"`);
      return { verb: "forward-port-add", network, listen, protocol, listenPorts, target, targetPorts };
    }
    if (c === "list") {
      const p = parseFlags(more, {});
      exactly(p.positional, 1, "network forward list <network>");
      return { verb: "forward-list", network: p.positional[0]! };
    }
    throw new IncusArgsError(`unsupported command "network forward ${c ?? ""}" (supported: ${SUPPORTED})`);
  }
  if (a === "network") {
    if (b === "create") {
      const p = parseFlags(rest, { type: true, target: true }, { t: "type" });
      exactly(p.positional, 1, "network create <name> [key=value...] [--type=<type>] [--target=<member>]");
      const type = p.flags.get("type");
      const target = p.flags.get("target");
      return { verb: "network-create", name: p.positional[0]!, type: type as string | undefined, target: target as string | undefined, config: keyValues(p.positional.slice(1), "network configuration") };
    }
    if (b === "delete") {
      const p = parseFlags(rest, {});
      exactly(p.positional, 1, "network delete <name>");
      return { verb: "network-delete", name: p.positional[0]! };
    }
    if (b === "list") {
      const p = parseFlags(rest, { format: true }, { f: "format" });
      return { verb: "network-list", format: format(p.flags.get("format")) };
    }
    if (b === "show") {
      const p = parseFlags(rest, {});
      exactly(p.positional, 1, "network show <name>");
      return { verb: "network-show", name: p.positional[0]! };
    }
  }
  if (a === "config" && b === "set") {
    const p = parseFlags(rest, {});
    if (p.positional.length === 1 && p.positional[0]!.includes("=")) {
      const [k, v] = Object.entries(keyValues(p.positional, "server configuration"))[0]!;
      return { verb: "config-set", key: k, value: v };
    }
    exactly(p.positional, 2, "config set <key>=<value>");
    return { verb: "config-set", key: p.positional[0]!, value: p.positional[1]! };
  }
  if (a === "launch") {
    const p = parseFlags(b === undefined ? [] : [b, ...rest], { network: true, target: true, vm: false }, { n: "network" });
    exactly(p.positional, 2, "launch <image> <name> --network <network> [--target <member>] [--vm]");
    if (p.positional.length > 2) throw new IncusArgsError(`unexpected arguments: ${p.positional.slice(2).join(" ")}`);
    return { verb: "launch", image: p.positional[0]!, name: p.positional[1]!, network: p.flags.get("network") as string | undefined, target: p.flags.get("target") as string | undefined, vm: p.flags.has("vm") };
  }
  if (a === "delete") {
    const p = parseFlags(b === undefined ? [] : [b, ...rest], { force: false }, { f: "force" });
    exactly(p.positional, 1, "delete <instance> [--force]");
    return { verb: "delete", name: p.positional[0]!, force: p.flags.has("force") };
  }
  if (a === "list") {
    const p = parseFlags(b === undefined ? [] : [b, ...rest], { format: true }, { f: "format" });
    return { verb: "list", format: format(p.flags.get("format")) };
  }
  throw new IncusArgsError(`unsupported command "${[a, b].filter(Boolean).join(" ")}" (supported: ${SUPPORTED})`);
}
