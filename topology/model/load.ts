import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { parseDocument } from "yaml";
import { IPv4, IPv4CidrRange, Validator } from "ip-num";
import { z } from "zod";
import { closest, distance } from "fastest-levenshtein";
import { codeFrame, LabFileError, type Problem, pathString } from "./problems.ts";
import { IncusArgsError, parseIncus } from "./commands/incus.ts";
import { OpenstackArgsError, parseOpenstack } from "./commands/openstack.ts";
import { type Ini, IniError, parseIni } from "./commands/ini.ts";
import { type KollaGlobals, KollaConfigError, readGlobals } from "./commands/kolla-globals.ts";
import { CheckStep, type Expectation, ExpectationKinds, IncusStep, KollaStep, LabDoc, type LabDocT, Lan, Node, OpenstackStep, RunStep, Scenario } from "./schema.ts";
import type { InterfaceSpec, Lab, LanSpec, Located, NodeSpec, ScenarioSpec, Step } from "./types.ts";
import { YamlSource } from "./yaml-source.ts";
import { hasSwitch, isIncusMember, isKollaNode, softwareProblems } from "./software.ts";
import { HOSTNAME, IFNAME, IFNAME_HINT, isNetnsSysctl, NAME, NAME_HINT, NETNS_SYSCTL_PREFIXES, SYSCTL_VALUE } from "./names.ts";

type Path = (string | number)[];

/** What a lab file may cost to read: bounded, so a hostile file fails fast with a clear message. */
export const LIMITS = {
  /** Bytes of a lab file. */
  labBytes: 1024 * 1024,
  /** Bytes of a file a lab refers to (a kolla globals.yml). */
  referencedBytes: 256 * 1024,
  /** YAML aliases resolved per document (the yaml library's own guard against alias bombs). */
  aliases: 100,
  nodes: 1000,
  lans: 1000,
  /** Problems listed; the rest are counted. */
  problems: 50,
} as const;

