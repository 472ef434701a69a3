import { z } from "zod";
import { SOFTWARE } from "./software.ts";

// The shape of a lab file. Cross references and address logic are checked in validate.ts.

const name = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, {
  error: "must start with a letter and use only a-z, 0-9 and '-' (at most 31 characters)",
});
const seconds = z.number().positive().max(3600);

export const Lan = z.strictObject({
  /** Absent for a link that carries no addresses of its own (a trunk, a switch's access link). */
  cidr: z.string().optional(),
  description: z.string().optional(),
});

export const Interface = z.strictObject({
  lan: z.string(),
  address: z.string().optional(),
  mac: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, { error: "must be a MAC address like 02:00:00:00:00:01" })
    .optional(),
  mtu: z.int().min(576).max(9000).optional(),
  /** The machine's own Linux bridge this NIC is a port of (netplan's `bridges:`): the bridge carries the address. */
  bridge: z.string().optional(),
});

export const Route = z.strictObject({
  to: z.string(),
  via: z.string().optional(),
  dev: z.string().optional(),
});

export const Nat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("masquerade"), out: z.string() }),
  z.strictObject({
    type: z.literal("dnat"),
    in: z.string(),
    proto: z.enum(["tcp", "udp"]).default("tcp"),
    port: z.int().min(1).max(65535),
    to: z.string(),
  }),
]);

export const Service = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("http"),
    port: z.int().min(1).max(65535).default(80),
    body: z.string().optional(),
  }),
  /** A container registry (Docker Registry HTTP API v2, plain HTTP) holding the kolla images. */
  z.strictObject({
    type: z.literal("registry"),
    port: z.int().min(1).max(65535).default(80),
    namespace: z
      .string()
      .regex(/^[a-z0-9._-]+$/)
      .default("openstack.kolla"),
    /** The image tag(s) it holds; by default every `<release>-<distro>-<codename>` of the kolla releases labwright models. */
    tag: z
      .union([
        z.string().regex(/^[A-Za-z0-9._-]+$/),
        z
          .array(z.string().regex(/^[A-Za-z0-9._-]+$/))
          .min(1)
          .max(64),
      ])
      .optional(),
  }),
  /**
   * The `images:` remote of Incus inside the lab: a simplestreams image server over HTTPS (the lab's
   * CA signs its certificate for `host`), serving debian/12, a small image built from Debian packages.
   */
  z.strictObject({
    type: z.literal("images"),
    port: z.int().min(1).max(65535).default(443),
    host: z
      .string()
      .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/)
      .default("images.linuxcontainers.org"),
  }),
]);

/** An OVS bridge of a node with `software: [openvswitch]` (a VLAN-capable switch): each port is a NIC of the node. */
const SwitchPort = z.strictObject({
  tag: z.int().min(1).max(4094).optional(),
  trunks: z.array(z.int().min(1).max(4094)).min(1).optional(),
});
const Bridge = z.strictObject({ ports: z.record(z.string(), SwitchPort) });

export const Node = z.strictObject({
  description: z.string().optional(),
  interfaces: z.record(z.string(), Interface).default({}),
  routes: z.array(Route).default([]),
  sysctls: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  nat: z.array(Nat).default([]),
  dns: z.strictObject({ records: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])) }).optional(),
  resolver: z.string().optional(),
  services: z.array(Service).default([]),
  /** Packages installed and enabled on the node (see docs/lab-files.md). */
  software: z.array(z.enum(SOFTWARE)).default([]),
  /** Bridges of an `openvswitch` node, created at start. */
  bridges: z.record(z.string(), Bridge).default({}),
  /** Files under /etc/default/ the packages' services read, as the docs print them (only `ovn-central`). */
  etc_default: z.strictObject({ "ovn-central": z.string().max(16_384).optional() }).optional(),
});

const RttBounds = z.strictObject({
  min: z.number().positive().optional(),
  avg: z.number().positive().optional(),
  p50: z.number().positive().optional(),
  p95: z.number().positive().optional(),
  max: z.number().positive().optional(),
});

