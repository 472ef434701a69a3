import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PASSWORDS } from "../kolla/config.ts";
import type { Host } from "../../../backends/host.ts";
import { mustIn } from "../../../backends/must.ts";
import { must, run } from "../../../run/exec.ts";
import { installedPackage } from "../../../toolchain/dpkg.ts";

/**
 * neutron's database as kolla's bootstrap leaves it (`neutron-db-manage upgrade heads` on MariaDB),
 * made once per machine and copied into each run: a MariaDB data directory with the `neutron`
 * database at the newest schema and its user. Built with the real tools (mariadb-install-db,
 * mariadbd, neutron-db-manage) where the node's daemons run (its enclave: the lab's toolchain),
 * in a network namespace of its own with no network (the server listens on a unix socket only),
 * in the run's directory, then copied into this machine's cache, keyed by the versions of MariaDB
 * and neutron and this recipe; a failed build leaves nothing.
 */

export const DB_CACHE = process.env.LABWRIGHT_DB_CACHE ?? "/var/cache/labwright/neutron-db";

/** MariaDB settings for a lab: small buffers, no fsync per commit (the data lives as long as the run). */
export function myCnf(datadir: string, socket: string, bind: string | null, logError: string): string {
  return [
    "[mysqld]",
    `datadir=${datadir}`,
    `socket=${socket}`,
    `pid-file=${join(datadir, "mariadbd.pid")}`,
    bind === null ? "skip-networking" : `bind-address=${bind}`,
    "port=3306",
    "user=root",
    "skip-name-resolve",
    "innodb_buffer_pool_size=32M",
    "innodb_log_file_size=8M",
    "innodb_data_file_path=ibdata1:10M:autoextend",
    "innodb_flush_log_at_trx_commit=2",
    "innodb_doublewrite=0",
    "max_connections=500",
    "character-set-server=utf8",
    `log-error=${logError}`,
    "",
  ].join("\n");
}

function versionOf(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (e) {
    return `unknown (${(e as Error).message.split("\n")[0]})`;
  }
}

const RECIPE = "v1: mariadb-install-db, CREATE DATABASE neutron, user neutron@%, neutron-db-manage upgrade heads";
const NOVA_RECIPE =
  "v1: + placement, nova_api, nova, nova_cell0, glance and their users; placement-manage db sync; nova-manage api_db sync, cell_v2 map_cell0, db sync, cell_v2 create_cell; glance-manage db_sync";

/**
 * The cached data directory (built first if there is none for these versions). With `nova` (the
 * versions of nova, placement and glance), the databases kolla's nova, placement and glance
 * bootstraps make are in it too, migrated by their own tools; the cells' URLs are the build's and
 * are set to the run's when its MariaDB starts (`cellMappingsSql`).
 */
export async function ensureDbTemplate(neutronVersion: string, nova: string | undefined, where: BuildPlace): Promise<string> {
  // The toolchain's package database says which MariaDB (nothing of the toolchain runs on this machine).
  const root = where.host.softwareRoot ?? "/";
  const mariadb =
    root === "/" ? versionOf(["mariadbd", "--version"]) : `mariadb-server ${installedPackage(root, "mariadb-server") ?? "missing"}`;
  const recipe = nova === undefined ? RECIPE : `${RECIPE}\n${NOVA_RECIPE}\n${nova}`;
  const key = createHash("sha256").update(`${recipe}\n${mariadb}\n${neutronVersion}\n${PASSWORDS.database}`).digest("hex").slice(0, 16);
  const dir = join(DB_CACHE, key);
  if (!existsSync(join(dir, "data"))) await build(dir, nova !== undefined, where);
  return join(dir, "data");
}

/** Where a template is built: the Host its tools run in, and a scratch directory of the run both it and this machine see. */
export interface BuildPlace {
  host: Host;
  scratch: string;
}

/** The nova bootstrap's part of the template's build script (its tools are python3-nova's, -placement's and -glance's modules). */
function novaBootstrap(): string[] {
  const pw = PASSWORDS.database;
  const users = ["placement", "nova", "glance"];
  const grants: [string, string][] = [
    ["placement", "placement"],
    ["nova_api", "nova"],
    ["nova", "nova"],
    ["nova_cell0", "nova"],
    ["glance", "glance"],
  ];
  const sql = [
    ...grants.map(([d]) => `CREATE DATABASE ${d};`),
    ...users.map((u) => `CREATE USER '${u}'@'%' IDENTIFIED BY '${pw}';`),
    ...grants.map(([d, u]) => `GRANT ALL PRIVILEGES ON ${d}.* TO '${u}'@'%';`),
  ].join(" ");
  const url = (user: string, db: string) => `mysql+pymysql://${user}:${pw}@localhost/${db}?unix_socket=$sock`;
  return [
    `mariadb -S "$sock" -e "${sql}"`,
    `nova_manage() { /usr/bin/python3 -c 'import sys; sys.argv[0] = "nova-manage"; from nova.cmd.manage import main; sys.exit(main())' "$@"; }`,
    `glance_manage() { /usr/bin/python3 -c 'import sys; sys.argv[0] = "glance-manage"; from glance.cmd.manage import main; sys.exit(main())' "$@"; }`,
    `printf '[placement_database]\nconnection = %s\n' "${url("placement", "placement")}" > "$work/placement.conf"`,
    `printf '[DEFAULT]\ntransport_url = rabbit://openstack:build@localhost:5672//\n[api_database]\nconnection = %s\n[database]\nconnection = %s\n' "${url("nova", "nova_api")}" "${url("nova", "nova")}" > "$work/nova.conf"`,
    `printf '[database]\nconnection = %s\n' "${url("glance", "glance")}" > "$work/glance.conf"`,
    'placement-manage --config-file "$work/placement.conf" db sync >/dev/null',
    'nova_manage --config-file "$work/nova.conf" api_db sync >/dev/null',
    `nova_manage --config-file "$work/nova.conf" cell_v2 map_cell0 --database_connection "${url("nova", "nova_cell0")}" >/dev/null`,
    'nova_manage --config-file "$work/nova.conf" db sync >/dev/null',
    'nova_manage --config-file "$work/nova.conf" cell_v2 create_cell >/dev/null',
    // kolla's glance bootstrap turns log_bin_trust_function_creators on around db_sync (its triggers).
    'mariadb -S "$sock" -e "SET GLOBAL log_bin_trust_function_creators=1"',
    'glance_manage --config-file "$work/glance.conf" db_sync >/dev/null',
    'mariadb -S "$sock" -e "SET GLOBAL log_bin_trust_function_creators=0"',
  ];
}

