import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { execa } from "execa";
import { preflight } from "../run/preflight.ts";
import { builtToolchain, lockDifferences, rootPackages, TOOLCHAIN_CACHE, toolchainDir, type Built, type Manifest } from "./build.ts";
import { ToolchainError, type Toolchain } from "./definition.ts";

/**
 * A built toolchain as one tarball (for a CI cache): its directory (root and manifest), compressed
 * by the file's suffix (tar's --auto-compress: .tar.zst, .tar.gz, .tar.xz). An import is checked
 * like a build: the tarball's manifest must name this toolchain at this lock's hash, and its root's
 * packages must match the lock; a tarball that does not is refused and leaves nothing.
 */

const SUFFIX = /\.tar(\.(zst|gz|xz))?$/;

export async function exportToolchain(t: Toolchain, file: string): Promise<{ file: string; bytes: number }> {
  const built = builtToolchain(t);
  if (!built)
    throw new ToolchainError(`toolchain ${t.name} (lock ${t.hash}) is not built on this machine: labwright toolchain build ${t.name}`);
  if (!SUFFIX.test(file)) throw new ToolchainError(`${file}: the file name says how to compress it: .tar.zst, .tar.gz, .tar.xz or .tar`);
  preflight(["tar"]);
  const out = resolve(file);
  const r = await execa("tar", ["--auto-compress", "--xattrs", "--numeric-owner", "-C", TOOLCHAIN_CACHE, "-cf", out, basename(built.dir)], {
    reject: false,
    all: true,
  });
  if (r.exitCode !== 0) {
    rmSync(out, { force: true });
    throw new ToolchainError(`tar failed (exit ${r.exitCode}): ${String(r.all).trim().split("\n").slice(-5).join("\n")}`);
  }
  const du = await execa("du", ["-b", out]);
  return { file: out, bytes: Number(du.stdout.split("\t")[0]) };
}

export async function importToolchain(t: Toolchain, file: string): Promise<Built> {
  if (!existsSync(file)) throw new ToolchainError(`${file}: no such file`);
  preflight(["tar", "chroot"]);
  mkdirSync(TOOLCHAIN_CACHE, { recursive: true });
  const tmp = join(TOOLCHAIN_CACHE, `import-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const want = basename(toolchainDir(t));
    const r = await execa("tar", ["--xattrs", "--numeric-owner", "-C", tmp, "-xf", resolve(file), `${want}/`], {
      reject: false,
      all: true,
    });
    if (r.exitCode !== 0) {
      const list = await execa("tar", ["-tf", resolve(file)], { reject: false, lines: true, buffer: true });
      const top = [...new Set((list.stdout as unknown as string[]).map((l) => l.split("/")[0]).filter(Boolean))].slice(0, 3);
      throw new ToolchainError(
        `${file} does not hold toolchain ${t.name} at this lock's hash (${want})${top.length ? `: it holds ${top.join(", ")}` : ""}: ` +
          `export it again from a labwright whose ${t.file} is this one, or build it here (labwright toolchain build ${t.name})`,
      );
    }
    const dir = join(tmp, want);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
    if (manifest.name !== t.name || manifest.hash !== t.hash)
      throw new ToolchainError(`${file}: its manifest names ${manifest.name} at ${manifest.hash}, not ${t.name} at ${t.hash}`);
    const diff = lockDifferences(t, await rootPackages(join(dir, "root")));
    if (diff.length) throw new ToolchainError(`${file}: its root does not match ${t.file}'s lock:\n  ${diff.slice(0, 10).join("\n  ")}`);
    const final = toolchainDir(t);
    rmSync(final, { recursive: true, force: true });
    renameSync(dir, final);
    return builtToolchain(t)!;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