/** Each expectation kind: `- <kind>: {...}`. */
export const ExpectationKinds = {
  reach: z.strictObject({
    from: z.string(),
    to: z.string(),
    count: z.int().min(1).max(1000).default(3),
    ttl: z.int().min(1).max(255).optional(),
    loss: z.number().min(0).max(100).optional(),
    rtt_ms: RttBounds.optional(),
    source: z.string().optional(),
    /** Send from this interface of `from` (ping -I). */
    dev: z.string().optional(),
    within: seconds.optional(),
  }),
  no_reach: z.strictObject({
    from: z.string(),
    to: z.string(),
    count: z.int().min(1).max(100).default(3),
    dev: z.string().optional(),
  }),
  link: z.strictObject({
    node: z.string(),
    dev: z.string(),
    admin: z.enum(["up", "down"]).optional(),
    oper: z.enum(["up", "down", "unknown", "lowerlayerdown", "dormant"]).optional(),
    carrier: z.boolean().optional(),
    master: z.string().nullable().optional(),
    address: z.string().nullable().optional(),
  }),
  trace: z.strictObject({
    from: z.string(),
    to: z.string(),
    hops: z.array(z.string()).min(1),
    max_hops: z.int().min(1).max(30).default(10),
  }),
  tcp: z.strictObject({
    from: z.string(),
    to: z.string(),
    port: z.int().min(1).max(65535),
    open: z.boolean().default(true),
    within: seconds.optional(),
  }),
  http: z.strictObject({
    from: z.string(),
    url: z.url({ protocol: /^http$/, error: "must be an http:// URL" }),
    status: z.int().min(100).max(599).default(200),
    contains: z.string().optional(),
    within: seconds.optional(),
  }),
  resolve: z.strictObject({
    on: z.string(),
    name: z.string(),
    addresses: z.array(z.string()).optional(),
  }),
  /** A command run in a node (e.g. `ovn-appctl -t ovn-controller connection-status`) and what it must print. */
  command: z.strictObject({
    on: z.string(),
    run: z.string().min(1),
    output: z.string().optional(),
    /** The whole output, trimmed, must be exactly this. */
    equals: z.string().optional(),
    exit: z.int().min(0).max(255).default(0),
    within: seconds.optional(),
  }),
  // ---- figures of a watch (a probe a `watch:` step started, kept running through the later steps)
  /**
   * The longest outage of the watch (from the last reply before a loss to the first after it) is at
   * most `max_ms` and/or at least `min_ms` (an outage that must happen: the fault's effect).
   */
  outage: z
    .strictObject({ watch: z.string(), max_ms: z.int().min(0).max(3_600_000).optional(), min_ms: z.int().min(1).max(3_600_000).optional() })
    .refine((o) => o.max_ms !== undefined || o.min_ms !== undefined, {
      error: "give max_ms (an upper bound), min_ms (a lower bound) or both",
    }),
  /** Every probe of the watch answered. */
  no_loss: z.strictObject({ watch: z.string() }),
  /** At most `max` probes of the watch went unanswered. */
  lost: z.strictObject({ watch: z.string(), max: z.int().min(0) }),
  /** After the step named `after` started, the watch's replies flow again within `within_ms`. */
  recovers: z.strictObject({ watch: z.string(), after: z.string(), within_ms: z.int().min(0).max(3_600_000) }),
  // ---- host checks: a node's files, services and packages (real hosts and containers, not namespaces)
  /** A file in the node: it exists (or not), contains a text, or equals a text (trimmed). */
  file: z.strictObject({
    on: z.string(),
    path: z.string().regex(/^\/[^\u0000\n]{0,1023}$/, { error: "must be an absolute path" }),
    exists: z.boolean().default(true),
    contains: z.string().optional(),
    equals: z.string().optional(),
  }),
  /** A systemd unit: its state (from systemd, where it runs) and its effective ExecStart (unit file + drop-ins). */
  unit: z.strictObject({
    on: z.string(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9@_.:-]+\.(service|socket|timer|mount|target|path)$/, { error: "must be a unit name like docker.service" }),
    state: z.enum(["active", "inactive", "failed", "activating"]).optional(),
    exec_start: z.string().optional(),
  }),
  /** An AppArmor profile loaded in the node's kernel. */
  apparmor: z.strictObject({ on: z.string(), profile: z.string().regex(/^[^\s\u0000]{1,255}$/), loaded: z.boolean().default(true) }),
  /** A Debian package installed (or not), optionally at a version. */
  package: z.strictObject({
    on: z.string(),
    name: z.string().regex(/^[a-z0-9][a-z0-9+.-]{1,127}$/, { error: "must be a Debian package name" }),
    installed: z.boolean().default(true),
    version: z
      .string()
      .regex(/^[A-Za-z0-9.+~:-]{1,128}$/)
      .optional(),
  }),
  /** A sysctl's value as the node reads it. */
  sysctl: z.strictObject({
    on: z.string(),
    key: z.string().regex(/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/),
    value: z.string().regex(/^[^\n\u0000]{0,256}$/),
  }),
} as const;