/** Reads a regular file of at most `limit` bytes; throws an Error whose message says what is wrong. */
function readBounded(path: string, limit: number): string {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size > limit) throw new Error(`${st.size} bytes is more than the ${limit} bytes labwright reads`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

class Problems {
  readonly list: Problem[] = [];
  /** Problems found beyond LIMITS.problems: counted, not described (describing them costs time). */
  dropped = 0;
  constructor(readonly file: string, readonly source: YamlSource) {}
  add(path: Path, message: string, hint?: string, key?: string): void {
    if (this.list.length >= LIMITS.problems) {
      this.dropped++;
      return;
    }
    this.list.push({
      file: this.file,
      path: pathString(key === undefined ? path : [...path, key]),
      line: this.source.line(path, key),
      message,
      hint,
    });
  }
}

/** Reads, parses and validates a lab file. Throws LabFileError listing every problem found. */
export function loadLab(file: string): Lab {
  const abs = resolve(file);
  let text: string;
  try {
    text = readBounded(abs, LIMITS.labBytes);
  } catch (e) {
    throw new LabFileError(file, [
      { file, path: "", message: `cannot read the file: ${(e as Error).message}`, hint: "give the path of a lab file (YAML, at most 1 MiB)" },
    ]);
  }
  return parseLab(text, file);
}

export function parseLab(text: string, file = "<lab>"): Lab {
  const { source, errors, more } = YamlSource.parse(text, LIMITS.problems);
  const problems = new Problems(file, source);
  for (const e of errors) {
    const frame = e.line !== undefined && e.column !== undefined ? codeFrame(text, e.line, e.column) : undefined;
    problems.list.push({ file, path: "", line: e.line, column: e.column, frame, message: `YAML syntax: ${e.message}`, hint: "fix the YAML syntax at that line" });
  }
  if (problems.list.length) throw new LabFileError(file, problems.list, more);
  let raw: unknown;
  try {
    raw = source.toJS(LIMITS.aliases);
  } catch (e) {
    throw new LabFileError(file, [{ file, path: "", message: `YAML: ${(e as Error).message.split("\n")[0]}`, hint: `use at most ${LIMITS.aliases} aliases (*name) in a lab file` }]);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new LabFileError(file, [
      { file, path: "", line: 1, message: "the document must be a map with `name`, `lans` and `nodes`", hint: "see docs/lab-files.md" },
    ]);
  }
  for (const key of ["nodes", "lans"] as const) {
    const v = (raw as Record<string, unknown>)[key];
    const n = v && typeof v === "object" ? Object.keys(v).length : 0;
    const max = LIMITS[key];
    if (n > max) {
      problems.add([key], `${n} ${key}: labwright builds at most ${max} on one machine`, `split the lab, or keep at most ${max} ${key}`);
      throw new LabFileError(file, problems.list);
    }
  }
  const { doc, broken } = shapeBySection(raw as Record<string, unknown>, problems);
  const lab = semantic(doc, problems, resolve(file), broken);
  if (problems.list.length) throw new LabFileError(file, problems.list, problems.dropped);
  return lab;
}

/** Names whose own definition failed its shape check: known to exist, so references to them raise no knock-on errors. */
interface Broken {
  lans: Set<string>;
  nodes: Set<string>;
  /** Sections that are missing or not a map (already reported by the top-level check). */
  absent: Set<"lans" | "nodes">;
}

/**
 * The document's shape, checked a section and an entry at a time: a LAN, node or scenario that fails
 * is reported and left out of the semantic checks (its name still counts as defined), so one
 * mistake gives one problem and the rest of the file is still checked in the same report.
 */
function shapeBySection(raw: Record<string, unknown>, problems: Problems): { doc: LabDocT; broken: Broken } {
  const broken: Broken = { lans: new Set(), nodes: new Set(), absent: new Set() };
  // The top level itself (its keys and simple values), with the sections taken as opaque.
  const top = shape(LabDoc.extend({ lans: z.record(z.string(), z.unknown()), nodes: z.record(z.string(), z.unknown()), scenarios: z.array(z.unknown()).optional() }), raw, [], problems);
  const section = (key: "lans" | "nodes") => {
    const v = raw[key];
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    broken.absent.add(key);
    return {};
  };
  const lans: LabDocT["lans"] = {};
  for (const [k, v] of Object.entries(section("lans"))) {
    const s = shape(Lan, v, ["lans", k], problems);
    if (s) lans[k] = s;
    else broken.lans.add(k);
  }
  const nodes: LabDocT["nodes"] = {};
  for (const [k, v] of Object.entries(section("nodes"))) {
    const s = shape(Node, v, ["nodes", k], problems);
    if (s) nodes[k] = s;
    else broken.nodes.add(k);
  }
  const list = (key: string) => (Array.isArray(raw[key]) ? (raw[key] as unknown[]) : []);
  const scenarios = raw.scenarios === undefined ? undefined : list("scenarios").flatMap((v, k) => {
    const s = shape(Scenario, v, ["scenarios", k], problems);
    return s ? [s] : [];
  });
  return {
    doc: {
      name: top?.name ?? (typeof raw.name === "string" ? raw.name : "lab"),
      description: top?.description,
      logs: top?.logs ?? "report",
      lans,
      nodes,
      steps: list("steps"),
      expect: list("expect"),
      ...(scenarios !== undefined ? { scenarios } : {}),
    },
    broken,
  };
}

/** zod shape check, with zod's issues turned into problems at their path. */
function shape<S extends z.ZodType>(schema: S, value: unknown, at: Path, problems: Problems): z.output<S> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const path = [...at, ...(issue.path as Path)];
    if (issue.code === "unrecognized_keys") {
      const allowed = knownKeys(schema, issue.path as Path);
      for (const k of issue.keys) {
        problems.add(path, `unknown key "${k}"`, allowed ? `${didYouMean(k, allowed)}use one of: ${allowed.join(", ")}` : "remove it", k);
      }
    } else if (issue.code === "invalid_type") {
      const actual = valueAt(value, issue.path as Path);
      if (actual === undefined) problems.add(path, `missing required key`, `add \`${String(path.at(-1))}: ...\``);
      else problems.add(path, `expected ${issue.expected}, got ${kindOf(actual)}`, `write ${article(issue.expected)} here`);
    } else {
      problems.add(path, issue.message.replace(/^Invalid input: /, ""), hintFor(issue));
    }
  }
  return undefined;
}

