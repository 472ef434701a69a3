import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Host } from "../backends/host.ts";
import { ALL_IMAGES, manifestPath } from "../stacks/openstack/kolla/plays.ts";
import { RELEASE_TAGS } from "../model/commands/kolla-globals.ts";
import type { NodeSpec, ServiceDoc } from "../model/types.ts";
import { type BuiltImage, simplestreams } from "../stacks/incus/image.ts";
import { listening } from "../wait/listening.ts";
import type { WaitStrategy } from "../wait/strategy.ts";

export interface DaemonSpec {
  name: string;
  argv: string[];
  ready: WaitStrategy;
  /** Files the daemon serves, written in the node before it starts. */
  files?: Record<string, string>;
  /** Files copied from this machine (path in the node's state directory ← path on this machine). */
  copies?: Record<string, string>;
  /** Runs in the node's namespace with this machine's tools (a service labwright provides, not the node's software). */
  onMachine?: boolean;
}

/** What the lab's HTTPS image server needs: the built image and a certificate per host name it serves. */
export interface ImageServing {
  image: BuiltImage;
  certs: ReadonlyMap<string, { cert: string; key: string }>;
}

/** dnsmasq answering the node's DNS records on every address the node has. */
export function dnsmasq(node: NodeSpec): DaemonSpec | null {
  if (!node.dns) return null;
  const listen = node.interfaces.filter((i) => i.address).map((i) => `--listen-address=${i.address}`);
  const records = Object.entries(node.dns.records).flatMap(([name, ips]) => ips.map((ip) => `--host-record=${name},${ip}`));
  return {
    name: "dnsmasq",
    argv: [
      "dnsmasq",
      "--conf-file=/dev/null",
      "--keep-in-foreground",
      "--log-facility=-",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      "--user=root",
      "--group=root",
      "--pid-file=",
      ...listen,
      ...records,
    ],
    ready: listening("udp", 53),
  };
}

/**
 * A container registry for kolla's images: busybox httpd serving the Docker Registry v2 paths that
 * an image pull fetches first (`/v2/`, then each image's manifest), for every image the kolla plays pull.
 */
export function registry(svc: Extract<ServiceDoc, { type: "registry" }>, dir: string): DaemonSpec {
  const root = join(dir, `registry-${svc.port}`);
  const files: Record<string, string> = { [join(root, "v2", "index.html")]: "{}\n" };
  const tags = svc.tag === undefined ? RELEASE_TAGS : typeof svc.tag === "string" ? [svc.tag] : svc.tag;
  for (const tag of tags)
    for (const img of ALL_IMAGES) {
      files[join(root, manifestPath(svc.namespace, img, tag))] =
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.docker.distribution.manifest.v2+json",
          name: `${svc.namespace}/${img}`,
          tag,
        }) + "\n";
    }
  return {
    name: `registry:${svc.port}`,
    argv: ["busybox", "httpd", "-f", "-p", String(svc.port), "-h", root],
    ready: listening("tcp", svc.port),
    files,
  };
}

/**
 * Incus's `images:` remote inside the lab: the simplestreams tree over HTTPS (openssl s_server -WWW
 * serves the directory; its certificate is signed by the lab's CA for the service's host name).
 */
export function imageServer(svc: Extract<ServiceDoc, { type: "images" }>, dir: string, serving: ImageServing | undefined): DaemonSpec {
  if (!serving) throw new Error(`images service on port ${svc.port}: no image was built for it`);
  const cert = serving.certs.get(svc.host);
  if (!cert) throw new Error(`images service on port ${svc.port}: no certificate for ${svc.host}`);
  const root = join(dir, `images-${svc.port}`);
  const tree = simplestreams(serving.image);
  return {
    name: `images:${svc.port}`,
    argv: [
      "sh",
      "-c",
      'cd "$1" && exec openssl s_server -WWW -quiet -accept "$2" -cert "$3" -key "$4"',
      "images",
      root,
      String(svc.port),
      cert.cert,
      cert.key,
    ],
    ready: listening("tcp", svc.port),
    files: Object.fromEntries(Object.entries(tree.files).map(([p, text]) => [join(root, p), text])),
    copies: { [join(root, tree.imagePath)]: serving.image.file },
    onMachine: true,
  };
}

/** busybox httpd serving a one-line page that names the node. */
export function httpd(node: NodeSpec, svc: Extract<ServiceDoc, { type: "http" }>, dir: string): DaemonSpec {
  const root = join(dir, `www-${svc.port}`);
  return {
    name: `httpd:${svc.port}`,
    argv: ["busybox", "httpd", "-f", "-p", String(svc.port), "-h", root],
    ready: listening("tcp", svc.port),
    files: { [join(root, "index.html")]: svc.body ?? `${node.name} (labwright http service on port ${svc.port})\n` },
  };
}

/** The service daemons of a node (DNS, HTTP, registry, images), their files under `dir` in the node's view. */
export function serviceDaemons(node: NodeSpec, dir: string, images?: ImageServing): DaemonSpec[] {
  const specs: DaemonSpec[] = [];
  const dns = dnsmasq(node);
  if (dns) specs.push(dns);
  for (const svc of node.services)
    specs.push(
      svc.type === "registry" ? registry(svc, dir) : svc.type === "images" ? imageServer(svc, dir, images) : httpd(node, svc, dir),
    );
  return specs;
}

/** Writes a daemon's files in the node. */
export async function writeFiles(host: Host, spec: DaemonSpec): Promise<void> {
  for (const [path, text] of Object.entries(spec.files ?? {})) await host.writeFile(path, text);
  // The node's state directory is the same path on this machine (namespaces and containers).
  for (const [to, from] of Object.entries(spec.copies ?? {})) {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}