/** Expectations about a node's files, services and packages: they need a node with its own filesystem. */
export const HOST_CHECKS = ["file", "unit", "apparmor", "package", "sysctl"] as const;

export type ExpectationKind = keyof typeof ExpectationKinds;
export type ExpectationOf<K extends ExpectationKind> = { kind: K } & z.output<(typeof ExpectationKinds)[K]>;
export type Expectation = { [K in ExpectationKind]: ExpectationOf<K> }[ExpectationKind];

export const RunStep = z.strictObject({
  name: z.string().optional(),
  on: z.string(),
  run: z.string().min(1),
  should: z.enum(["succeed", "fail"]).default("succeed"),
  output: z.string().optional(),
  timeout: seconds.default(60),
});
/** `incus: <arguments>` typed on a cluster member (`on:`), as after the `incus` command. */
export const IncusStep = z.strictObject({
  name: z.string().optional(),
  on: z.string(),
  incus: z.string().min(1),
  should: z.enum(["succeed", "fail"]).default("succeed"),
  output: z.string().optional(),
});
/** `kolla: deploy|precheck` on a node with `software: [kolla]`, with its globals.yml (inline map or a file beside the lab). */
export const KollaStep = z.strictObject({
  name: z.string().optional(),
  on: z.string(),
  kolla: z.enum(["deploy", "precheck"]),
  globals: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  /**
   * Files under /etc/kolla/config/ (kolla's service config overrides) by their path there: the ones
   * kolla's neutron role merges (global.conf, neutron.conf, neutron/<service>.conf,
   * neutron/<file>.ini, neutron/<node>/<file>), as INI text.
   */
  config: z.record(z.string().max(128), z.string().max(65_536)).optional(),
  should: z.enum(["succeed", "fail"]).default("succeed"),
  output: z.string().optional(),
});
/** `openstack: <arguments>` typed on a kolla node, as after the `openstack` command. */
export const OpenstackStep = z.strictObject({
  name: z.string().optional(),
  on: z.string(),
  openstack: z.string().min(1),
  should: z.enum(["succeed", "fail"]).default("succeed"),
  output: z.string().optional(),
});
/**
 * `watch: <name>` with a probe from a node or guest (`on:`), kept running through the steps after
 * it: one of `ping:` a target, `tcp:` a target's port, `http:` a URL, `dns:` a name to look up.
 */
export const WatchStep = z.strictObject({
  name: z.string().optional(),
  watch: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, { error: "must be a short lowercase name (letters, digits, - and _)" }),
  on: z.string(),
  ping: z.string().optional(),
  tcp: z.strictObject({ to: z.string(), port: z.int().min(1).max(65535) }).optional(),
  http: z.url({ protocol: /^http$/, error: "must be an http:// URL" }).optional(),
  dns: z.string().optional(),
  /** Milliseconds between echo requests (ping -i). */
  interval_ms: z.int().min(10).max(10_000).default(100),
});
/** Faults: `pull:` / `plug:` an interface's cable (the LAN side of the link goes down / up), `kill:` a daemon of the node (SIGKILL). */
const faultOf = <K extends string>(key: K, grammar: z.ZodString) =>
  z.strictObject({ name: z.string().optional(), on: z.string(), [key]: grammar } as {
    name: z.ZodOptional<z.ZodString>;
    on: z.ZodString;
  } & Record<K, z.ZodString>);
