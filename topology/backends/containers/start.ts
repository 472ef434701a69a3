import { execa } from "execa";
import { GenericContainer } from "testcontainers";

export interface NodeContainer {
  id: string;
  /** The container's init process on this machine. */
  pid: number;
}

// No registry here and no reaper image to pull; labwright cleans up by its own labels (gc). A
// /.dockerenv would make testcontainers probe for a host gateway image: point it at this machine.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";

/**
 * Starts one node container with testcontainers: a locally built image (never pulled), no Docker
 * network (`none`: the lab's veths are moved in), writable /proc/sys (nodes set their own
 * per-namespace sysctls), the run's labels, and the node's state directory bind-mounted at the
 * same path. A container whose start fails is removed by the caller's teardown (by label).
 */
export async function startNodeContainer(o: {
  image: string;
  name: string;
  hostname: string;
  labels: Record<string, string>;
  binds: { source: string; target: string; mode: "rw" | "ro" }[];
}): Promise<NodeContainer> {
  const started = await new GenericContainer(o.image)
    .withName(o.name)
    .withHostname(o.hostname)
    .withLabels(o.labels)
    .withNetworkMode("none")
    .withSecurityOpt("systempaths=unconfined")
    .withAddedCapabilities("NET_ADMIN", "NET_RAW")
    .withBindMounts(o.binds)
    .withCommand(["sleep", "infinity"])
    .withAutoRemove(false)
    .withStartupTimeout(60_000)
    .start();
  const id = started.getId();
  const r = await execa("docker", ["inspect", "--format", "{{.State.Pid}}", id], { reject: false });
  const pid = Number(r.stdout.trim());
  if (r.exitCode !== 0 || !pid) throw new Error(`container ${o.name} started but its pid is unknown: ${r.stderr.trim()}`);
  return { id, pid };
}