function valueAt(v: unknown, path: Path): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)})`;
  if (typeof v === "number") return Number.isInteger(v) ? `an integer (${v})` : `a number (${v})`;
  return `a ${typeof v} (${String(v)})`;
}

function article(expected: string): string {
  const words: Record<string, string> = { object: "a map", array: "a list", string: "a string", number: "a number", int: "an integer", boolean: "true or false" };
  return words[expected] ?? expected;
}

/** "did you mean ...?" when one of `known` is a likely typo of `name`. */
export function didYouMean(name: string, known: readonly string[]): string {
  if (!known.length) return "";
  const best = closest(name, [...known]);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? `did you mean "${best}"? ` : "";
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === "invalid_value" && "values" in issue) return `use one of: ${issue.values.map(String).join(", ")}`;
  if (issue.code === "invalid_union") return "see docs/lab-files.md for the accepted forms";
  return undefined;
}

/** Keys a strict object accepts, found by walking the schema along path (best effort, for hints). */
function knownKeys(schema: z.ZodType, path: Path): string[] | undefined {
  let s: unknown = schema;
  for (const k of path) {
    s = unwrap(s);
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }).def;
    if (!def) return undefined;
    if (def.type === "object" && def.shape) s = def.shape[String(k)];
    else if (def.type === "array") s = def.element;
    else if (def.type === "record") s = def.valueType;
    else return undefined;
  }
  s = unwrap(s);
  const shapeObj = (s as { def?: { shape?: Record<string, unknown> } }).def?.shape;
  return shapeObj ? Object.keys(shapeObj) : undefined;
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { type?: string; innerType?: unknown } } | undefined;
  while (cur?.def && ["optional", "default", "nullable", "prefault"].includes(cur.def.type ?? "")) {
    cur = cur.def.innerType as typeof cur;
  }
  return cur;
}

// ---------------------------------------------------------------- address helpers

export function isIPv4(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && Validator.isValidIPv4String(s)[0];
}

/** Is this string a network in CIDR form, with no host bits set? Returns an error message or null. */
function cidrError(s: string): string | null {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return `"${s}" is not an IPv4 network in CIDR form (like 10.10.35.0/24)`;
  if (!Validator.isValidIPv4CidrRange(s)[0]) {
    const net = IPv4CidrRange.fromCidr(s).getFirst().toString();
    return `"${s}" has host bits set: the network is ${net}/${m[2]}`;
  }
  return null;
}

// ---------------------------------------------------------------- semantic checks

function semantic(doc: LabDocT, problems: Problems, file: string, broken: Broken = { lans: new Set(), nodes: new Set(), absent: new Set() }): Lab {
  const nameHint = NAME_HINT;

  // LANs
  const lans: LanSpec[] = [];
  const ranges = new Map<string, IPv4CidrRange>();
  for (const [lanName, lan] of Object.entries(doc.lans)) {
    const at: Path = ["lans", lanName];
    if (!NAME.test(lanName)) problems.add(["lans"], `LAN name "${lanName}" is not valid`, nameHint, lanName);
    if (lan.cidr === undefined) {
      lans.push({ name: lanName, prefix: 32, description: lan.description });
      continue;
    }
    const err = cidrError(lan.cidr);
    if (err) {
      problems.add([...at, "cidr"], err, err.includes("host bits") ? `write the network address: ${err.split("network is ")[1]}` : "write it like 10.10.35.0/24");
      continue;
    }
    const range = IPv4CidrRange.fromCidr(lan.cidr);
    for (const [other, r] of ranges) {
      if (range.isOverlapping(r)) {
        problems.add([...at, "cidr"], `${lan.cidr} overlaps LAN "${other}" (${r.toCidrString()})`, "give each LAN its own address range");
      }
    }
    ranges.set(lanName, range);
    lans.push({ name: lanName, cidr: lan.cidr, prefix: Number(range.getPrefix().getValue()), description: lan.description });
  }
  if (Object.keys(doc.lans).length === 0 && broken.lans.size === 0 && !broken.absent.has("lans")) {
    problems.add(["lans"], "a lab needs at least one LAN", "add `lans: { lan1: { cidr: 10.0.0.0/24 } }`");
  }

  // Nodes and their interfaces
  const nodeNames = new Set([...Object.keys(doc.nodes), ...broken.nodes]);
  if (nodeNames.size === 0 && !broken.absent.has("nodes")) problems.add(["nodes"], "a lab needs at least one node", "add a node under `nodes:`");
  const owners = new Map<string, string>(); // address -> "node/if"
  const nodes: NodeSpec[] = [];
  for (const [nodeName, n] of Object.entries(doc.nodes)) {
    const at: Path = ["nodes", nodeName];
    if (!NAME.test(nodeName)) problems.add(["nodes"], `node name "${nodeName}" is not valid`, nameHint, nodeName);
    const interfaces: InterfaceSpec[] = [];
    for (const [ifName, i] of Object.entries(n.interfaces)) {
      const iat: Path = [...at, "interfaces", ifName];
      if (ifName.length > 15) {
        problems.add([...at, "interfaces"], `interface name "${ifName}" is ${ifName.length} characters; Linux allows at most 15`, "shorten it", ifName);
      } else if (!IFNAME.test(ifName) || ifName === "lo") {
        problems.add([...at, "interfaces"], `interface name "${ifName}" is not usable`, `${IFNAME_HINT} (and not 'lo')`, ifName);
      }
      const range = ranges.get(i.lan);
      if (!(i.lan in doc.lans) && !broken.lans.has(i.lan)) {
        problems.add([...iat, "lan"], `unknown LAN "${i.lan}"`, `${didYouMean(i.lan, Object.keys(doc.lans))}use one of the LANs defined under \`lans\`: ${Object.keys(doc.lans).join(", ") || "(none)"}`);
      }
      let address: string | undefined;
      if (i.address !== undefined && i.lan in doc.lans && !range && doc.lans[i.lan]!.cidr === undefined) {
        problems.add([...iat, "address"], `LAN "${i.lan}" has no cidr, so its interfaces carry no address`, `give LAN "${i.lan}" a cidr, or remove the address`);
      }
      if (i.address !== undefined && range) {
        const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(i.address);
        const ip = m?.[1] ?? "";
        const lanPrefix = Number(range.getPrefix().getValue());
        if (!m || !isIPv4(ip)) {
          problems.add([...iat, "address"], `"${i.address}" is not an IPv4 address`, `write it like ${range.getFirst().nextIPNumber().toString()} (the prefix comes from the LAN)`);
        } else if (m[2] !== undefined && Number(m[2]) !== lanPrefix) {
          problems.add([...iat, "address"], `prefix /${m[2]} differs from LAN "${i.lan}" (${range.toCidrString()})`, `use /${lanPrefix} or leave the prefix out`);
        } else if (!range.contains(IPv4.fromString(ip))) {
          problems.add([...iat, "address"], `${ip} is outside LAN "${i.lan}" (${range.toCidrString()})`, `pick an address in ${range.toCidrString()}`);
        } else if (lanPrefix < 31 && (ip === range.getFirst().toString() || ip === range.getLast().toString())) {
          problems.add([...iat, "address"], `${ip} is the ${ip === range.getFirst().toString() ? "network" : "broadcast"} address of ${range.toCidrString()}`, "pick a host address");
        } else if (owners.has(ip)) {
          problems.add([...iat, "address"], `${ip} is already used by ${owners.get(ip)}`, "give every interface its own address");
        } else {
          owners.set(ip, `${nodeName}/${ifName}`);
          address = ip;
        }
      }
      interfaces.push({ name: ifName, lan: i.lan, address, prefix: range ? Number(range.getPrefix().getValue()) : 32, mac: i.mac, mtu: i.mtu });
    }
    nodes.push({
      name: nodeName,
      description: n.description,
      interfaces,
      routes: n.routes,
      sysctls: Object.fromEntries(Object.entries(n.sysctls).map(([k, v]) => [k, typeof v === "boolean" ? (v ? "1" : "0") : String(v)])),
      nat: n.nat,
      dns: n.dns ? { records: Object.fromEntries(Object.entries(n.dns.records).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])) } : undefined,
      resolver: n.resolver,
      services: n.services,
      software: [...new Set(n.software)],
      bridges: Object.fromEntries(Object.entries(n.bridges).map(([b, br]) => [b, br.ports])),
    });
  }

  // Per-node references: routes, NAT, DNS, resolver, services
  for (const node of nodes) {
    const at: Path = ["nodes", node.name];
    const ifNames = new Set(node.interfaces.map((i) => i.name));
    const onLink = (ip: string) =>
      node.interfaces.some((i) => i.address && ranges.get(i.lan)?.contains(IPv4.fromString(ip)));
    for (const [k, v] of Object.entries(node.sysctls)) {
      if (!isNetnsSysctl(k)) {
        problems.add(
          [...at, "sysctls"],
          `sysctl "${k}" is not a per-network-namespace key: setting it from a lab node would change the whole machine`,
          `remove it; a node may set keys under ${NETNS_SYSCTL_PREFIXES.join(", ")}`,
          k,
        );
      } else if (!SYSCTL_VALUE.test(v)) problems.add([...at, "sysctls", k], `"${v}" is not a sysctl value`, "use a number or a word (or a few, separated by single spaces)");
    }
    node.routes.forEach((r, k) => {
      const rat: Path = [...at, "routes", k];
      if (r.to !== "default") {
        const err = cidrError(r.to);
        if (err) problems.add([...rat, "to"], err, "use `default` or a network like 10.50.0.0/24");
      }
      if (r.via === undefined && r.dev === undefined) problems.add(rat, "a route needs `via` (a gateway) or `dev`", "add `via: <gateway address>`");
      if (r.via !== undefined) {
        if (!isIPv4(r.via)) problems.add([...rat, "via"], `"${r.via}" is not an IPv4 address`, "write the gateway's address");
        else if (!onLink(r.via)) problems.add([...rat, "via"], `gateway ${r.via} is not on any LAN where ${node.name} has an address`, "use the address of a neighbour on one of this node's LANs");
      }
      if (r.dev !== undefined && !ifNames.has(r.dev)) problems.add([...rat, "dev"], `unknown interface "${r.dev}" on ${node.name}`, `use one of: ${[...ifNames].join(", ")}`);
    });
    node.nat.forEach((rule, k) => {
      const nat: Path = [...at, "nat", k];
      const dev = rule.type === "masquerade" ? rule.out : rule.in;
      const key = rule.type === "masquerade" ? "out" : "in";
      if (!ifNames.has(dev)) problems.add([...nat, key], `unknown interface "${dev}" on ${node.name}`, `use one of: ${[...ifNames].join(", ")}`);
      if (rule.type === "dnat") {
        const m = /^([\d.]+)(?::(\d+))?$/.exec(rule.to);
        if (!m || !isIPv4(m[1]!) || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
          problems.add([...nat, "to"], `"${rule.to}" is not an address or address:port`, "write it like 10.10.35.10:80");
        }
      }
    });
    if (node.dns) {
      for (const [name, ips] of Object.entries(node.dns.records)) {
        if (!HOSTNAME.test(name)) problems.add([...at, "dns", "records"], `"${name}" is not a valid DNS name`, "use a name like google.com", name);
        for (const ip of ips) if (!isIPv4(ip)) problems.add([...at, "dns", "records", name], `"${ip}" is not an IPv4 address`, "give the record an IPv4 address");
      }
      if (!node.interfaces.some((i) => i.address)) problems.add([...at, "dns"], `${node.name} serves DNS but has no address to serve it on`, "give one of its interfaces an address");
    }
    if (node.resolver !== undefined && !isIPv4(node.resolver)) problems.add([...at, "resolver"], `"${node.resolver}" is not an IPv4 address`, "write the DNS server's address");
    for (const [what, todo] of softwareProblems(node)) problems.add([...at, "software"], what, todo);
    const owned = new Map<string, string>();
    for (const [b, ports] of Object.entries(node.bridges)) {
      const bat: Path = [...at, "bridges", b];
      if (!hasSwitch(node)) problems.add([...at, "bridges"], `${node.name} has bridges but no Open vSwitch`, "add `software: [openvswitch]`");
      if (!IFNAME.test(b) || ifNames.has(b)) problems.add([...at, "bridges"], `bridge name "${b}" is not usable`, "use a short name (at most 15 characters) that is not one of the node's interfaces", b);
      for (const [p, v] of Object.entries(ports)) {
        if (!ifNames.has(p)) problems.add([...bat, "ports"], `unknown interface "${p}" on ${node.name}`, `a switch port is one of the node's interfaces: ${[...ifNames].join(", ")}`, p);
        else if (owned.has(p)) problems.add([...bat, "ports"], `${p} is already a port of bridge ${owned.get(p)}`, "put each interface in one bridge", p);
        owned.set(p, b);
        if (v.tag !== undefined && v.trunks !== undefined) problems.add([...bat, "ports", p], "a port is either an access port (tag) or a trunk (trunks), not both", "keep one of them");
      }
    }
    const ports = new Set<number>();
    node.services.forEach((s, k) => {
      if (ports.has(s.port)) problems.add([...at, "services", k, "port"], `port ${s.port} is used by another service on ${node.name}`, "give each service its own port");
      ports.add(s.port);
    });
  }

  // Steps, expectations, scenarios
  const members = new Set(nodes.filter(isIncusMember).map((n) => n.name));
  const kolla = new Set(nodes.filter(isKollaNode).map((n) => n.name));
  const ctx: RefContext = { nodeNames, problems, members, instances: new Set(launched(doc.steps)), kolla, nodes: new Map(nodes.map((n) => [n.name, n])), file };
  const prologue = steps(doc.steps, ["steps"], ctx);
  const epilogue = expectations(doc.expect, ["expect"], ctx);
  let scenarios: ScenarioSpec[];
  if (doc.scenarios === undefined) {
    scenarios = [{ name: "default", steps: prologue, expect: epilogue, logAllow: [] }];
  } else {
    if (doc.scenarios.length === 0) problems.add(["scenarios"], "`scenarios` is empty", "add a scenario or remove the key");
    const seen = new Set<string>();
    scenarios = doc.scenarios.map((s, k) => {
      if (seen.has(s.name)) problems.add(["scenarios", k, "name"], `duplicate scenario name "${s.name}"`, "give every scenario its own name");
      seen.add(s.name);
      ctx.instances = new Set([...launched(doc.steps), ...launched(s.steps)]);
      return {
        name: s.name,
        description: s.description,
        steps: [...prologue, ...steps(s.steps, ["scenarios", k, "steps"], ctx)],
        expect: [...expectations(s.expect, ["scenarios", k, "expect"], ctx), ...epilogue],
        logAllow: s.log_allow.flatMap((a, i) => {
          if (a.match.length > 200) {
            problems.add(["scenarios", k, "log_allow", i, "match"], "a log pattern is at most 200 characters", "match a distinctive part of the line");
            return [];
          }
          try {
            return [{ match: new RegExp(a.match), why: a.why }];
          } catch (e) {
            problems.add(["scenarios", k, "log_allow", i, "match"], `not a valid regular expression: ${(e as Error).message}`, "fix the pattern (JavaScript syntax)");
            return [];
          }
        }),
      };
    });
  }

  return { name: doc.name, description: doc.description, file, logs: doc.logs, lans, nodes, scenarios };
}

