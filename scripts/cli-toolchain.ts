import { Command } from "commander";

/**
 * `labwright toolchain …`: the root filesystem labs run in (topology/toolchain/). Loaded only by
 * these commands.
 */

const api = () => import("../topology/toolchain/index.ts");
const KEY_PACKAGES = async () => (await import("../topology/toolchain/info.ts")).KEY_PACKAGES;
const archive = () => import("../topology/toolchain/archive.ts");

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export function toolchainCommand(out: (s: string) => void): Command {
  const c = new Command("toolchain").description(
    "the root filesystem every command of a lab runs in: build, status, export, import (docs/toolchains.md)",
  );
  const progress = (m: string) => out(`${new Date().toISOString().slice(11, 19)} ${m}`);

  c.command("status")
    .description("each toolchain: its lock's hash, whether this machine has it built, its size and daemons' versions")
    .argument("[name]", "one toolchain (default: all)")
    .action(async (name?: string) => {
      const t = await api();
      const { readdirSync } = await import("node:fs");
      for (const n of name ? [name] : t.toolchainNames()) {
        const tc = t.loadToolchain(n);
        const b = t.builtToolchain(tc);
        out(`${n}: lock ${tc.hash} (${Object.keys(tc.locked).length} packages locked, ${tc.file})`);
        if (!b) out(`  not built on this machine: labwright toolchain build ${n} (or toolchain import FILE)`);
        else {
          out(
            `  built ${b.manifest.builtAt} in ${b.manifest.seconds} s: ${mib(b.manifest.bytes)}, ${Object.keys(b.manifest.packages).length} packages, at ${b.root}`,
          );
          out(
            `  ${(await KEY_PACKAGES())
              .filter((p) => b.manifest.packages[p])
              .map((p) => `${p} ${b.manifest.packages[p]}`)
              .join(", ")}`,
          );
        }
        let stale: string[] = [];
        try {
          stale = readdirSync(t.TOOLCHAIN_CACHE).filter((d) => d.startsWith(`${n}-`) && !d.endsWith(".log") && d !== `${n}-${tc.hash}`);
        } catch {
          /* no cache yet */
        }
        if (stale.length) out(`  other builds of ${n} (an older lock; labwright toolchain prune removes them): ${stale.join(", ")}`);
      }
    });

  c.command("build")
    .description("build a toolchain on this machine (once; minutes, with progress), checked against its lock")
    .argument("[name]", "the toolchain", "debian-12")
    .option("--force", "build it again even if it is built")
    .action(async (name: string, o: { force?: boolean }) => {
      const t = await api();
      const tc = t.loadToolchain(name);
      if (o.force) t.removeToolchain(tc);
      const b = t.builtToolchain(tc) ?? (await t.buildToolchain(tc, progress));
      out(`${name}: ${b.root} (lock ${tc.hash}, ${mib(b.manifest.bytes)}, built in ${b.manifest.seconds} s)`);
    });

  c.command("lock")
    .description("(for maintainers) build a toolchain from its package list and write what the archive gave into its lock")
    .argument("<name>", "the toolchain")
    .action(async (name: string) => {
      const t = await api();
      const b = await t.buildToolchain(t.loadToolchain(name), progress, { lock: true });
      out(`${name}: locked ${Object.keys(b.manifest.packages).length} packages; the lock's hash is now ${b.manifest.hash}`);
    });

  c.command("export")
    .description("write a built toolchain to a tarball (.tar.zst, .tar.gz, .tar.xz), e.g. for a CI cache keyed by its lock's hash")
    .argument("<file>", "the tarball")
    .argument("[name]", "the toolchain", "debian-12")
    .action(async (file: string, name: string) => {
      const t = await api();
      const r = await (await archive()).exportToolchain(t.loadToolchain(name), file);
      out(`${name}: wrote ${r.file} (${mib(r.bytes)})`);
    });

  c.command("import")
    .description("install a toolchain from a tarball that `export` wrote, checked against this lock")
    .argument("<file>", "the tarball")
    .argument("[name]", "the toolchain", "debian-12")
    .action(async (file: string, name: string) => {
      const t = await api();
      const b = await (await archive()).importToolchain(t.loadToolchain(name), file);
      out(`${name}: imported ${b.root} (${Object.keys(b.manifest.packages).length} packages, checked against the lock)`);
    });

  c.command("prune")
    .description("remove builds of older locks (and nothing in use by a live run)")
    .action(async () => {
      const t = await api();
      const { pruneToolchains } = await import("../topology/toolchain/prune.ts");
      const removed = await pruneToolchains(t.toolchainNames().map(t.loadToolchain));
      out(removed.length ? `removed ${removed.join(", ")}` : "nothing to remove");
    });

  c.command("image")
    .description(
      "import a built toolchain into Docker as the container nodes' image (once per lock; the container backend does it on first use)",
    )
    .argument("[name]", "the toolchain", "debian-12")
    .action(async (name: string) => {
      const t = await api();
      const { toolchainImage } = await import("../topology/backends/containers/images.ts");
      const built = await t.ensureToolchain(name, progress);
      out(`${name}: ${await toolchainImage(built.root, built.info, progress)}`);
    });

  c.command("hash")
    .description("print a toolchain's lock hash (a CI cache key)")
    .argument("[name]", "the toolchain", "debian-12")
    .action(async (name: string) => {
      out((await api()).loadToolchain(name).hash);
    });
  return c;
}
