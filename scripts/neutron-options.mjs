#!/usr/bin/env node
// Writes topology/model/commands/neutron-options.data.ts: every option the installed neutron reads
// from each file kolla renders for it (section, type, choices, bounds), as neutron's own
// oslo-config-generator lists them (machine-readable, --format json). A kolla `config:` override is
// checked against it (topology/model/commands/neutron-override.ts): an option neutron does not know
// is a typo, and an option's type decides what its value may be.
// Runs the toolchain's neutron (built once per machine); `--check` exits 1 when the committed file
// differs from what this neutron says.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The namespaces neutron's own etc/oslo-config-generator/<file> lists for each file (keystone,
// policy, privsep, middleware, cache, db and profiler ones left out: no override may reach them).
const FILES = {
  "neutron.conf": ["neutron", "neutron.agent", "neutron.db", "neutron.extensions", "oslo.messaging", "oslo.log"],
  "ml2_conf.ini": ["neutron.ml2", "oslo.log"],
  "openvswitch_agent.ini": ["neutron.ml2.ovs.agent", "oslo.log"],
  "l3_agent.ini": ["neutron.az.agent", "neutron.base.agent", "neutron.l3.agent", "oslo.log"],
  "dhcp_agent.ini": ["neutron.az.agent", "neutron.base.agent", "neutron.dhcp.agent", "oslo.log"],
  "metadata_agent.ini": ["neutron.metadata.agent", "oslo.log"],
};
const TYPES = {
  "string value": "string",
  "integer value": "integer",
  "boolean value": "boolean",
  "list value": "list",
  "floating point value": "float",
  "port value": "port",
  "host address value": "host",
  "IP address value": "ip",
  "dict value": "dict",
  "multi valued": "multi",
  "URI value": "uri",
  "hostname value": "host",
};

// The toolchain's neutron (topology/toolchains/debian-12.yaml, built under /var/cache/labwright/
// toolchain/debian-12-<the file's hash>): run chrooted there, writing nothing into it (no
// bytecode; each namespace's JSON to standard output).
const TOOLCHAIN = new URL("../topology/toolchains/debian-12.yaml", import.meta.url);
const hash = createHash("sha256").update(readFileSync(TOOLCHAIN, "utf8")).digest("hex").slice(0, 12);
const root = join(process.env.LABWRIGHT_TOOLCHAIN_CACHE ?? "/var/cache/labwright/toolchain", `debian-12-${hash}`, "root");
if (!existsSync(root)) {
  console.error(`the toolchain debian-12 (lock ${hash}) is not built here: node scripts/labwright.mjs toolchain build`);
  process.exit(3);
}
// Chrooted into an overlay of the root with a throwaway upper layer, in a mount namespace of its own:
// whatever Python writes (stevedore's entry-point cache in ~/.cache) goes with it.
const OVERLAY = [
  "set -e",
  "root=$1 t=$2; shift 2",
  'mount -t tmpfs labwright-neutron-options "$t"',
  'mkdir "$t/u" "$t/w" "$t/m"',
  'mount -t overlay labwright-neutron-options -o "lowerdir=$root,upperdir=$t/u,workdir=$t/w" "$t/m"',
  'mount -t proc proc "$t/m/proc"',
  'exec chroot "$t/m" env -i PATH=/usr/sbin:/usr/bin PYTHONDONTWRITEBYTECODE=1 LC_ALL=C.UTF-8 HOME=/root "$@"',
].join("\n");
// The mount point is an empty directory here (its mounts live and die in the namespace), removed after.
const inRoot = (argv, opts = {}) => {
  const t = mkdtempSync(join(tmpdir(), "lw-neutron-options-"));
  try {
    return execFileSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", OVERLAY, "neutron-options", root, t, ...argv], {
      encoding: "utf8",
      maxBuffer: 256 * 2 ** 20,
      ...opts,
    });
  } finally {
    rmdirSync(t);
  }
};
const version = inRoot(["dpkg-query", "-W", "-f=${Version}", "python3-neutron"]).trim();
// One interpreter for all six files (neutron's modules import once: about 4 s instead of 18 s for
// six oslo-config-generator runs): oslo.config's own generator.main per namespace, its output
// (standard output when no file is given) caught and printed as one JSON object.
const MAIN = [
  "import contextlib, io, json, sys",
  "from oslo_config import generator",
  "out = {}",
  "for ns in sys.argv[1:]:",
  "    buf = io.StringIO()",
  "    with contextlib.redirect_stdout(buf):",
  "        generator.main(['--namespace', ns, '--format', 'json'])",
  "    out[ns] = json.loads(buf.getvalue())",
  "sys.stdout.write(json.dumps(out))",
].join("\n");
const NAMESPACES = [...new Set(Object.values(FILES).flat())].sort();
const options = {};
{
  const all = JSON.parse(inRoot(["/usr/bin/python3", "-c", MAIN, ...NAMESPACES], { stdio: ["ignore", "pipe", "pipe"] }));
  for (const ns of NAMESPACES) {
    const data = all[ns];
    const sections = {};
    for (const [section, { opts }] of Object.entries(data.options).sort(([a], [b]) => a.localeCompare(b))) {
      if (!opts.length) continue;
      const o = {};
      for (const opt of [...opts].sort((a, b) => a.dest.localeCompare(b.dest))) {
        const type = TYPES[opt.type];
        if (!type) throw new Error(`${ns} [${section}] ${opt.dest}: unknown oslo type "${opt.type}"`);
        // Files name an option by its dest (oslo reads `log-dir` as log_dir).
        o[opt.dest] = {
          type,
          ...(opt.choices?.length ? { choices: opt.choices.map((c) => (Array.isArray(c) ? c[0] : c)).map(String) } : {}),
          ...(opt.min !== null && opt.min !== undefined ? { min: opt.min } : {}),
          ...(opt.max !== null && opt.max !== undefined ? { max: opt.max } : {}),
          ...(opt.secret ? { secret: true } : {}),
          ...(ns === "oslo.log" ? { log: true } : {}),
        };
      }
      sections[section] = o;
    }
    options[ns] = sections;
  }
}

const text = `// Generated by scripts/neutron-options.mjs from neutron ${version}'s oslo-config-generator: do not edit.
import type { NeutronOption } from "./neutron-override.ts";

export const NEUTRON_VERSION = ${JSON.stringify(version)};

/** The namespaces (oslo.config's option groups of a library) whose options each file takes. */
export const NEUTRON_FILES: Record<string, string[]> = ${JSON.stringify(FILES)};

/** Each namespace's sections and options, with type, choices and bounds. */
export const NEUTRON_NAMESPACES: Record<string, Record<string, Record<string, NeutronOption>>> = ${JSON.stringify(options)};
`;
const target = new URL("../topology/model/commands/neutron-options.data.ts", import.meta.url);
if (process.argv.includes("--check")) {
  const now = readFileSync(target, "utf8");
  // prettier reformats the committed file: compare the data, not the layout.
  const squash = (s) =>
    s
      .replace(/\s+/g, "")
      .replace(/,([}\]])/g, "$1")
      .replace(/"([A-Za-z_][A-Za-z0-9_]*)":/g, "$1:");
  if (squash(now) !== squash(text)) {
    console.error("topology/model/commands/neutron-options.data.ts is out of date: run node scripts/neutron-options.mjs");
    process.exit(1);
  }
} else writeFileSync(target, text);