interface RefContext {
  nodeNames: Set<string>;
  problems: Problems;
  /** Incus cluster members (nodes with `software: [incus]`). */
  members: Set<string>;
  /** Instances launched by `incus launch` steps of the scenario being read: usable like nodes. */
  instances: Set<string>;
  /** Nodes with `software: [kolla]`. */
  kolla: Set<string>;
  nodes: Map<string, NodeSpec>;
  /** The lab file (globals files are read beside it). */
  file: string;
}

/**
 * A file a lab refers to: relative to the lab file's directory and inside it (no absolute path, no
 * `..` or symlink leading out), a regular file of bounded size. Returns its path or a problem text.
 */
function referencedFile(name: string, labFile: string): { path: string } | { error: string; hint: string } {
  const hint = "give a path relative to the lab file's directory, inside it (e.g. kolla-globals.yml)";
  if (isAbsolute(name) || name.split(/[\\/]/).includes("..")) return { error: `${JSON.stringify(name)} is not a path inside the lab file's directory`, hint };
  const base = dirname(labFile);
  let real: string;
  let realBase: string;
  try {
    realBase = realpathSync(base);
    real = realpathSync(resolve(base, name));
  } catch {
    return { error: `no file ${JSON.stringify(name)} beside the lab file`, hint };
  }
  const rel = relative(realBase, real);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) return { error: `${JSON.stringify(name)} leads outside the lab file's directory (through a symbolic link)`, hint };
  return { path: real };
}

