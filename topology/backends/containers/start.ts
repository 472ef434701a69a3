import { GenericContainer, getContainerRuntimeClient } from "testcontainers";

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
 * testcontainers 12.0.1 has no API for these HostConfig fields: empty masked and read-only /proc
 * paths (what `docker run --security-opt systempaths=unconfined` sends), so that a node can write
 * its own per-namespace sysctls under /proc/sys/net as an operator would.
 */
class NodeContainerSpec extends GenericContainer {
  withWritableProcSys(): this {
    this.hostConfig.MaskedPaths = [];
    this.hostConfig.ReadonlyPaths = [];
    return this;
  }

  /** /dev/net/tun: OVS's userspace datapath makes its internal ports (br-int, br-phy) as tap devices. */
  withTun(): this {
    this.hostConfig.Devices = [
      ...(this.hostConfig.Devices ?? []),
      { PathOnHost: "/dev/net/tun", PathInContainer: "/dev/net/tun", CgroupPermissions: "rwm" },
    ];
    return this;
  }
}

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
  const started = await new NodeContainerSpec(o.image)
    .withName(o.name)
    .withHostname(o.hostname)
    .withLabels(o.labels)
    .withNetworkMode("none")
    .withWritableProcSys()
    .withTun()
    .withAddedCapabilities("NET_ADMIN", "NET_RAW")
    .withBindMounts(o.binds)
    // pid 1 ignores signals it has no handler for: this one ends on SIGTERM, so teardown needs no SIGKILL grace.
    .withCommand(["bash", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"])
    .withAutoRemove(false)
    .withStartupTimeout(60_000)
    .start();
  const id = started.getId();
  const client = await getContainerRuntimeClient();
  const pid = (await client.container.inspect(client.container.getById(id))).State.Pid;
  if (!pid) throw new Error(`container ${o.name} started but has no process`);
  return { id, pid };
}
