import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { isAlive, processStart } from "../run/process.ts";
import { preflight } from "../run/preflight.ts";
import { debianMirror, loadToolchain, sourcesList, ToolchainError, upstreamOf, type Toolchain } from "./definition.ts";

/**
 * Builds a toolchain's root filesystem once per machine: debootstrap's minimal Debian, then apt
 * installs the toolchain's packages inside it, then the root's packages are checked against the
 * lock. Every mount of the build (debootstrap's /proc, the chroot's /dev, /sys and package cache)
 * is made in a mount namespace of its own, gone with the build; a failed or interrupted build
 * leaves nothing but the downloaded packages' cache.
 */

export const TOOLCHAIN_CACHE = process.env.LABWRIGHT_TOOLCHAIN_CACHE ?? "/var/cache/labwright/toolchain";

export interface Manifest {
  name: string;
  hash: string;
  builtAt: string;
  /** Seconds the build took, and the root's size in bytes. */
  seconds: number;
  bytes: number;
  /** Every package of the root → its full Debian version. */
  packages: Record<string, string>;
}

export interface Built {
  dir: string;
  root: string;
  manifest: Manifest;
}

export function toolchainDir(t: Toolchain): string {
  return join(TOOLCHAIN_CACHE, `${t.name}-${t.hash}`);
}

/** The built toolchain, or null. */
export function builtToolchain(t: Toolchain): Built | null {
  const dir = toolchainDir(t);
  try {
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
    return { dir, root: join(dir, "root"), manifest };
  } catch {
    return null;
  }
}

/**
 * Fixed text. $1: the root; $2: the package cache; then the packages (`name` or `name/suite`: only
 * that package from another suite), then `--download` and the packages fetched and unpacked, not
 * installed (DOWNLOADS).
 */
const INSTALL = String.raw`set -eu
root=$1 debs=$2; shift 2
install="" download=""
while [ $# -gt 0 ] && [ "$1" != --download ]; do install="$install $1"; shift; done
[ $# -gt 0 ] && shift
download="$*"
mount -t proc labwright-toolchain "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mkdir -p "$debs/partial"
mount --bind "$debs" "$root/var/cache/apt/archives"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -q
in_root apt-get install -y -q --no-install-recommends $install
mkdir -p "$root/var/lib/labwright/debs"
for p in $download; do
  in_root sh -c 'cd /var/lib/labwright/debs && apt-get download -q -o APT::Sandbox::User=root "$1"' sh "$p"
  f=$(cd "$root/var/lib/labwright/debs" && ls "$p"_*.deb)
  mkdir -p "$root/var/lib/labwright/unpacked/$p"
  in_root dpkg-deb -x "/var/lib/labwright/debs/$f" "/var/lib/labwright/unpacked/$p"
done
`;

/** Where a downloaded (not installed) package's .deb and its unpacked tree are in a root. */
export const DOWNLOADS = { debs: "var/lib/labwright/debs", unpacked: "var/lib/labwright/unpacked" };

/** The packages of a root and their versions (its own dpkg database, read by its own dpkg-query), and the downloaded ones (by their .deb's name). */
export async function rootPackages(root: string): Promise<Record<string, string>> {
  const out = await installedPackages(root);
  let debs: string[] = [];
  try {
    debs = readdirSync(join(root, DOWNLOADS.debs));
  } catch {
    /* none */
  }
  for (const f of debs) {
    // Debian's file name: <package>_<version, ':' as %3a>_<arch>.deb
    const m = /^([a-z0-9][a-z0-9+.-]+)_([^_]+)_[^_]+\.deb$/.exec(f);
    if (m) out[m[1]!] = decodeURIComponent(m[2]!);
  }
  return out;
}

