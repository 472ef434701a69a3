import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { must } from "../../run/exec.ts";

/**
 * The image the lab's `images:` remote serves as debian/12 (aliases debian/bookworm, debian/12,
 * .../default): a unified Incus image (metadata.yaml + rootfs/) whose root filesystem is Debian's
 * busybox-static package, booting busybox init, which brings up every NIC with udhcpc and Debian's
 * own udhcpc sample script (plus the MTU the DHCP server offers, as a full Debian image's network
 * stack applies it). About 1 MB; built once per machine from the package (cached by its version),
 * nothing downloaded but the package from the Debian archive apt is configured with.
 */

export const IMAGE_CACHE = process.env.LABWRIGHT_IMAGE_CACHE ?? "/var/cache/labwright/incus-images";
const PACKAGE = "busybox-static";

export interface BuiltImage {
  file: string;
  sha256: string;
  size: number;
  /** Build date, the simplestreams version name's first 8 characters. */
  serial: string;
}

const INITTAB = "::sysinit:/etc/init.d/rcS\n::shutdown:/bin/umount -a -r\n";
const RCS = `#!/bin/sh
# labwright image: loopback up, then DHCP on every other NIC (udhcpc stays for renewals).
ip link set lo up
for dev in $(ls /sys/class/net); do
  [ "$dev" = lo ] && continue
  udhcpc -i "$dev" -b -O mtu -s /etc/udhcpc/default.script -x "hostname:$(hostname)" >"/var/log/udhcpc-$dev.log" 2>&1
done
`;
const DHCP_SCRIPT = `#!/bin/sh
# Debian's udhcpc sample script, after applying the MTU the server offers (DHCP option 26).
case "$1" in bound|renew) [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu" ;; esac
exec /usr/share/doc/busybox-static/examples/udhcp/simple.script "$@"
`;

/**
 * The cached image, built first if this recipe has none. Under a toolchain's root (`root`), from
 * the package the toolchain downloaded and unpacked (its lock pins the version); with this
 * machine's own files ("/"), from the package apt offers now.
 */
export async function ensureImage(root = "/"): Promise<BuiltImage> {
  if (root !== "/") return ensureFromToolchain(root);
  const tag = createHash("sha256").update(`${PACKAGE}\n${INITTAB}${RCS}${DHCP_SCRIPT}`).digest("hex").slice(0, 16);
  const file = join(IMAGE_CACHE, `debian-busybox-${tag}.tar.gz`);
  if (!existsSync(file)) {
    const version = (await must(["apt-cache", "policy", PACKAGE], { timeoutS: 60, context: `apt-cache policy ${PACKAGE}` })).stdout.match(
      /Candidate:\s*(\S+)/,
    )?.[1];
    if (!version || version === "(none)")
      throw new Error(
        `the lab's image server needs Debian's ${PACKAGE} package, and apt knows no candidate for it: run apt-get update (scripts/setup.sh)`,
      );
    await build(file, version, async (work, rootfs) => {
      await must(["apt-get", "download", `${PACKAGE}=${version}`], {
        timeoutS: 300,
        context: `downloading ${PACKAGE} from the Debian archive`,
        cwd: work,
      });
      const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
      if (!deb) throw new Error(`apt-get download ${PACKAGE} left no .deb`);
      await must(["dpkg-deb", "-x", join(work, deb), rootfs], { timeoutS: 60, context: `unpacking ${deb}` });
    });
  }
  return described(file);
}

async function ensureFromToolchain(root: string): Promise<BuiltImage> {
  const debs = join(root, "var/lib/labwright/debs");
  const deb = (existsSync(debs) ? readdirSync(debs) : []).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith(".deb"));
  const tree = join(root, "var/lib/labwright/unpacked", PACKAGE);
  if (!deb || !existsSync(join(tree, "bin/busybox")))
    throw new Error(
      `the lab's image server needs Debian's ${PACKAGE}, and the toolchain at ${root} has not downloaded it: add it to its downloads (topology/toolchains/)`,
    );
  const version = decodeURIComponent(deb.split("_")[1]!);
  const tag = createHash("sha256").update(`${PACKAGE} ${version}\n${INITTAB}${RCS}${DHCP_SCRIPT}`).digest("hex").slice(0, 16);
  const file = join(IMAGE_CACHE, `debian-busybox-${tag}.tar.gz`);
  if (!existsSync(file))
    await build(file, version, async (_work, rootfs) => {
      await must(["cp", "-a", `${tree}/.`, rootfs], { timeoutS: 60, context: `copying ${PACKAGE}'s files from the toolchain` });
    });
  return described(file);
}

function described(file: string): BuiltImage {
  const data = readFileSync(file);
  return {
    file,
    sha256: createHash("sha256").update(data).digest("hex"),
    size: statSync(file).size,
    serial: statSync(file).mtime.toISOString().slice(0, 10).replace(/-/g, ""),
  };
}