/** Reads a kolla step's globals: an inline map, or a YAML file beside the lab. Messages never quote the file's contents. */
function readGlobalsAt(v: string | Record<string, unknown>, at: Path, ctx: RefContext): { globals: KollaGlobals; from: string } | undefined {
  let raw: unknown = v;
  let from = "globals (inline)";
  if (typeof v === "string") {
    from = v;
    const ref = referencedFile(v, ctx.file);
    if ("error" in ref) {
      ctx.problems.add(at, `globals file: ${ref.error}`, ref.hint);
      return undefined;
    }
    try {
      const doc = parseDocument(readBounded(ref.path, LIMITS.referencedBytes), { prettyErrors: false });
      if (doc.errors.length) throw new Error(`not valid YAML (line ${doc.errors[0]!.linePos?.[0]?.line ?? "?"})`);
      raw = doc.toJS({ maxAliasCount: LIMITS.aliases });
    } catch (e) {
      ctx.problems.add(at, `cannot read globals file ${v}: ${(e as Error).message.split("\n")[0]!.split(":")[0]}`, "give a YAML map of kolla variables (at most 256 KiB) beside the lab file, or write the variables inline");
      return undefined;
    }
  }
  try {
    return { globals: readGlobals(raw, from), from };
  } catch (e) {
    if (!(e instanceof KollaConfigError)) throw e;
    ctx.problems.add(at, e.message, "see docs/lab-files.md (kolla steps)");
    return undefined;
  }
}