async function installedPackages(root: string): Promise<Record<string, string>> {
  const r = await execa("chroot", [root, "dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"], { reject: false });
  if (r.exitCode !== 0) throw new ToolchainError(`reading the packages of ${root} failed: ${r.stderr.trim()}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const [p, v, st] = line.split("\t");
    if (p && v && st === "installed") out[p] = v;
  }
  return out;
}

/** What differs between a root's packages and the lock: one line each (empty: they agree). */
export function lockDifferences(t: Toolchain, packages: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const [p, up] of Object.entries(t.locked)) {
    const v = packages[p];
    if (v === undefined) out.push(`${p}: locked at ${up}, not in the built root`);
    else if (upstreamOf(v) !== up) out.push(`${p}: locked at ${up}, the archive gave ${v} (upstream ${upstreamOf(v)})`);
  }
  for (const [p, v] of Object.entries(packages)) if (!(p in t.locked)) out.push(`${p}: ${v} is in the built root but not in the lock`);
  return out.sort();
}

/** The lock a set of packages gives (package → upstream version, sorted). */
export function lockOf(packages: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(packages)
      .sort()
      .map((p) => [p, upstreamOf(packages[p]!)]),
  );
}

/** Claims the build: a directory made atomically, holding the builder's pid and start time; a dead builder's is taken over. */
function claim(tmp: string): void {
  for (;;) {
    try {
      mkdirSync(tmp);
      writeFileSync(join(tmp, "builder"), `${process.pid} ${processStart(process.pid)}\n`);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let owner: { pid: number; start: number } | null = null;
      try {
        const [pid, start] = readFileSync(join(tmp, "builder"), "utf8").trim().split(" ").map(Number);
        owner = { pid: pid!, start: start! };
      } catch {
        /* being written, or a crash before it was */
      }
      if (owner && isAlive(owner))
        throw new ToolchainError(`another labwright (pid ${owner.pid}) is building this toolchain (${tmp}): wait for it to end`);
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

/**
 * Builds the toolchain unless it is built (`force`: again). `lock`: write the built root's
 * packages into the toolchain file's `locked` instead of checking them against it.
 */
export async function buildToolchain(t: Toolchain, say: (m: string) => void, opts: { lock?: boolean } = {}): Promise<Built> {
  const done = builtToolchain(t);
  if (done && !opts.lock) return done;
  preflight(["debootstrap", "chroot", "unshare", "mount"]);
  const dir = toolchainDir(t);
  const tmp = `${dir}.building`;
  const root = join(tmp, "root");
  mkdirSync(TOOLCHAIN_CACHE, { recursive: true });
  claim(tmp);
  const t0 = Date.now();
  const log = join(TOOLCHAIN_CACHE, `${t.name}-${t.hash}.build.log`);
  writeFileSync(log, "");
  try {
    const mirror = debianMirror();
    say(`toolchain ${t.name}: debootstrap ${t.bootstrap.suite} (${t.bootstrap.variant}) from ${mirror} (log: ${log})`);
    await step(
      log,
      [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "debootstrap",
        `--variant=${t.bootstrap.variant}`,
        t.bootstrap.suite,
        root,
        mirror,
      ],
      "debootstrap",
    );
    writeFileSync(join(root, "etc/apt/sources.list"), sourcesList(t, mirror));
    // Packages' maintainer scripts must start no service in the root (there is no init in it).
    writeFileSync(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\n# labwright toolchain: no service starts here\nexit 101\n", {
      mode: 0o755,
    });
    const from = Object.entries(t.from).flatMap(([suite, pkgs]) => pkgs.map((p) => `${p}/${suite}`));
    const download = t.downloads.length ? ["--download", ...t.downloads] : [];
    say(
      `toolchain ${t.name}: installing ${t.packages.length + Object.values(t.from).flat().length} packages and their dependencies (${(Date.now() - t0) / 1000} s so far)`,
    );
    const debs = join(TOOLCHAIN_CACHE, "debs");
    mkdirSync(debs, { recursive: true });
    await step(
      log,
      [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        INSTALL,
        "labwright-toolchain",
        root,
        debs,
        ...t.packages,
        ...from,
        ...download,
      ],
      "apt-get install",
    );
    // What a command in the root can read to know where it runs (this machine's /etc has no such file).
    writeFileSync(join(root, "etc/labwright-toolchain"), `${t.name}\n`);
    rmSync(join(root, "var/lib/apt/lists"), { recursive: true, force: true });
    mkdirSync(join(root, "var/lib/apt/lists/partial"), { recursive: true });
    const packages = await rootPackages(root);
    if (opts.lock) {
      writeLock(t, packages);
      say(`toolchain ${t.name}: wrote the lock of ${Object.keys(packages).length} packages into ${t.file}`);
    } else {
      const diff = lockDifferences(t, packages);
      if (diff.length)
        throw new ToolchainError(
          `toolchain ${t.name}: the built root does not match ${t.file}'s lock (${diff.length} package(s)):\n  ${diff.slice(0, 20).join("\n  ")}` +
            `${diff.length > 20 ? `\n  … and ${diff.length - 20} more` : ""}\n` +
            "A new upstream version in the Debian archive is a new toolchain: update the lock (labwright toolchain lock) and re-run the suites.",
        );
    }
    const du = await execa("du", ["-sb", root], { reject: false });
    const manifest: Manifest = {
      name: t.name,
      hash: t.hash,
      builtAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      bytes: Number(du.stdout.split("\t")[0]) || 0,
      packages,
    };
    writeFileSync(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
    rmSync(join(tmp, "builder"), { force: true });
    if (opts.lock) {
      // The file changed, so did its hash: the root is kept under the new key.
      const again = loadToolchain(t.name);
      const final = toolchainDir(again);
      rmSync(final, { recursive: true, force: true });
      writeFileSync(join(tmp, "manifest.json"), JSON.stringify({ ...manifest, hash: again.hash }, null, 1) + "\n");
      renameSync(tmp, final);
      return builtToolchain(again)!;
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    say(
      `toolchain ${t.name}: built in ${manifest.seconds} s, ${(manifest.bytes / 2 ** 20).toFixed(0)} MiB, ${Object.keys(packages).length} packages (${dir})`,
    );
    return builtToolchain(t)!;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function step(log: string, argv: string[], what: string): Promise<void> {
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, stdin: "ignore", env: { LC_ALL: "C" } });
  writeFileSync(log, `$ ${what}\n${String(r.all ?? "")}\n`, { flag: "a" });
  if (r.exitCode !== 0)
    throw new ToolchainError(
      `${what} failed (exit ${r.exitCode}):\n${String(r.all ?? "")
        .trim()
        .split("\n")
        .slice(-10)
        .join("\n")}\n(the whole output: ${log})`,
    );
}

/** Replaces the toolchain file's `locked:` section (its last) with the given packages. */
function writeLock(t: Toolchain, packages: Readonly<Record<string, string>>): void {
  const text = readFileSync(t.file, "utf8");
  const head = text.replace(/\nlocked:[\s\S]*$/, "\n");
  const lock = lockOf(packages);
  const lines = Object.entries(lock).map(([p, v]) => `  ${p}: ${JSON.stringify(v)}\n`);
  writeFileSync(t.file, `${head.trimEnd()}\nlocked:\n${lines.join("")}`);
}

export function removeToolchain(t: Toolchain): boolean {
  const dir = toolchainDir(t);
  if (!existsSync(dir)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}
