import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { Lab, NodeSpec } from "../../model/types.ts";
import { must } from "../../run/exec.ts";
import { preflight, PreflightError } from "../../run/preflight.ts";
import { namespaceName, nodeDir, runDir, type RunRecord, type RunState } from "../../run/state.ts";
import type { Backend, NodeNeeds, Nodes, SoftwareSource, UpOptions } from "../backend.ts";
import type { Host } from "../host.ts";
import { createNamespaces, guestNamespace, NetnsBackend, NetnsHost, rootOf } from "../netns.ts";
import { startRoot } from "../root.ts";
import { ensureToolchain } from "../../toolchain/index.ts";
import { ContainerHost } from "./host.ts";
import { ImageBuildError, imagesFor, toolchainImage } from "./images.ts";

/** The label every labwright container carries: the run it belongs to. gc removes by it and nothing else. */
export const RUN_LABEL = "labwright.run";

/** Where the socket probes' helper lives on this machine (bind-mounted read-only into every node, with the node binary). */
const PROBES_DIR = dirname(fileURLToPath(new URL("../../probes/net-helper.mjs", import.meta.url)));

/**
 * Every node is a Docker container with no Docker network: its network namespace is attached under
 * /run/netns (as `ip netns attach` does), so the fabric wires the lab's own veths into it exactly as
 * for the namespace backend. The fabric itself stays a namespace on this machine.
 */
export class ContainerBackend implements Backend {
  readonly name = "containers";
  readonly builds = true;

  async preflight(_lab: Lab): Promise<void> {
    preflight(["ip", "nsenter", "docker", "debootstrap", "tar"]);
    const r = await execa("docker", ["info", "--format", "{{.ServerVersion}}"], { reject: false, timeout: 15_000 });
    if (r.exitCode !== 0) {
      throw new PreflightError(
        `the container backend needs a running Docker engine, and \`docker info\` failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}. ` +
          "Install Debian's docker.io and start it (scripts/setup.sh --containers does both, with dockerd never touching the root namespace's firewall, forwarding or bridges)",
      );
    }
  }

  async up(rec: RunRecord, lab: Lab, opts: UpOptions = {}): Promise<Nodes> {
    const say = opts.say ?? (() => undefined);
    const needs = (n: NodeSpec): NodeNeeds => opts.needs?.(n) ?? { packages: [], binaries: [] };
    // The lab's toolchain is both the containers' image and the machine view's software beside them
    // (incusd, a kolla node's daemons): one source of binaries, as on the namespace backend. With
    // `toolchain: host`, node images of the packages the stacks name, and this machine's files.
    const toolchain = lab.toolchain === "host" ? null : await ensureToolchain(lab.toolchain, say);
    const lower = toolchain?.root ?? null;
    let imageOf: (n: NodeSpec) => string;
    try {
      if (toolchain) {
        const tag = await toolchainImage(toolchain.root, toolchain.info, say);
        imageOf = () => tag;
      } else {
        const images = await imagesFor(
          lab.nodes.map((n) => needs(n).packages),
          say,
        );
        imageOf = (n) => images.get(needs(n).packages.join(" "))!;
      }
    } catch (e) {
      if (e instanceof ImageBuildError) throw new PreflightError(`could not build the node images: ${e.message}`);
      throw e;
    }
    const fabric = namespaceName(rec.id);
    await createNamespaces(rec, [fabric]);
    const root = lower === null ? undefined : await startRoot(rec, lower, opts.binds);
    const hosts = new Map<string, Host>();
    say(`starting ${lab.nodes.length} containers`);
    await Promise.all(
      lab.nodes.map(async (n) => {
        const ns = namespaceName(rec.id, n.name);
        const dir = nodeDir(rec.dir, n.name);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        // Recorded before it exists: teardown and gc find containers by this label, namespaces by this name.
        rec.update((s) => {
          s.nodes[n.name] = { ...s.nodes[n.name], namespace: ns };
          s.namespaces.push(ns);
        });
        const c = await (
          await startModule()
        ).startNodeContainer({
          image: imageOf(n),
          name: `lw-${rec.id}-${n.name}`,
          hostname: n.name,
          labels: { [RUN_LABEL]: rec.id, "labwright.node": n.name, "labwright.lab": lab.name },
          binds: [
            { source: dir, target: dir, mode: "rw" },
            { source: process.execPath, target: process.execPath, mode: "ro" },
            { source: PROBES_DIR, target: PROBES_DIR, mode: "ro" },
            // This machine's binaries the node's software uses (an Incus member's client: its incusd runs beside the container); the toolchain's image has them.
            ...(lower === null ? needs(n).binaries.map((b) => ({ source: b, target: b, mode: "ro" as const })) : []),
          ],
        });
        rec.update((s) => (s.nodes[n.name] = { ...s.nodes[n.name]!, container: c }));
        await must(["ip", "netns", "attach", ns, String(c.pid)], { timeoutS: 10, context: `attaching the network namespace of ${n.name}` });
        hosts.set(n.name, new ContainerHost(n.name, ns, c.pid, dir, rec.snapshot.nodes[n.name]?.env, root));
      }),
    );
    return { fabric: new NetnsHost("fabric", fabric, rec.dir, {}, root), hosts };
  }

  /** As the namespace backend's: the machine view runs the lab's toolchain (the containers run their node images). */
  software(lab: Lab, say: (m: string) => void): Promise<SoftwareSource> {
    return new NetnsBackend().software(lab, say);
  }

  guest(rec: RunRecord, name: string, of: string, env?: Record<string, string>): Promise<Host> {
    return guestNamespace(rec, name, of, env, rootOf(rec.snapshot));
  }

  attach(state: Readonly<RunState>, node: string): Host {
    const entry = state.nodes[node];
    if (!entry) throw new Error(`run ${state.id} has no node "${node}" (nodes: ${Object.keys(state.nodes).join(", ")})`);
    if (!entry.container) return new NetnsHost(node, entry.namespace, nodeDir(runDir(state.id), node), entry.env, rootOf(state));
    return new ContainerHost(node, entry.namespace, entry.container.pid, nodeDir(runDir(state.id), node), entry.env, rootOf(state));
  }
}

/**
 * Removes the containers of run `id`: those its state recorded when `recorded` is given (a run that
 * finished starting), else those carrying its label. Never any other container. Returns how many.
 */
export async function removeRunContainers(id: string, recorded?: readonly string[]): Promise<number> {
  let ids: string[];
  if (recorded) ids = [...recorded];
  else {
    const ls = await execa("docker", ["ps", "-aq", "--filter", `label=${RUN_LABEL}=${id}`], { reject: false, timeout: 30_000 });
    if (ls.exitCode !== 0) return 0; // no engine: nothing of ours can exist
    ids = ls.stdout.split("\n").filter(Boolean);
  }
  if (!ids.length) return 0;
  const rm = await execa("docker", ["rm", "--force", "--volumes", ...ids], { reject: false, timeout: 60_000 });
  if (rm.exitCode !== 0) throw new Error(`docker rm of run ${id}'s containers failed: ${rm.stderr.trim()}`);
  return ids.length;
}

/** testcontainers (with dockerode and its gRPC stack) loaded on first use: a CLI start that uses no container pays nothing for it. */
function startModule(): Promise<typeof import("./start.ts")> {
  return import("./start.ts");
}
