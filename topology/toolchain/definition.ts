import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { ToolchainError } from "./error.ts";

/**
 * A toolchain: the Debian root filesystem every command of a lab runs in, as data. One YAML file
 * per toolchain in `topology/toolchains/` names its sources, the packages it holds and, under
 * `locked`, every package of the built root with its upstream version (written by `labwright
 * toolchain lock`). Adding a toolchain is a new file, no code.
 */

/** Where the toolchain files are: the package's own `topology/toolchains/` (from the sources and from dist/ alike). */
export const TOOLCHAINS_DIR = join(packageRoot(), "topology", "toolchains");

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The default toolchain of a lab that names none. */
export const DEFAULT_TOOLCHAIN = "debian-12";

const NAME = /^[a-z][a-z0-9.-]{0,40}$/;
const PKG = /^[a-z0-9][a-z0-9+.-]+$/;
const SUITE = /^[a-z][a-z0-9-]+$/;

const ToolchainSchema = z.strictObject({
  name: z.string().regex(NAME),
  /** debootstrap's first stage: the suite and its variant. */
  bootstrap: z.strictObject({ suite: z.string().regex(SUITE), variant: z.enum(["minbase"]) }),
  /** apt's sources in the root; the first URI is replaced by $LABWRIGHT_DEBIAN_MIRROR when set. */
  sources: z.array(z.strictObject({ uri: z.url(), suites: z.array(z.string().regex(SUITE)).min(1) })).min(1),
  /** The packages asked for (with their dependencies, no recommends). */
  packages: z.array(z.string().regex(PKG)).min(1),
  /** Packages taken from another suite than the bootstrap's (apt-get install <package>/<suite>: that package only). */
  from: z.record(z.string().regex(SUITE), z.array(z.string().regex(PKG)).min(1)).default({}),
  /** Packages fetched and unpacked into the root, not installed (busybox-static, which conflicts with busybox: the Incus lab image's files). */
  downloads: z.array(z.string().regex(PKG)).default([]),
  /** Every package of the built root → its upstream version (see upstreamOf). */
  locked: z.record(z.string().regex(PKG), z.string().min(1)).default({}),
});

export type Toolchain = z.output<typeof ToolchainSchema> & {
  /** The file's path and the first 12 hex digits of its sha256: the cache key. */
  file: string;
  hash: string;
};

export { ToolchainError };

export function toolchainFile(name: string): string {
  if (!NAME.test(name)) throw new ToolchainError(`not a toolchain name: ${JSON.stringify(name)} (letters, digits, '.' and '-')`);
  return join(TOOLCHAINS_DIR, `${name}.yaml`);
}

/** The names of the toolchains this copy of labwright has (its `topology/toolchains/*.yaml`). */
export function toolchainNames(): string[] {
  try {
    return readdirSync(TOOLCHAINS_DIR)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.slice(0, -".yaml".length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Each toolchain file as last loaded, by path, with its text: parsing and checking the lock (651
 * packages) took 60-128 ms a call, and every lab start asked twice (preflight, then the backend).
 */
const loaded = new Map<string, { text: string; toolchain: Toolchain }>();

export function loadToolchain(name: string): Toolchain {
  const file = toolchainFile(name);
  if (!existsSync(file))
    throw new ToolchainError(`no toolchain "${name}" (${file} does not exist); the toolchains are: ${toolchainNames().join(", ")}`);
  const text = readFileSync(file, "utf8");
  const known = loaded.get(file);
  if (known?.text === text) return known.toolchain;
  const parsed = ToolchainSchema.safeParse(parse(text));
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new ToolchainError(`${file}: ${i.path.join(".") || "(top)"}: ${i.message}`);
  }
  if (parsed.data.name !== name) throw new ToolchainError(`${file}: name is "${parsed.data.name}", not "${name}" as its file name says`);
  const toolchain = { ...parsed.data, file, hash: createHash("sha256").update(text).digest("hex").slice(0, 12) };
  loaded.set(file, { text, toolchain });
  return toolchain;
}

/**
 * A Debian version's upstream part, as the lock pins it: without the Debian revision (after the
 * last '-') and without a stable update's `+debNuM` / `~debNuM` suffix, so that a security update
 * of the same upstream release (the archive keeps only the newest) matches; the epoch stays.
 */
export function upstreamOf(version: string): string {
  const dash = version.lastIndexOf("-");
  const up = dash > 0 ? version.slice(0, dash) : version;
  return up.replace(/[+~]deb\d+u\d+$/, "");
}

/** The Debian mirror: $LABWRIGHT_DEBIAN_MIRROR, else the first Debian URI of this machine's apt sources, else deb.debian.org. */
export function debianMirror(): string {
  if (process.env.LABWRIGHT_DEBIAN_MIRROR) return process.env.LABWRIGHT_DEBIAN_MIRROR;
  for (const f of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    try {
      const m = /(?:URIs:|deb)\s+(https?:\/\/\S+\/debian)\/?\s/m.exec(readFileSync(f, "utf8"));
      if (m) return m[1]!;
    } catch {
      /* next */
    }
  }
  return "http://deb.debian.org/debian";
}

/** apt's sources.list lines of the root (the first source's URI is the mirror). */
export function sourcesList(t: Toolchain, mirror = debianMirror()): string {
  return t.sources.map((s, k) => s.suites.map((suite) => `deb ${k === 0 ? mirror : s.uri} ${suite} main\n`).join("")).join("");
}