/** Names that steps create and expectations may use like nodes: Incus instances, OpenStack servers and router namespaces. */
function launched(raw: unknown[]): string[] {
  const out: string[] = [];
  for (const item of raw) {
    if (item && typeof item === "object" && typeof (item as { openstack?: unknown }).openstack === "string") {
      try {
        const c = parseOpenstack((item as { openstack: string }).openstack);
        if (c.nova?.verb === "server create") out.push(c.nova.name);
        if (c.router !== undefined) out.push(`qrouter-${c.router}`);
      } catch {
        /* reported when the step itself is read */
      }
      continue;
    }
    if (!item || typeof item !== "object" || typeof (item as { incus?: unknown }).incus !== "string") continue;
    try {
      const c = parseIncus((item as { incus: string }).incus);
      if (c.creates) out.push(c.creates);
    } catch {
      /* reported when the step itself is read */
    }
  }
  return out;
}

function nodeRef(name: string, at: Path, ctx: RefContext): void {
  if (!ctx.nodeNames.has(name) && !ctx.instances.has(name)) {
    const inst = ctx.instances.size ? ` or an instance launched by this scenario (${[...ctx.instances].join(", ")})` : "";
    ctx.problems.add(at, `unknown node "${name}"`, `${didYouMean(name, [...ctx.nodeNames, ...ctx.instances])}use one of the nodes defined under \`nodes\`: ${[...ctx.nodeNames].join(", ")}${inst}`);
  }
}

/**
 * Addresses that exist only once steps ran: `<incus network>:gateway|uplink` (its router inside / on
 * the uplink), `<openstack router>:gateway` (the qg- address), `<server>:fixed|floating`.
 */
export const NETWORK_REF = /^([A-Za-z0-9][A-Za-z0-9_-]*):(gateway|uplink|fixed|floating)$/;