export const PullStep = faultOf("pull", z.string().min(1));
export const PlugStep = faultOf("plug", z.string().min(1));
/** `impair: <interface>` of node `on:`: frames it sends there dropped at random (`loss`, %) and/or held to a rate (`rate_kbit`); 0 and none clear it. */
export const ImpairStep = z.strictObject({
  name: z.string().optional(),
  on: z.string(),
  impair: z.string().min(1),
  loss: z.number().min(0).max(100).default(0),
  rate_kbit: z.int().min(8).max(10_000_000).optional(),
});
/** `partition: [[nodes...], [nodes...]]`: frames between the two sets dropped on every LAN they share; `heal: true` ends every partition. */
export const PartitionStep = z.strictObject({
  name: z.string().optional(),
  partition: z.tuple([z.array(z.string()).min(1), z.array(z.string()).min(1)]),
});
export const HealStep = z.strictObject({ name: z.string().optional(), heal: z.literal(true) });
/** `crash: <node>`: every process labwright started in the node killed at once (SIGKILL), and every one of its cables pulled. */
export const CrashStep = z.strictObject({ name: z.string().optional(), crash: z.string() });
/** `boot: <node>`: a crashed node powers on again: its cables plugged back in, its daemons started from the state they left. */
export const BootStep = z.strictObject({ name: z.string().optional(), boot: z.string() });
const DAEMON_NAME = z.string().regex(/^[A-Za-z0-9_.:\/-]{1,64}$/, { error: "must be a daemon name like ovn-controller or httpd:80" });
export const KillStep = faultOf("kill", DAEMON_NAME);
/** `restart: <daemon>`: the daemon stopped as a service manager stops it (SIGTERM, SIGKILL after 10 s) and started again as before. */
export const RestartStep = faultOf("restart", DAEMON_NAME);
export const CheckStep = z.strictObject({
  name: z.string().optional(),
  check: z.array(z.unknown()).min(1),
});

/** Daemon log lines (any daemon, warning or error) that this scenario provokes on purpose, each with its reason. */
const LogAllow = z.strictObject({ match: z.string().min(1), why: z.string().min(1) });

export const Scenario = z.strictObject({
  name,
  description: z.string().optional(),
  log_allow: z.array(LogAllow).default([]),
  /** Start only the node software the scenario uses (`used`, the default; see docs/lab-files.md) or all of it. */
  software: z.enum(["used", "all"]).default("used"),
  /** Start with the steps of an earlier scenario (its own, after the lab's common steps), then run this one's. */
  continues: z.string().optional(),
  steps: z.array(z.unknown()).default([]),
  expect: z.array(z.unknown()).default([]),
});

export const LabDoc = z.strictObject({
  name,
  description: z.string().optional(),
  /** Daemon-log warnings are reported (`report`, the default) or fail a scenario like errors (`strict`). */
  logs: z.enum(["report", "strict"]).default("report"),
  /**
   * The root filesystem every command of the lab runs in (namespace backend): a toolchain of
   * labwright's (topology/toolchains/<name>.yaml; `debian-12`, the default), or `host`: this
   * machine's own files and packages.
   */
  toolchain: z
    .string()
    .regex(/^[a-z][a-z0-9.-]{0,40}$/, { error: "must be a toolchain name like debian-12 (topology/toolchains/), or host" })
    .default("debian-12"),
  lans: z.record(z.string(), Lan),
  nodes: z.record(z.string(), Node),
  steps: z.array(z.unknown()).default([]),
  expect: z.array(z.unknown()).default([]),
  scenarios: z.array(Scenario).optional(),
});

export type LabDocT = z.output<typeof LabDoc>;
export type NodeDoc = z.output<typeof Node>;
export type NatRule = z.output<typeof Nat>;
export type ServiceDoc = z.output<typeof Service>;