/** SQL that points the template's cells at the run's database and broker (what create_cell stored for this node). */
export function cellMappingsSql(urls: { cell0Db: string; cell1Db: string; transport: string }): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return [
    `UPDATE nova_api.cell_mappings SET database_connection = ${q(urls.cell0Db)} WHERE uuid = '00000000-0000-0000-0000-000000000000';`,
    `UPDATE nova_api.cell_mappings SET database_connection = ${q(urls.cell1Db)}, transport_url = ${q(urls.transport)} WHERE uuid <> '00000000-0000-0000-0000-000000000000';`,
  ].join(" ");
}

async function build(dir: string, nova: boolean, where: BuildPlace): Promise<void> {
  mkdirSync(DB_CACHE, { recursive: true, mode: 0o700 });
  mkdirSync(where.scratch, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(where.scratch, ".db-build-"));
  const data = join(work, "data");
  const sock = join(work, "mysqld.sock");
  const cnf = join(work, "my.cnf");
  writeFileSync(cnf, myCnf(data, sock, null, join(work, "error.log")));
  writeFileSync(
    join(work, "neutron.conf"),
    `[database]\nconnection = mysql+pymysql://neutron:${PASSWORDS.database}@localhost/neutron?unix_socket=${sock}\n`,
  );
  // One script in a network namespace of its own (no interface but a down loopback): the server
  // cannot talk to anything but its socket, and the namespace ends with the script.
  const script = [
    "set -e",
    "cnf=$1; sock=$2; conf=$3; work=$4; pid=",
    // On any failure the server goes with the script.
    'trap \'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi\' EXIT',
    'mariadb-install-db --defaults-file="$cnf" --auth-root-authentication-method=normal --skip-test-db >/dev/null',
    'mariadbd --defaults-file="$cnf" & pid=$!',
    'for i in $(seq 1 200); do mariadb -S "$sock" -e "select 1" >/dev/null 2>&1 && break; sleep 0.05; done',
    `mariadb -S "$sock" -e "CREATE DATABASE neutron; CREATE USER 'neutron'@'%' IDENTIFIED BY '${PASSWORDS.database}'; GRANT ALL PRIVILEGES ON neutron.* TO 'neutron'@'%';"`,
    'neutron-db-manage --config-file "$conf" upgrade heads',
    ...(nova ? novaBootstrap() : []),
    'mariadb-admin -S "$sock" shutdown',
    'wait "$pid"; pid=',
  ].join("\n");
  const what = nova
    ? "building the cloud's databases (mariadb-install-db, neutron-db-manage upgrade heads, placement-manage, nova-manage and glance-manage syncs)"
    : "building neutron's database (mariadb-install-db, neutron-db-manage upgrade heads)";
  let cached: string | undefined;
  try {
    await mustIn(
      where.host,
      ["unshare", "--net", "--", "bash", "-c", script, "build-neutron-db", cnf, sock, join(work, "neutron.conf"), work],
      what,
      { timeoutS: 600 },
    );
    rmSync(join(data, "ibtmp1"), { force: true });
    // Into the cache beside its final place, then renamed: a reader never sees half a template.
    cached = mkdtempSync(join(DB_CACHE, ".build-"));
    await must(["cp", "-a", `${work}/.`, cached], { timeoutS: 120, context: "copying the database template into the cache" });
  } catch (e) {
    if (cached) rmSync(cached, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  try {
    renameSync(cached, dir);
  } catch (e) {
    // Another run built the same template meanwhile: theirs is as good as ours.
    rmSync(cached, { recursive: true, force: true });
    if (!existsSync(join(dir, "data"))) throw e;
  }
}

/** A run's own copy of the template (copy-on-write where the filesystem can). */
export async function copyDatabase(template: string, to: string): Promise<void> {
  const r = await run(["cp", "-a", "--reflink=auto", template, to], { timeoutS: 120 });
  if (r.exitCode !== 0) throw new Error(`copying neutron's database into the run: ${r.stderr.trim()}`);
}