/** A target is a node or instance name, an IPv4 address, a network reference, or a DNS name resolved inside the source node. */
function targetRef(to: string, at: Path, ctx: RefContext): void {
  if (ctx.nodeNames.has(to) || ctx.instances.has(to) || isIPv4(to) || NETWORK_REF.test(to)) return;
  if (/^[\d.]+$/.test(to)) ctx.problems.add(at, `"${to}" is not a valid IPv4 address`, "fix the address");
  else if (!HOSTNAME.test(to)) ctx.problems.add(at, `"${to}" is neither a node, an IPv4 address nor a DNS name`, "name a node, an address or a host name");
}

function steps(raw: unknown[], at: Path, ctx: RefContext): Step[] {
  const out: Step[] = [];
  raw.forEach((item, k) => {
    const sat: Path = [...at, k];
    const origin = { path: pathString(sat), line: ctx.problems.source.line(sat) };
    if (item && typeof item === "object" && "check" in item) {
      const s = shape(CheckStep, item, sat, ctx.problems);
      if (s) out.push({ kind: "check", name: s.name, checks: expectations(s.check, [...sat, "check"], ctx), origin });
    } else if (item && typeof item === "object" && "run" in item) {
      const s = shape(RunStep, item, sat, ctx.problems);
      if (s) {
        nodeRef(s.on, [...sat, "on"], ctx);
        out.push({ kind: "run", name: s.name, on: s.on, run: s.run, should: s.should, output: s.output, timeoutS: s.timeout, origin });
      }
    } else if (item && typeof item === "object" && "incus" in item) {
      const s = shape(IncusStep, item, sat, ctx.problems);
      if (s) {
        nodeRef(s.on, [...sat, "on"], ctx);
        if (ctx.nodeNames.has(s.on) && !ctx.members.has(s.on)) {
          ctx.problems.add([...sat, "on"], `${s.on} is not an Incus cluster member`, `type incus commands on a node with \`software: [ovn-host, incus]\` (members: ${[...ctx.members].join(", ") || "none"})`);
        }
        try {
          const command = parseIncus(s.incus);
          for (const m of command.targets) {
            if (!ctx.members.has(m)) ctx.problems.add([...sat, "incus"], `--target ${m} is not an Incus cluster member`, `use one of: ${[...ctx.members].join(", ") || "(no node has software: [incus])"}`);
          }
          out.push({ kind: "incus", name: s.name, on: s.on, line: s.incus, command, should: s.should, output: s.output, origin });
        } catch (e) {
          if (!(e instanceof IncusArgsError)) throw e;
          ctx.problems.add([...sat, "incus"], `incus ${s.incus}: ${e.message}`, "write the arguments of the incus command as you would type them after `incus` (see docs/lab-files.md, incus steps)");
        }
      }
    } else if (item && typeof item === "object" && "kolla" in item) {
      const s = shape(KollaStep, item, sat, ctx.problems);
      if (s) {
        nodeRef(s.on, [...sat, "on"], ctx);
        if (ctx.nodeNames.has(s.on) && !ctx.kolla.has(s.on)) ctx.problems.add([...sat, "on"], `${s.on} is not a kolla-ansible target`, `give the node \`software: [kolla]\` (kolla nodes: ${[...ctx.kolla].join(", ") || "none"})`);
        const g = readGlobalsAt(s.globals, [...sat, "globals"], ctx);
        if (g) {
          const node = ctx.nodes.get(s.on);
          const nics = new Set(node?.interfaces.map((i) => i.name) ?? []);
          for (const [key, names] of [["network_interface", [g.globals.network_interface]], ["neutron_external_interface", g.globals.neutron_external_interfaces]] as const) {
            for (const nic of names) if (node && !nics.has(nic)) ctx.problems.add([...sat, "globals"], `${g.from}: ${key} names ${nic}, which ${s.on} does not have`, `use one of ${s.on}'s interfaces: ${[...nics].join(", ")}`);
          }
          let ml2Override: Ini | undefined;
          const text = s.config?.["neutron/ml2_conf.ini"];
          if (text !== undefined) {
            try {
              ml2Override = parseIni(text, "neutron/ml2_conf.ini");
            } catch (e) {
              if (!(e instanceof IniError)) throw e;
              ctx.problems.add([...sat, "config", "neutron/ml2_conf.ini"], e.message, "give the ml2 sections and options kolla would merge (e.g. [ml2_type_vlan] network_vlan_ranges = physnet2)");
            }
          }
          out.push({ kind: "kolla", name: s.name, on: s.on, action: s.kolla, globals: g.globals, globalsFrom: g.from, ...(ml2Override ? { ml2Override } : {}), should: s.should, output: s.output, origin });
        }
      }
    } else if (item && typeof item === "object" && "openstack" in item) {
      const s = shape(OpenstackStep, item, sat, ctx.problems);
      if (s) {
        nodeRef(s.on, [...sat, "on"], ctx);
        if (ctx.nodeNames.has(s.on) && !ctx.kolla.has(s.on)) ctx.problems.add([...sat, "on"], `${s.on} is not a kolla-ansible target`, `type openstack commands on a node with \`software: [kolla]\` (kolla nodes: ${[...ctx.kolla].join(", ") || "none"})`);
        try {
          out.push({ kind: "openstack", name: s.name, on: s.on, line: s.openstack, command: parseOpenstack(s.openstack), should: s.should, output: s.output, origin });
        } catch (e) {
          if (!(e instanceof OpenstackArgsError)) throw e;
          ctx.problems.add([...sat, "openstack"], `openstack ${s.openstack}: ${e.message}`, "write the arguments of the openstack command as you would type them after `openstack` (see docs/lab-files.md, openstack steps)");
        }
      }
    } else {
      ctx.problems.add(sat, "a step needs `run:` (a command, with `on:` a node), `incus:` (arguments of the incus command, with `on:` a cluster member), `kolla:` (deploy or precheck, on a kolla node), `openstack:` (arguments of the openstack command, on a kolla node) or `check:` (a list of expectations)", "e.g. `- { on: pamonha1, run: ip link set enp3s0 up }`");
    }
  });
  return out;
}