/** Builds the image from the package's files, which `unpack` puts into the image's rootfs. */
async function build(file: string, version: string, unpack: (work: string, rootfs: string) => Promise<void>): Promise<void> {
  mkdirSync(IMAGE_CACHE, { recursive: true, mode: 0o755 });
  const work = mkdtempSync(join(IMAGE_CACHE, ".build-"));
  try {
    const root = join(work, "image", "rootfs");
    mkdirSync(root, { recursive: true });
    await unpack(work, root);
    const applets = (await must([join(root, "bin/busybox"), "--list-full"], { timeoutS: 10 })).stdout.split("\n").filter(Boolean);
    for (const d of ["sbin", "usr/bin", "usr/sbin", "etc/init.d", "etc/udhcpc", "dev", "proc", "sys", "tmp", "run", "root", "var/log"])
      mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, "tmp"), 0o1777);
    for (const a of applets) if (!existsSync(join(root, a))) symlinkSync("/bin/busybox", join(root, a));
    writeFileSync(join(root, "etc/inittab"), INITTAB);
    writeFileSync(join(root, "etc/init.d/rcS"), RCS, { mode: 0o755 });
    writeFileSync(join(root, "etc/udhcpc/default.script"), DHCP_SCRIPT, { mode: 0o755 });
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\n");
    writeFileSync(join(root, "etc/hostname"), "debian\n");
    writeFileSync(join(root, "etc/resolv.conf"), "");
    const now = Math.floor(Date.now() / 1000);
    writeFileSync(
      join(work, "image", "metadata.yaml"),
      `architecture: x86_64\ncreation_date: ${now}\nproperties:\n  os: Debian\n  release: bookworm\n  variant: default\n  description: Debian bookworm, busybox (${PACKAGE} ${version}), labwright lab image\n`,
    );
    const tmp = join(work, "image.tar.gz");
    await must(["tar", "-C", join(work, "image"), "--numeric-owner", "--owner=0", "--group=0", "-czf", tmp, "metadata.yaml", "rootfs"], {
      timeoutS: 120,
      context: "packing the Incus image",
    });
    renameSync(tmp, file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The aliases the lab's `images:` remote answers, as the Incus docs and images.linuxcontainers.org
 * name them (`<os>/<release>`, `<os>/<version>`, each with `/default` and `/cloud`): every one is an
 * alias of the one small image above (busybox on Debian's package), not that distribution — a step
 * that launches one gets a note saying so (stacks/incus/steps.ts), and `incus image list images:`
 * shows the one image with all its aliases.
 */
export const RELEASES: readonly { os: string; release: string; version?: string }[] = [
  { os: "Debian", release: "bookworm", version: "12" },
  { os: "Debian", release: "bullseye", version: "11" },
  { os: "Debian", release: "trixie", version: "13" },
  { os: "Ubuntu", release: "jammy", version: "22.04" },
  { os: "Ubuntu", release: "noble", version: "24.04" },
  { os: "Alpine", release: "3.20" },
  { os: "Alpine", release: "3.21" },
  { os: "Alpine", release: "edge" },
];

/** The simplestreams tree the image server serves: index, the product (the image with every alias), and the image under its path. */
export function simplestreams(img: BuiltImage): { files: Record<string, string>; imagePath: string } {
  const version = `${img.serial}_0000`;
  const imagePath = `images/debian/bookworm/amd64/default/${version}/incus_combined.tar.gz`;
  // One product for every alias: Incus refuses a name that matches several images of one fingerprint
  // ("More than one match for the provided partial fingerprint"), so the aliases share the product.
  const product = "debian:bookworm:amd64:default";
  const aliases = RELEASES.flatMap((r) => [r.release, ...(r.version ? [r.version] : [])].map((n) => `${r.os.toLowerCase()}/${n}`)).flatMap(
    (n) => [n, `${n}/default`, `${n}/cloud`],
  );
  const products = {
    [product]: {
      aliases: aliases.join(","),
      arch: "amd64",
      os: "Debian",
      release: "bookworm",
      release_title: "bookworm (labwright's small image: busybox; every alias of this remote)",
      variant: "default",
      versions: {
        [version]: {
          items: { "incus_combined.tar.gz": { ftype: "incus_combined.tar.gz", path: imagePath, sha256: img.sha256, size: img.size } },
        },
      },
    },
  };
  const index = {
    format: "index:1.0",
    index: { images: { datatype: "image-downloads", path: "streams/v1/images.json", format: "products:1.0", products: [product] } },
  };
  const streams = { content_id: "images", datatype: "image-downloads", format: "products:1.0", products };
  return {
    files: { "streams/v1/index.json": JSON.stringify(index), "streams/v1/images.json": JSON.stringify(streams), ...INSTANCE_TYPES },
    imagePath,
  };
}

/**
 * incusd downloads the cloud instance-type names (`incus launch -t aws:t2.micro`) from the image
 * server at start and daily: `meta/instance-types/.yaml` (cloud → file), then each cloud's file.
 * Without them it logs `Failed updating instance types` as an error. The lab's server has AWS's
 * general-purpose t2 sizes (vCPUs, GiB), as on images.linuxcontainers.org.
 */
const INSTANCE_TYPES: Record<string, string> = {
  "meta/instance-types/.yaml": 'aws: "aws.yaml"\n',
  "meta/instance-types/aws.yaml":
    "t2.nano: { cpu: 1.0, mem: 0.5 }\nt2.micro: { cpu: 1.0, mem: 1.0 }\nt2.small: { cpu: 1.0, mem: 2.0 }\nt2.medium: { cpu: 2.0, mem: 4.0 }\nt2.large: { cpu: 2.0, mem: 8.0 }\n",
};
