import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { debianMirror } from "../../toolchain/definition.ts";
import type { ToolchainInfo } from "../../toolchain/info.ts";

/**
 * Node images, built on this machine from Debian packages (no registry): a base image made with
 * debootstrap and `docker import`, then one image per set of packages a node's software needs, from a Dockerfile that
 * installs its packages. Each tag carries a hash of what went into it, so a build happens once per
 * machine and a change of package list makes a new image. A failed build leaves no image behind.
 */

/** What every node has: the probes' tools, the fabric's tools, and the libraries of the node binary the socket probes use. */
export const BASE_PACKAGES = [
  "iproute2",
  "iputils-ping",
  "traceroute",
  "nftables",
  "iptables",
  "tcpdump",
  "dnsmasq-base",
  "busybox",
  "procps",
  "ethtool",
  "curl",
  "iputils-arping",
  "bash",
  "ca-certificates",
  "libstdc++6",
  "openssh-server",
];

export const SUITE = "bookworm";
const IMAGE_VERSION = "1";

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

export function baseTag(): string {
  return `labwright-base:${hash([IMAGE_VERSION, SUITE, ...BASE_PACKAGES].join(" "))}`;
}

/** The tag of a node image holding these packages (sorted, as NodeNeeds gives them). */
export function nodeTag(pkgs: readonly string[]): string {
  return pkgs.length ? `labwright-node:${hash([baseTag(), ...pkgs].join(" "))}` : baseTag();
}

/** Images this process has seen: a run of several scenarios looks each up once. */
const seen = new Set<string>();

async function imageExists(tag: string): Promise<boolean> {
  if (seen.has(tag)) return true;
  const r = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", tag], { reject: false });
  if (r.exitCode === 0) seen.add(tag);
  return r.exitCode === 0;
}

async function removeImage(tag: string): Promise<void> {
  await execa("docker", ["image", "rm", "--force", tag], { reject: false });
}

export class ImageBuildError extends Error {}

/** debootstrap → docker import. About a minute, once per machine. */
async function buildBase(say: (m: string) => void): Promise<string> {
  const tag = baseTag();
  if (await imageExists(tag)) return tag;
  say(`building node base image ${tag} (debootstrap ${SUITE}, once per machine)`);
  const dir = mkdtempSync(join(tmpdir(), "labwright-rootfs-"));
  try {
    const boot = await execa("debootstrap", ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, SUITE, dir, debianMirror()], {
      reject: false,
      all: true,
    });
    if (boot.exitCode !== 0)
      throw new ImageBuildError(`debootstrap failed (exit ${boot.exitCode}):\n${String(boot.all).trim().split("\n").slice(-8).join("\n")}`);
    rmSync(join(dir, "var/cache/apt/archives"), { recursive: true, force: true });
    const imp = await execa("tar", ["-C", dir, "-c", "."], { reject: false, buffer: { stdout: false } }).pipe(
      "docker",
      ["import", "--change", 'CMD ["sleep", "infinity"]', "-", tag],
      { reject: false, all: true },
    );
    if (imp.exitCode !== 0) {
      await removeImage(tag);
      throw new ImageBuildError(`docker import failed: ${String(imp.all).trim()}`);
    }
    return tag;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Dockerfile adding the software's packages to the base image (the build uses this machine's network for apt). */
async function buildNode(pkgs: readonly string[], say: (m: string) => void): Promise<string> {
  const base = await buildBase(say);
  if (!pkgs.length) return base;
  const tag = nodeTag(pkgs);
  if (await imageExists(tag)) return tag;
  say(`building node image ${tag} (${pkgs.join(", ")})`);
  const ctx = mkdtempSync(join(tmpdir(), "labwright-image-"));
  try {
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        `FROM ${base}`,
        `RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pkgs.join(" ")} >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb`,
        `CMD ["sleep", "infinity"]`,
        "",
      ].join("\n"),
    );
    // The legacy builder: no buildx plugin is needed, and --network host lets apt reach the mirror with no Docker network.
    const r = await execa("docker", ["build", "--network", "host", "--force-rm", "--label", "labwright.image=node", "-t", tag, ctx], {
      reject: false,
      all: true,
      env: { DOCKER_BUILDKIT: "0" },
    });
    if (r.exitCode !== 0) {
      await removeImage(tag);
      throw new ImageBuildError(`building ${tag} failed:\n${String(r.all).trim().split("\n").slice(-8).join("\n")}`);
    }
    return tag;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** The image of each distinct package set (keyed by the packages joined with spaces), built (or found) one after the other. */
export async function imagesFor(sets: readonly (readonly string[])[], say: (m: string) => void): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const s of sets) {
    const key = s.join(" ");
    if (!out.has(key)) out.set(key, await buildNode(s, say));
  }
  return out;
}

/** The tag of a toolchain's image: its name and lock hash. */
export function toolchainTag(t: ToolchainInfo): string {
  return `labwright-toolchain:${t.name}-${t.hash}`;
}

/**
 * The container nodes' image of a toolchain: its root filesystem imported into Docker as it is
 * (`docker import`), once per lock, so container nodes run the same binaries as namespace nodes.
 * A failed import leaves no image.
 */
export async function toolchainImage(root: string, t: ToolchainInfo, say: (m: string) => void): Promise<string> {
  const tag = toolchainTag(t);
  if (await imageExists(tag)) return tag;
  say(`importing toolchain ${t.name} (lock ${t.hash}) into Docker as ${tag} (once per lock)`);
  const imp = await execa("tar", ["-C", root, "--numeric-owner", "--xattrs", "-c", "."], { reject: false, buffer: { stdout: false } }).pipe(
    "docker",
    ["import", "--change", 'CMD ["sleep", "infinity"]', "--change", "LABEL labwright.image=toolchain", "-", tag],
    { reject: false, all: true },
  );
  if (imp.exitCode !== 0) {
    await removeImage(tag);
    throw new ImageBuildError(`docker import of toolchain ${t.name} failed: ${String(imp.all).trim().split("\n").slice(-5).join("\n")}`);
  }
  seen.add(tag);
  return tag;
}