function expectations(raw: unknown[], at: Path, ctx: RefContext): Located<Expectation>[] {
  const out: Located<Expectation>[] = [];
  const kinds = Object.keys(ExpectationKinds);
  raw.forEach((item, k) => {
    const eat: Path = [...at, k];
    const keys = item && typeof item === "object" && !Array.isArray(item) ? Object.keys(item) : [];
    const kind = keys[0];
    if (keys.length !== 1 || kind === undefined || !(kind in ExpectationKinds)) {
      ctx.problems.add(eat, keys.length === 1 ? `unknown expectation "${kind}"` : "an expectation is a map with exactly one kind", `use one of: ${kinds.join(", ")}`);
      return;
    }
    const schema = ExpectationKinds[kind as keyof typeof ExpectationKinds];
    const body = shape(schema, (item as Record<string, unknown>)[kind], [...eat, kind], ctx.problems);
    if (!body) return;
    const e = { kind, ...body, origin: { path: pathString(eat), line: ctx.problems.source.line(eat) } } as Located<Expectation>;
    const bat: Path = [...eat, kind];
    if ("from" in e) nodeRef(e.from, [...bat, "from"], ctx);
    if ("to" in e) targetRef(e.to, [...bat, "to"], ctx);
    if (e.kind === "link") {
      nodeRef(e.node, [...bat, "node"], ctx);
      if (e.dev.length > 15) ctx.problems.add([...bat, "dev"], `interface name "${e.dev}" is over 15 characters`, "Linux allows at most 15");
      const m = e.address ? /^([\d.]+)\/(\d{1,2})$/.exec(e.address) : null;
      if (e.address && (!m || !isIPv4(m[1]!) || Number(m[2]) > 32)) {
        ctx.problems.add([...bat, "address"], `"${e.address}" is not an address with prefix`, "write it like 10.10.35.1/24");
      }
    }
    if ("on" in e) nodeRef(e.on, [...bat, "on"], ctx);
    if (e.kind === "resolve" && !HOSTNAME.test(e.name)) ctx.problems.add([...bat, "name"], `"${e.name}" is not a DNS name`, "write a host name like google.com");
    if (e.kind === "link" && e.dev.length <= 15 && !IFNAME.test(e.dev)) ctx.problems.add([...bat, "dev"], `"${e.dev}" is not an interface name`, IFNAME_HINT);
    if ((e.kind === "reach" || e.kind === "no_reach") && e.dev !== undefined) {
      const n = ctx.nodes.get(e.from);
      if (n && !n.interfaces.some((i) => i.name === e.dev)) ctx.problems.add([...bat, "dev"], `${e.from} has no interface "${e.dev}"`, `use one of: ${n.interfaces.map((i) => i.name).join(", ")}`);
    }
    if (e.kind === "reach" && e.source !== undefined && !isIPv4(e.source) && !NETWORK_REF.test(e.source)) ctx.problems.add([...bat, "source"], `"${e.source}" is not an IPv4 address or a reference (<server>:floating)`, "write the source address the destination should see");
    if (e.kind === "trace") {
      e.hops.forEach((h, i) => {
        if (h !== "*" && !isIPv4(h) && !NETWORK_REF.test(h)) ctx.problems.add([...bat, "hops", i], `"${h}" is not an IPv4 address, a reference (<network>:gateway, <server>:floating) or "*"`, "list hop addresses, or * for a silent hop");
      });
    }
    out.push(e);
  });
  return out;
}

