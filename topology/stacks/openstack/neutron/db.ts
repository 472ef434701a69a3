import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PASSWORDS } from "../kolla/config.ts";
import { must, run } from "../../../run/exec.ts";

/**
 * neutron's database as kolla's bootstrap leaves it (`neutron-db-manage upgrade heads` on MariaDB),
 * made once per machine and copied into each run: a MariaDB data directory with the `neutron`
 * database at the newest schema and its user. Built with the real tools (mariadb-install-db,
 * mariadbd, neutron-db-manage) in a network namespace of its own with no network (the server
 * listens on a unix socket only), cached by the versions of MariaDB and neutron and this recipe;
 * a failed build leaves nothing.
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

/** The cached data directory (built first if there is none for these versions). */
export async function ensureDbTemplate(neutronVersion: string): Promise<string> {
  const mariadb = versionOf(["mariadbd", "--version"]);
  const key = createHash("sha256").update(`${RECIPE}\n${mariadb}\n${neutronVersion}\n${PASSWORDS.database}`).digest("hex").slice(0, 16);
  const dir = join(DB_CACHE, key);
  if (!existsSync(join(dir, "data"))) await build(dir);
  return join(dir, "data");
}

async function build(dir: string): Promise<void> {
  mkdirSync(DB_CACHE, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(DB_CACHE, ".build-"));
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
    "cnf=$1; sock=$2; conf=$3; pid=",
    // On any failure the server goes with the script.
    'trap \'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi\' EXIT',
    'mariadb-install-db --defaults-file="$cnf" --auth-root-authentication-method=normal --skip-test-db >/dev/null',
    'mariadbd --defaults-file="$cnf" & pid=$!',
    'for i in $(seq 1 200); do mariadb -S "$sock" -e "select 1" >/dev/null 2>&1 && break; sleep 0.05; done',
    `mariadb -S "$sock" -e "CREATE DATABASE neutron; CREATE USER 'neutron'@'%' IDENTIFIED BY '${PASSWORDS.database}'; GRANT ALL PRIVILEGES ON neutron.* TO 'neutron'@'%';"`,
    'neutron-db-manage --config-file "$conf" upgrade heads',
    'mariadb-admin -S "$sock" shutdown',
    'wait "$pid"; pid=',
  ].join("\n");
  try {
    await must(["unshare", "--net", "--", "bash", "-c", script, "build-neutron-db", cnf, sock, join(work, "neutron.conf")], {
      timeoutS: 600,
      context: "building neutron's database (mariadb-install-db, neutron-db-manage upgrade heads)",
    });
    rmSync(join(data, "ibtmp1"), { force: true });
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  try {
    renameSync(work, dir);
  } catch (e) {
    // Another run built the same template meanwhile: theirs is as good as ours.
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(join(dir, "data"))) throw e;
  }
}

/** A run's own copy of the template (copy-on-write where the filesystem can). */
export async function copyDatabase(template: string, to: string): Promise<void> {
  const r = await run(["cp", "-a", "--reflink=auto", template, to], { timeoutS: 120 });
  if (r.exitCode !== 0) throw new Error(`copying neutron's database into the run: ${r.stderr.trim()}`);
}
